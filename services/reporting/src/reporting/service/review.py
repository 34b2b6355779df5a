"""The review report and its drill-down: the period rules of the domain over the SQL of the repository."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import asyncpg

from d07.platform.auth import ADMIN, AUDITOR, CHAIRMAN_OFFICE, POLICE, SERVICE, Principal, require_roles
from d07.platform.pagination import decode_cursor, encode_cursor, page_size
from reporting.adapters import review_repository as repo
from reporting.domain.review import FIGURES, TARGETED, Period, figure_name, period

READERS = (ADMIN, POLICE, CHAIRMAN_OFFICE, AUDITOR, SERVICE)


@dataclass(frozen=True)
class FigureValue:
    name: str
    value: int
    previous: int
    target: int | None


@dataclass(frozen=True)
class ReviewReport:
    period: Period
    previous: Period
    district_code: str
    figures: list[FigureValue]


@dataclass(frozen=True)
class FigureRecords:
    records: list[tuple[str, str]]
    next_page_token: str


async def review_report(
    pool: asyncpg.Pool, *, start: date | None, end: date | None, district_code: str, principal: Principal
) -> ReviewReport:
    """Every figure of the period beside the previous period of equal length; no data gives zeros."""
    require_roles(principal, *READERS)
    current = period(start, end)
    before = current.previous()
    async with pool.acquire() as conn:
        now = await repo.counts(conn, period=current, district=district_code)
        then = await repo.counts(conn, period=before, district=district_code)
        goal = await repo.target(conn, period=current, district=district_code)
    figures = [
        FigureValue(name, now[name], then[name], goal if name in TARGETED else None) for name in FIGURES
    ]
    return ReviewReport(current, before, district_code, figures)


async def figure_records(
    pool: asyncpg.Pool,
    *,
    figure: str,
    start: date | None,
    end: date | None,
    district_code: str,
    size: int | None,
    token: str,
    principal: Principal,
) -> FigureRecords:
    """The records behind one figure, a page at a time by id: exactly as many as the figure counts."""
    require_roles(principal, *READERS)
    name = figure_name(figure)
    current = period(start, end)
    limit = page_size(size)
    filters = {"figure": name, "from": current.start, "to": current.end, "district": district_code}
    position = decode_cursor(token, filters=filters)
    after = str(position[0]) if position else None
    async with pool.acquire() as conn:
        rows = await repo.records(
            conn, figure=name, period=current, district=district_code, after=after, limit=limit + 1
        )
    more = len(rows) > limit
    rows = rows[:limit]
    next_token = encode_cursor([rows[-1][0]], filters=filters) if more else ""
    return FigureRecords(rows, next_token)
