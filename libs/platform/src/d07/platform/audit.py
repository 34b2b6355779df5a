"""The append-only audit trail: who changed what, when, from where.

`record` is called inside the transaction of the change it describes, so a change and its audit row commit or
roll back together. The actor, the request id and the client address come from `d07.platform.context`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from d07.platform import context
from d07.platform.db import Conn
from d07.platform.metrics import AUDIT_WRITTEN


async def record(
    conn: Conn,
    *,
    action: str,
    object_type: str,
    object_id: str,
    details: dict[str, Any] | None = None,
    unit_id: str | None = None,
) -> None:
    """Append one audit row in the caller's transaction (the table lives in the service's schema)."""
    who = context.principal.get()
    actor = who.subject if who is not None else "system"
    roles = sorted(who.roles) if who is not None else []
    await conn.execute(
        """INSERT INTO audit_log
               (actor, roles, unit_id, action, object_type, object_id, details, source, request_id)
           VALUES ($1, $2, $3::uuid, $4, $5, $6, $7, $8, $9)""",
        actor,
        roles,
        unit_id,
        action,
        object_type,
        object_id,
        details or {},
        context.client_address.get(),
        context.request_id.get(),
    )
    AUDIT_WRITTEN.labels(action=action).inc()


async def record_many(
    conn: Conn,
    *,
    action: str,
    object_type: str,
    entries: Sequence[tuple[str, str | None, dict[str, Any]]],
) -> None:
    """Audit rows `(object id, unit id, details)` of one action in one statement, in the caller's transaction:
    what `record` writes per call, for an import of hundreds of objects."""
    if not entries:
        return
    who = context.principal.get()
    actor = who.subject if who is not None else "system"
    roles = sorted(who.roles) if who is not None else []
    source, request_id = context.client_address.get(), context.request_id.get()
    await conn.executemany(
        """INSERT INTO audit_log
               (actor, roles, unit_id, action, object_type, object_id, details, source, request_id)
           VALUES ($1, $2, $3::uuid, $4, $5, $6, $7, $8, $9)""",
        [
            (actor, roles, unit_id, action, object_type, object_id, details, source, request_id)
            for object_id, unit_id, details in entries
        ],
    )
    AUDIT_WRITTEN.labels(action=action).inc(len(entries))
