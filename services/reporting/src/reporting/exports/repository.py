"""SQL of the exports: the review report's own queries (`ReviewRepository`: one figure, one query of its
records) and the records behind a figure streamed by a server-side cursor, a batch at a time, so a large
province's drill-down never sits in memory. Same statement as the drill-down's pages, so a sheet and its
figure cannot disagree (and, read in the report's snapshot, they do not)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from reporting.review.domain import Period, Record
from reporting.review.repository import PARAMS, RECORDS, _args, _record
from reporting.review.repository import ReviewRepository as _ReviewRepository

BATCH = 1000


class ExportRepository(_ReviewRepository):
    """The review's queries, and each figure's records as a stream."""

    async def stream(
        self, *, figure: str, period: Period, district: str, batch: int = BATCH
    ) -> AsyncIterator[list[Record]]:
        """The records behind `figure`, by id, in batches of `batch` from a server-side cursor (inside the
        unit of work's transaction)."""
        query = f"""WITH {PARAMS} SELECT id, label, NULL::float8 AS share FROM ({RECORDS[figure]}) s
                    ORDER BY id COLLATE "C" """
        args: tuple[Any, ...] = _args(period, district)
        cursor = await self.conn.cursor(query, *args)
        while rows := await cursor.fetch(batch):
            yield [_record(r) for r in rows]
