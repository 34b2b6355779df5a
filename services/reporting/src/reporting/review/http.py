"""HTTP door of the review report, its drill-down and the projection status."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query

from d07.platform.http import Caller
from reporting.config import ReportingDeps
from reporting.review import service
from reporting.review.domain import FigureValue, Record, ReviewReport, breakdown_name, nest, parse_day
from reporting.review.service import RecordsQuery, ReviewQuery, ReviewUnitOfWork, StatusQuery


def _figure(f: FigureValue) -> dict[str, int | str | None]:
    out: dict[str, int | str | None] = {"value": f.value, "previous": f.previous}
    if f.target is not None:
        out["target"] = f.target
    if f.unit is not None:
        out["unit"] = f.unit  # a quantity (its drill-down lists the contributing records), not a count
    return out


def _report_body(report: ReviewReport) -> dict[str, object]:
    """Figures, rates and breakdowns under their dotted names, nested: {value, previous, target?, unit?} for a
    figure, {value, previous} (floats or null) for a rate, {key: {label, value, previous}} for a breakdown."""
    flat: dict[str, object] = {f.name: _figure(f) for f in report.figures}
    flat.update({r.name: {"value": r.value, "previous": r.previous} for r in report.rates})
    flat.update(
        {
            breakdown_name(b.figure, b.dimension): {
                e.key: {"label": e.label, "value": e.value, "previous": e.previous} for e in b.entries
            }
            for b in report.breakdowns
        }
    )
    return nest(flat)


def _record(r: Record) -> dict[str, object]:
    out: dict[str, object] = {"id": r.id, "label": r.label}
    if r.quantity is not None:
        out["quantity"] = r.quantity
    return out


def router(deps: ReportingDeps) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["projections"])

    @api.get("/projections/status")
    async def get_projection_status(caller: Caller) -> dict[str, Any]:
        return asdict(await service.projection_status(deps.uow(ReviewUnitOfWork), StatusQuery(), caller))

    @api.get("/reports/review", tags=["reports"])
    async def get_review_report(
        caller: Caller,
        from_: Annotated[str | None, Query(alias="from", description="first day, YYYY-MM-DD")] = None,
        to: Annotated[str | None, Query(description="last day, YYYY-MM-DD")] = None,
        district: str = "",
    ) -> dict[str, Any]:
        """The review report: each figure as {value, previous, target?} under its dotted name, nested."""
        query = ReviewQuery(start=parse_day("from", from_), end=parse_day("to", to), district_code=district)
        report = await service.review_report(deps.uow(ReviewUnitOfWork), query, caller)
        return {
            "from": report.period.start.isoformat(),
            "to": report.period.end.isoformat(),
            "previous_from": report.previous.start.isoformat(),
            "previous_to": report.previous.end.isoformat(),
            "district": report.district_code or None,
            **_report_body(report),
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
        dimension: Annotated[str, Query(description="with key: one breakdown entry, e.g. kind")] = "",
        key: Annotated[str, Query(description="with dimension: the entry's key, e.g. intrusion")] = "",
    ) -> dict[str, Any]:
        """The records behind one figure (ids with a label; a quantity's records also with their share), or
        behind one entry of its breakdown (`dimension` and `key`), a page at a time."""
        query = RecordsQuery(
            figure=figure, start=parse_day("from", from_), end=parse_day("to", to), district_code=district,
            size=page_size, token=page_token, dimension=dimension, key=key,
        )  # fmt: skip
        found = await service.figure_records(deps.uow(ReviewUnitOfWork), query, caller)
        return {
            "figure": figure,
            "records": [_record(r) for r in found.records],
            "next_page_token": found.next_page_token,
        }

    return api
