"""SQL of the award counts, over the awards projection (revoked awards do not count)."""

from __future__ import annotations

import uuid
from datetime import date

from d07.platform.db import Conn
from d07.platform.db.query import Where, from_rows
from reporting.awards.domain import AwardCount


class AwardRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def counts(
        self, *, round_id: uuid.UUID | None, decided_from: date | None, decided_to: date | None
    ) -> list[AwardCount]:
        """One row per form and recipient kind that has standing awards, ordered by both."""
        where = Where()
        where.add("status = 'decided'")
        where.add_if(round_id, "round_id = {}")
        where.add_if(decided_from, "decided_on >= {}")
        where.add_if(decided_to, "decided_on <= {}")
        rows = await self.conn.fetch(
            f"""SELECT form_code, recipient_kind, count(*) AS awards FROM awards WHERE {where.sql()}
                GROUP BY form_code, recipient_kind ORDER BY form_code, recipient_kind""",
            *where.args,
        )
        return from_rows(AwardCount, rows)
