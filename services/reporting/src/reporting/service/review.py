"""The review report and its drill-down: the period rules of the domain over the SQL of the repository."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import asyncpg

from d07.platform.auth import ADMIN, AUDITOR, CHAIRMAN_OFFICE, POLICE, SERVICE, Principal, require_roles
from d07.platform.pagination import decode_cursor, encode_cursor, page_size
from reporting.adapters import review_repository as repo
from reporting.domain.review import (
    BREAKDOWNS,
    FIGURES,
    QUANTITIES,
    TARGETED,
    Entry,
    Period,
    breakdown_entries,
    breakdown_filter,
    figure_name,
    per_hour,
    period,
    uptime,
)

READERS = (ADMIN, POLICE, CHAIRMAN_OFFICE, AUDITOR, SERVICE)


@dataclass(frozen=True)
class FigureValue:
    name: str
    value: int
    previous: int
    target: int | None
    # The unit of a quantity ("hours"); None for a count of records.
    unit: str | None = None


@dataclass(frozen=True)
class RateValue:
    name: str
    value: float | None
    previous: float | None


@dataclass(frozen=True)
class Breakdown:
    figure: str
    dimension: str
    entries: list[Entry]


@dataclass(frozen=True)
class ReviewReport:
    period: Period
    previous: Period
    district_code: str
    figures: list[FigureValue]
    rates: list[RateValue]
    breakdowns: list[Breakdown]


@dataclass(frozen=True)
class FigureRecords:
    records: list[repo.Record]
    next_page_token: str


def _rates(counts: repo.Counts) -> dict[str, float | None]:
    f = counts.figures
    return {
        "cameras.uptime": uptime(counts.exposed_online_seconds, counts.exposure_seconds),
        "violations.per_camera_online_hour": per_hour(f["violations.opened"], f["cameras.online_hours"]),
    }


async def review_report(
    pool: asyncpg.Pool, *, start: date | None, end: date | None, district_code: str, principal: Principal
) -> ReviewReport:
    """Every figure, rate and breakdown of the period beside the previous period of equal length; no data
    gives zeros (and absent rates). Read in one snapshot, so the breakdowns add up to their figures."""
    require_roles(principal, *READERS)
    current = period(start, end)
    before = current.previous()
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        now = await repo.counts(conn, period=current, district=district_code)
        then = await repo.counts(conn, period=before, district=district_code)
        goal = await repo.target(conn, period=current, district=district_code)
        split_now = await repo.breakdowns(conn, period=current, district=district_code)
        split_then = await repo.breakdowns(conn, period=before, district=district_code)
    figures = [
        FigureValue(
            name,
            now.figures[name],
            then.figures[name],
            goal if name in TARGETED else None,
            QUANTITIES.get(name),
        )
        for name in FIGURES
    ]
    rates_now, rates_then = _rates(now), _rates(then)
    rates = [RateValue(name, value, rates_then[name]) for name, value in rates_now.items()]
    breakdowns = [
        Breakdown(figure, dimension, breakdown_entries(dimension, split_now[n], split_then[n]))
        for n, (figure, dimension) in enumerate(BREAKDOWNS)
    ]
    return ReviewReport(current, before, district_code, figures, rates, breakdowns)


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
    dimension: str = "",
    key: str = "",
) -> FigureRecords:
    """The records behind one figure (or one entry of its breakdown), a page at a time by id: for a count
    exactly as many as the figure counts, for a quantity the records that contribute with their shares."""
    require_roles(principal, *READERS)
    name = figure_name(figure)
    entry = breakdown_filter(name, dimension, key)
    current = period(start, end)
    limit = page_size(size)
    filters: dict[str, object] = {
        "figure": name, "from": current.start, "to": current.end, "district": district_code,
    }  # fmt: skip
    if entry is not None:
        filters.update(dimension=entry[0], key=entry[1])
    position = decode_cursor(token, filters=filters)
    after = str(position[0]) if position else None
    async with pool.acquire() as conn:
        rows = await repo.records(
            conn, figure=name, period=current, district=district_code, after=after, limit=limit + 1,
            entry=entry,
        )  # fmt: skip
    more = len(rows) > limit
    rows = rows[:limit]
    next_token = encode_cursor([rows[-1].id], filters=filters) if more else ""
    return FigureRecords(rows, next_token)
