"""HTTP door of reporting."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Query

from d07.platform.http import Caller
from reporting.domain.review import nest, parse_day
from reporting.service.awards import award_counts
from reporting.service.review import FigureValue, figure_records, review_report
from reporting.service.status import projection_status


def _figure(f: FigureValue) -> dict[str, int | None]:
    out: dict[str, int | None] = {"value": f.value, "previous": f.previous}
    if f.target is not None:
        out["target"] = f.target
    return out


def router(pool: asyncpg.Pool) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["projections"])

    @api.get("/projections/status")
    async def get_projection_status(caller: Caller) -> dict[str, Any]:
        return asdict(await projection_status(pool, principal=caller))

    @api.get("/awards/counts")
    async def get_award_counts(
        caller: Caller,
        round_id: uuid.UUID | None = None,
        decided_from: date | None = None,
        decided_to: date | None = None,
    ) -> list[dict[str, Any]]:
        return await award_counts(
            pool, round_id=round_id, decided_from=decided_from, decided_to=decided_to, principal=caller
        )

    @api.get("/reports/review", tags=["reports"])
    async def get_review_report(
        caller: Caller,
        from_: Annotated[str | None, Query(alias="from", description="first day, YYYY-MM-DD")] = None,
        to: Annotated[str | None, Query(description="last day, YYYY-MM-DD")] = None,
        district: str = "",
    ) -> dict[str, Any]:
        """The review report: each figure as {value, previous, target?} under its dotted name, nested."""
        report = await review_report(
            pool, start=parse_day("from", from_), end=parse_day("to", to), district_code=district,
            principal=caller,
        )  # fmt: skip
        return {
            "from": report.period.start.isoformat(),
            "to": report.period.end.isoformat(),
            "previous_from": report.previous.start.isoformat(),
            "previous_to": report.previous.end.isoformat(),
            "district": report.district_code or None,
            **nest({f.name: _figure(f) for f in report.figures}),
        }

    @api.get("/reports/review/records", tags=["reports"])
    async def list_figure_records(
        caller: Caller,
        figure: str,
        from_: Annotated[str | None, Query(alias="from", description="first day, YYYY-MM-DD")] = None,
        to: Annotated[str | None, Query(description="last day, YYYY-MM-DD")] = None,
        district: str = "",
        page_size: int | None = None,
        page_token: str = "",
    ) -> dict[str, Any]:
        """The records behind one figure (ids with a label), a page at a time."""
        found = await figure_records(
            pool, figure=figure, start=parse_day("from", from_), end=parse_day("to", to),
            district_code=district, size=page_size, token=page_token, principal=caller,
        )  # fmt: skip
        return {
            "figure": figure,
            "records": [{"id": i, "label": label} for i, label in found.records],
            "next_page_token": found.next_page_token,
        }

    return api
