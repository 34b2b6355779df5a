"""Settings of the awards service (environment variables with prefix D07_)."""

from __future__ import annotations

from d07.platform.settings import ServiceSettings


class AwardsSettings(ServiceSettings):
    service: str = "awards"
    http_port: int = 8004
    grpc_port: int = 50054
