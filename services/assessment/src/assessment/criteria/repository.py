"""SQL of the criteria sets (migrations 0001 and 0002: `criteria_sets`, `criteria`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assessment.criteria.domain import CriteriaSet, Criterion, PassRule
from d07.platform.db import Conn
from d07.platform.db.query import from_row


class CriteriaRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def list_sets(self) -> list[CriteriaSet]:
        sets = await self.conn.fetch("SELECT * FROM criteria_sets ORDER BY valid_from_year, code, version")
        rows = await self.conn.fetch("SELECT * FROM criteria ORDER BY set_code, set_version, position")
        return _assemble(sets, rows)

    async def get_set(self, *, code: str, version: int) -> CriteriaSet | None:
        """One set with its criteria (sets are few and small)."""
        sets = await self.conn.fetch(
            "SELECT * FROM criteria_sets WHERE code = $1 AND version = $2", code, version
        )
        rows = await self.conn.fetch(
            "SELECT * FROM criteria WHERE set_code = $1 AND set_version = $2 ORDER BY position", code, version
        )
        found = _assemble(sets, rows)
        return found[0] if found else None


def _assemble(sets: Sequence[Any], rows: Sequence[Any]) -> list[CriteriaSet]:
    by_set: dict[tuple[str, int], list[Criterion]] = {}
    for r in rows:
        by_set.setdefault((r["set_code"], r["set_version"]), []).append(from_row(Criterion, r))
    return [
        from_row(
            CriteriaSet, s,
            pass_rule=PassRule(s["pass_rule"]),
            unit_kinds=tuple(s["unit_kinds"]),
            criteria=tuple(by_set.get((s["code"], s["version"]), [])),
        )
        for s in sets
    ]  # fmt: skip
