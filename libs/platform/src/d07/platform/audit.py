"""The append-only audit trail: who changed what, when, from where.

`record` is called inside the transaction of the change it describes, so a change and its audit row commit or
roll back together. The actor, the request id and the client address come from `d07.platform.context`.
An update records what it changed with `changes(before, after)`: each changed field's old and new value.
`list_records` is the read side that the audit API (`d07.platform.audit_api`) serves to auditors.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from d07.platform import context
from d07.platform.db import Conn
from d07.platform.db.query import Where
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


# --- old and new values ----------------------------------------------------------------------------------

# Fields an update's "changes" leave out: the bookkeeping every row carries (the version is recorded apart).
BOOKKEEPING = frozenset({"version", "created_at", "updated_at"})


def jsonable(value: Any) -> Any:
    """`value` as JSON can hold it: ids and decimals as text, dates and times ISO 8601, enums by value,
    dataclasses and mappings as objects, sequences and sets as lists."""
    if isinstance(value, enum.Enum):  # before str and int: a StrEnum is both
        return jsonable(value.value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime.date | datetime.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((jsonable(v) for v in value), key=str)
    if isinstance(value, Sequence | tuple):
        return [jsonable(v) for v in value]
    return str(value)


def _fields(obj: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TypeError(f"changes() compares dataclasses or mappings, not {type(obj).__name__}")


def changes(
    before: Any,
    after: Any,
    *,
    only: Iterable[str] | None = None,
    ignore: Iterable[str] = BOOKKEEPING,
) -> dict[str, dict[str, Any]]:
    """What an update changed, field by field: `{field: {"old": ..., "new": ...}}` (JSON values), for the
    fields of `before` and `after` (dataclasses or mappings; a field on one side only counts with None on
    the other) whose values differ, except the `ignore`d bookkeeping; `only` narrows to the fields named.
    An update handler records it as `details={"changes": changes(current, updated), ...}`."""
    old, new = _fields(before), _fields(after)
    names = list(old) + [n for n in new if n not in old]
    if only is not None:
        wanted = set(only)
        names = [n for n in names if n in wanted]
    skipped = set(ignore)
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        if name in skipped:
            continue
        a, b = jsonable(old.get(name)), jsonable(new.get(name))
        if a != b:
            out[name] = {"old": a, "new": b}
    return out


# --- the read side --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditRecord:
    """One row of the trail: who (actor, roles), what (action, object), when (at), from where (source,
    request id), and the details."""

    id: int
    at: datetime.datetime
    actor: str
    roles: list[str]
    unit_id: str
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]
    source: str
    request_id: str


@dataclass(frozen=True)
class AuditFilter:
    """Which records: each set field narrows; `since` inclusive, `until` exclusive."""

    actor: str = ""
    object_type: str = ""
    object_id: str = ""
    action: str = ""
    unit_id: uuid.UUID | None = None
    since: datetime.datetime | None = None
    until: datetime.datetime | None = None


async def list_records(
    conn: Conn, where: AuditFilter, *, before_id: int | None, limit: int
) -> list[AuditRecord]:
    """Up to `limit` records matching `where`, newest first (by id, which grows with commit order of the
    inserts), starting below `before_id` (a page's position)."""
    q = Where()
    if where.actor:
        q.add("actor = {}", where.actor)
    if where.object_type:
        q.add("object_type = {}", where.object_type)
    if where.object_id:
        q.add("object_id = {}", where.object_id)
    if where.action:
        q.add("action = {}", where.action)
    if where.unit_id is not None:
        q.add("unit_id = {}", where.unit_id)
    if where.since is not None:
        q.add("at >= {}", where.since)
    if where.until is not None:
        q.add("at < {}", where.until)
    if before_id is not None:
        q.add("id < {}", before_id)
    limit_at = q.param(limit)
    rows = await conn.fetch(
        f"""SELECT id, at, actor, roles, unit_id, action, object_type, object_id, details, source, request_id
            FROM audit_log WHERE {q.sql()} ORDER BY id DESC LIMIT {limit_at}""",
        *q.args,
    )
    return [
        AuditRecord(
            id=r["id"],
            at=r["at"],
            actor=r["actor"],
            roles=list(r["roles"]),
            unit_id=str(r["unit_id"]) if r["unit_id"] is not None else "",
            action=r["action"],
            object_type=r["object_type"],
            object_id=r["object_id"],
            details=dict(r["details"]),
            source=r["source"],
            request_id=r["request_id"],
        )
        for r in rows
    ]
