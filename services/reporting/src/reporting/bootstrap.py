"""Composition root of reporting: what the process is built from (no I/O at import time).

Aggregates: `projections` (the consumer that keeps the read models), `review` (the review report, its
drill-down and the projection status), `exports` (the review report as DOCX, XLSX and PDF; reporting/grpc.py
composes d07.reporting.v1.ReportingService of review's and exports' parts) and `awards` (the award counts).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from d07.platform.runtime import Deps, ServiceSpec
from reporting import grpc as root_grpc
from reporting.awards import http as awards_http
from reporting.config import ReportingDeps, ReportingSettings
from reporting.exports import http as exports_http
from reporting.projections import events as projections_events
from reporting.projections.repository import READ_MODELS
from reporting.review import http as review_http

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@asynccontextmanager
async def build_deps(base: Deps) -> AsyncIterator[ReportingDeps]:
    """Reporting's dependencies: nothing to open or close beyond the process's own."""
    yield base.extend(ReportingDeps)


SPEC = ServiceSpec(
    name="reporting",
    title="d07 reporting: read models and review reports",
    settings=ReportingSettings,
    migrations_dir=MIGRATIONS,
    grpc_services=[root_grpc.SERVICE_NAME],
    register_grpc=root_grpc.register,
    routers=lambda deps: [review_http.router(deps), exports_http.router(deps), awards_http.router(deps)],
    deps=build_deps,
    read_models=READ_MODELS,
    consumers=lambda deps: [projections_events.CONSUMER],
    audit_api=True,
)
