"""Settings of the registry service (environment variables with prefix D07_)."""

from __future__ import annotations

from d07.platform.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    service: str = "registry"
    http_port: int = 8001
    grpc_port: int = 50051
