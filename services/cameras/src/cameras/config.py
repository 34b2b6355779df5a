"""Settings of the cameras service (environment variables with prefix D07_)."""

from __future__ import annotations

from d07.platform.settings import ServiceSettings


class CamerasSettings(ServiceSettings):
    service: str = "cameras"
    http_port: int = 8003
    grpc_port: int = 50053
    # The registry's gRPC address, asked whether a unit exists when a camera is bound to it.
    registry_grpc: str = "127.0.0.1:50051"
    registry_timeout_seconds: float = 2.0
