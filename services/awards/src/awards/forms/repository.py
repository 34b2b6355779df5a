"""SQL of award forms (table `award_forms`, filled by the migrations: the forms are rules, not user data)."""

from __future__ import annotations

from awards.forms.domain import AwardForm
from d07.platform.db import Conn
from d07.platform.db.query import from_row, from_rows

_COLUMNS = "code, name, issuer, deciding_role"


class FormRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def all(self) -> list[AwardForm]:
        return from_rows(
            AwardForm, await self.conn.fetch(f"SELECT {_COLUMNS} FROM award_forms ORDER BY code")
        )

    async def get(self, code: str) -> AwardForm | None:
        row = await self.conn.fetchrow(f"SELECT {_COLUMNS} FROM award_forms WHERE code = $1", code)
        return from_row(AwardForm, row) if row is not None else None
