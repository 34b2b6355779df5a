"""In-memory stand-ins for reporting's repositories: what the read models answer, set by a test, and what
the handlers asked of them, recorded."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from d07.platform.db.upserts import Row, Rows
from reporting.awards.domain import AwardCount
from reporting.awards.service import AwardsUnitOfWork
from reporting.exports.service import ExportUnitOfWork
from reporting.review.domain import BREAKDOWNS, FIGURES, Counts, Period, ProjectionStatus, Record
from reporting.review.service import ReviewUnitOfWork
from tests.support.uow import FakeRepository, FakeUnitOfWork


def counts(**figures: int) -> Counts:
    """Every figure 0 but those given (dotted names with `__` for `.`), no uptime."""
    values = dict.fromkeys(FIGURES, 0) | {k.replace("__", "."): v for k, v in figures.items()}
    return Counts(values, exposure_seconds=0.0, exposed_online_seconds=0.0)


class FakeReviewRepository(FakeRepository):
    def __init__(self) -> None:
        self.by_period: dict[tuple[Period, str], Counts] = {}
        self.splits: dict[tuple[Period, str], list[dict[str, int]]] = {}
        self.goal: int | None = None
        self.records_of: dict[str, list[Record]] = {}
        self.status = ProjectionStatus(streams=[], units=0, cameras=0, violations=0)
        # What the handlers asked, in order: ("snapshot",), ("counts", period, district), ...
        self.calls: list[tuple[Any, ...]] = []

    async def snapshot(self) -> None:
        self.calls.append(("snapshot",))

    async def counts(self, *, period: Period, district: str) -> Counts:
        self.calls.append(("counts", period, district))
        return self.by_period.get((period, district), counts())

    async def breakdowns(self, *, period: Period, district: str) -> list[dict[str, int]]:
        self.calls.append(("breakdowns", period, district))
        return self.splits.get((period, district), [{} for _ in BREAKDOWNS])

    async def target(self, *, period: Period, district: str) -> int | None:
        self.calls.append(("target", period, district))
        return self.goal

    async def records(
        self,
        *,
        figure: str,
        period: Period,
        district: str,
        after: str | None,
        limit: int,
        entry: tuple[str, str] | None = None,
    ) -> list[Record]:
        self.calls.append(("records", figure, period, district, after, limit, entry))
        found = sorted(self.records_of.get(figure, []), key=lambda r: r.id)
        return [r for r in found if after is None or r.id > after][:limit]

    async def projection_status(self) -> ProjectionStatus:
        self.calls.append(("projection_status",))
        return self.status


class FakeReviewUnitOfWork(FakeUnitOfWork, ReviewUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.reports = FakeReviewRepository()


class FakeAwardRepository(FakeRepository):
    def __init__(self) -> None:
        self.standing: list[AwardCount] = []
        self.asked: list[dict[str, Any]] = []

    async def counts(self, **filters: Any) -> list[AwardCount]:
        self.asked.append(filters)
        return list(self.standing)


class FakeAwardsUnitOfWork(FakeUnitOfWork, AwardsUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.awards = FakeAwardRepository()


@dataclass
class Written:
    """One `write` of a batch: each table's folded rows (tables with none left out), the counts per topic."""

    rows: dict[str, list[Row]]
    applied: dict[str, tuple[int, datetime]]


@dataclass
class FakeProjections:
    """What the batch handler writes (`reporting.projections.service.Projections`), recorded in order."""

    written: list[Written] = field(default_factory=list)
    steps: list[tuple[str, str, datetime, uuid.UUID]] = field(default_factory=list)

    async def write(self, rows: Mapping[str, Rows], applied: Mapping[str, tuple[int, datetime]]) -> None:
        kept = {table: list(r.by_key.values()) for table, r in rows.items() if r.by_key}
        self.written.append(Written(kept, dict(applied)))

    async def open_online(self, camera_id: str, at: datetime, event_id: uuid.UUID) -> None:
        self.steps.append(("open", camera_id, at, event_id))

    async def close_online(self, camera_id: str, at: datetime, event_id: uuid.UUID) -> None:
        self.steps.append(("close", camera_id, at, event_id))


class FakeExportRepository(FakeReviewRepository):
    """The review's answers, and each figure's records streamed in batches."""

    async def stream(
        self, *, figure: str, period: Period, district: str, batch: int = 1000
    ) -> AsyncIterator[list[Record]]:
        self.calls.append(("stream", figure, period, district))
        found = sorted(self.records_of.get(figure, []), key=lambda r: r.id)
        for start in range(0, len(found), batch):
            yield found[start : start + batch]


class FakeExportUnitOfWork(FakeUnitOfWork, ExportUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.reports = FakeExportRepository()
