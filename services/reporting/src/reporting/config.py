"""Settings of the reporting service (environment variables with prefix D07_) and the dependencies its doors
are built from.

`ReportingDeps` lives here, beside the settings it types, rather than in bootstrap.py: every door takes it,
and bootstrap imports every door (a door importing bootstrap, even for typing, would be an import cycle).
"""

from __future__ import annotations

from dataclasses import dataclass

from d07.platform.runtime import Deps
from d07.platform.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    service: str = "reporting"
    http_port: int = 8005
    grpc_port: int = 50055


@dataclass
class ReportingDeps(Deps):
    """Reporting's dependencies: its settings typed (it calls no peer and keeps no cache)."""

    settings: ReportingSettings
