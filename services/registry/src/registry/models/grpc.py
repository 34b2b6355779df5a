"""gRPC door of this aggregate (its servicer arrives with the aggregate's work; nothing is served yet)."""

from __future__ import annotations

import asyncpg
import grpc

SERVICE_NAME = ""


def register(server: grpc.aio.Server, pool: asyncpg.Pool) -> None:
    """Adds nothing until the aggregate's servicer exists."""
