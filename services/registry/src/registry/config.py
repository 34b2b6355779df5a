"""Settings of the registry service (environment variables with prefix D07_) and the dependencies its doors
are built from.

`RegistryDeps` lives here, beside the settings it types, rather than in bootstrap.py: every door takes it, and
bootstrap imports every door (a door importing bootstrap, even for typing, would be an import cycle).
"""

from __future__ import annotations

from dataclasses import dataclass

from d07.platform.runtime import Deps
from d07.platform.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    service: str = "registry"
    http_port: int = 8001
    grpc_port: int = 50051


@dataclass
class RegistryDeps(Deps):
    """The registry's dependencies: its settings typed (it calls no peer and keeps no cache)."""

    settings: RegistrySettings
