"""Settings of the assessment service (environment variables with prefix D07_)."""

from __future__ import annotations

from d07.platform.settings import ServiceSettings


class AssessmentSettings(ServiceSettings):
    service: str = "assessment"
    http_port: int = 8002
    grpc_port: int = 50052
