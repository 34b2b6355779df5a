"""The review report, its drill-down and the projection status: the period rules of the domain over the SQL
of the repository. Read-only: no audit rows, no events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from d07.platform.auth import ADMIN, AUDITOR, CHAIRMAN_OFFICE, POLICE, SERVICE, Principal, require_roles
from d07.platform.db import Conn
from d07.platform.pagination import decode_cursor, encode_cursor, page_size
from d07.platform.uow import UnitOfWork
from reporting.review.domain import (
    FigureRecords,
    Period,
    ProjectionStatus,
    ReviewReport,
    breakdown_filter,
    figure_name,
    period,
    report,
)
from reporting.review.repository import ReviewRepository

READERS = (ADMIN, POLICE, CHAIRMAN_OFFICE, AUDITOR, SERVICE)


class ReviewUnitOfWork(UnitOfWork):
    reports: ReviewRepository

    def bind(self, conn: Conn) -> None:
        self.reports = ReviewRepository(conn)


@dataclass(frozen=True)
class ReviewQuery:
    start: date | None
    end: date | None
    district_code: str = ""


@dataclass(frozen=True)
class RecordsQuery:
    figure: str
    start: date | None
    end: date | None
    district_code: str = ""
    size: int | None = None
    token: str = ""
    dimension: str = ""
    key: str = ""


@dataclass(frozen=True)
class StatusQuery:
    """How far the projections have applied each stream (no parameters)."""


async def review_report(uow: ReviewUnitOfWork, query: ReviewQuery, principal: Principal) -> ReviewReport:
    """Every figure, rate and breakdown of the period beside the previous period of equal length; no data
    gives zeros (and absent rates). Read in one snapshot, so the breakdowns add up to their figures."""
    require_roles(principal, *READERS)
    current = period(query.start, query.end)
    async with uow:
        await uow.reports.snapshot()
        return await read_report(uow.reports, current, query.district_code)


async def read_report(reports: ReviewRepository, current: Period, district: str) -> ReviewReport:
    """The report of a period, read through `reports` in its transaction (the caller's snapshot)."""
    before = current.previous()
    now = await reports.counts(period=current, district=district)
    then = await reports.counts(period=before, district=district)
    goal = await reports.target(period=current, district=district)
    split_now = await reports.breakdowns(period=current, district=district)
    split_then = await reports.breakdowns(period=before, district=district)
    return report(
        current, district, now=now, then=then, target=goal, split_now=split_now, split_then=split_then
    )


async def figure_records(uow: ReviewUnitOfWork, query: RecordsQuery, principal: Principal) -> FigureRecords:
    """The records behind one figure (or one entry of its breakdown), a page at a time by id: for a count
    exactly as many as the figure counts, for a quantity the records that contribute with their shares."""
    require_roles(principal, *READERS)
    name = figure_name(query.figure)
    entry = breakdown_filter(name, query.dimension, query.key)
    current = period(query.start, query.end)
    limit = page_size(query.size)
    filters: dict[str, object] = {
        "figure": name, "from": current.start, "to": current.end, "district": query.district_code,
    }  # fmt: skip
    if entry is not None:
        filters.update(dimension=entry[0], key=entry[1])
    position = decode_cursor(query.token, filters=filters)
    after = str(position[0]) if position else None
    async with uow:
        rows = await uow.reports.records(
            figure=name, period=current, district=query.district_code, after=after, limit=limit + 1,
            entry=entry,
        )  # fmt: skip
    more = len(rows) > limit
    rows = rows[:limit]
    next_token = encode_cursor([rows[-1].id], filters=filters) if more else ""
    return FigureRecords(rows, next_token)


async def projection_status(
    uow: ReviewUnitOfWork, query: StatusQuery, principal: Principal
) -> ProjectionStatus:
    """Per stream: the events applied, the last event's time, the last offset applied in each partition."""
    require_roles(principal, *READERS)
    async with uow:
        return await uow.reports.projection_status()
