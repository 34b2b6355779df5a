"""Settings of the assessment service (environment variables with prefix D07_) and the dependencies its
doors, consumers and workers are built from.

`AssessmentDeps` lives here rather than in `bootstrap` because the aggregates' doors take it and `bootstrap`
imports the doors: declared in bootstrap, it would make an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

from d07.platform.runtime import Deps
from d07.platform.settings import ServiceSettings


class AssessmentSettings(ServiceSettings):
    service: str = "assessment"
    http_port: int = 8002
    grpc_port: int = 50052


@dataclass
class AssessmentDeps(Deps):
    """The process's dependencies with assessment's own settings (assessment calls no peer)."""

    settings: AssessmentSettings
