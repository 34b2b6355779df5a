"""SQL of the corrective actions (`corrective_actions`, with the unit of their assessment)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

from assessment.actions.domain import ActionStatus, CorrectiveAction, NewCorrectiveAction
from d07.platform.db import Conn
from d07.platform.db.query import from_row

_ACTIONS = """SELECT c.*, a.unit_id FROM corrective_actions c JOIN assessments a USING (assessment_id)"""


def _action(r: Mapping[str, Any]) -> CorrectiveAction:
    return from_row(CorrectiveAction, r, id=r["action_id"], status=ActionStatus(r["status"]))


class ActionRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def add(
        self, *, action_id: uuid.UUID, assessment_id: uuid.UUID, cmd: NewCorrectiveAction, by: str
    ) -> CorrectiveAction:
        await self.conn.execute(
            """INSERT INTO corrective_actions (action_id, assessment_id, criterion_code, action, owner,
                                               due_on, created_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7)""",
            action_id, assessment_id, cmd.criterion_code, cmd.action, cmd.owner, cmd.due_on, by,
        )  # fmt: skip
        found = await self.get(action_id=action_id)
        assert found is not None
        return found

    async def get(self, *, action_id: uuid.UUID, for_update: bool = False) -> CorrectiveAction | None:
        lock = " FOR UPDATE OF c" if for_update else ""
        row = await self.conn.fetchrow(f"{_ACTIONS} WHERE c.action_id = $1{lock}", action_id)
        return _action(row) if row else None

    async def close(self, *, action_id: uuid.UUID, by: str, note: str) -> CorrectiveAction:
        await self.conn.execute(
            """UPDATE corrective_actions
                  SET status = 'closed', closed_by = $2, closed_at = now(), closing_note = $3
                WHERE action_id = $1""",
            action_id,
            by,
            note,
        )
        found = await self.get(action_id=action_id)
        assert found is not None
        return found

    async def find(
        self,
        *,
        assessment_id: uuid.UUID | None,
        unit_id: uuid.UUID | None,
        status: ActionStatus | None,
        overdue_on: date | None = None,
    ) -> list[CorrectiveAction]:
        rows = await self.conn.fetch(
            f"""{_ACTIONS}
                 WHERE ($1::uuid IS NULL OR c.assessment_id = $1) AND ($2::uuid IS NULL OR a.unit_id = $2)
                   AND ($3::text IS NULL OR c.status = $3)
                   AND ($4::date IS NULL OR (c.status = 'open' AND c.due_on < $4))
                 ORDER BY c.due_on, c.created_at, c.action_id LIMIT 1000""",
            assessment_id, unit_id, status.value if status else None, overdue_on,
        )  # fmt: skip
        return [_action(r) for r in rows]
