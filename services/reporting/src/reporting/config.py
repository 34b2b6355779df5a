"""Settings of the reporting service (environment variables with prefix D07_)."""

from __future__ import annotations

from d07.platform.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    service: str = "reporting"
    http_port: int = 8005
    grpc_port: int = 50055
