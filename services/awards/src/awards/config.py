"""Settings of the awards service (environment variables with prefix D07_) and its typed dependencies.

`AwardsDeps` lives here rather than in bootstrap.py: the doors take it as their one argument, and bootstrap
imports the doors, so a type in bootstrap would make every door and bootstrap import each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from d07.platform.runtime import Deps
from d07.platform.settings import ServiceSettings


class AwardsSettings(ServiceSettings):
    service: str = "awards"
    http_port: int = 8004
    grpc_port: int = 50054
    # Certificates: the font directory differs between images (Debian's fonts-liberation2 by default) and the
    # place printed on the date line is the province's seat.
    certificate_font_dir: Path = Path("/usr/share/fonts/truetype/liberation2")
    certificate_place: str = "Sơn Lâm"
    # Public verification requests per client address and minute.
    certificate_verify_per_minute: int = 30


@dataclass
class AwardsDeps(Deps):
    """What the awards doors and consumers are built from: the process's dependencies with its settings."""

    settings: AwardsSettings
