"""gRPC door of this aggregate (its servicer arrives with the aggregate's work; nothing is served yet)."""

from __future__ import annotations

import grpc

from d07.platform.runtime import Deps

SERVICE_NAME = ""


def register(server: grpc.aio.Server, deps: Deps) -> None:
    """Adds nothing until the aggregate's servicer exists."""
