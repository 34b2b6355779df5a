"""Handlers of violation handling: one logic path behind the gRPC and HTTP doors.

Who may do what (checked on every call, and on every object for reads):
- read (list, get, watch): the province-wide readers (admin, police, dic_operator, auditor, chairman_office,
  service); a unit officer reads the violations of cameras covering its own unit, nothing else;
- acknowledge: dic_operator, police, admin; hand over: dic_operator, admin;
- assign, start, resolve, dismiss: police, admin; comment: dic_operator, police, admin;
- camera_gateway: nothing here.

Each change is one transaction: the row (locked), the activity row, the audit row and the event in the outbox.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Callable
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any

import asyncpg

from cameras.violations import messages
from cameras.violations import repository as repo
from cameras.violations.domain import (
    Acknowledge,
    Action,
    Activity,
    Assign,
    Command,
    Dismiss,
    HandOver,
    ListViolations,
    Resolve,
    Side,
    StartHandling,
    Violation,
    ViolationFilter,
    check_version,
    comment_text,
    decide,
    filter_of,
)
from cameras.violations.feed import ActivitySignal, FeedReader
from d07.platform import audit
from d07.platform.auth import (
    ADMIN,
    DIC_OPERATOR,
    POLICE,
    PROVINCE_WIDE_READERS,
    UNIT_OFFICER,
    Principal,
    ensure_unit_access,
    require_roles,
)
from d07.platform.db import Conn
from d07.platform.errors import FieldProblem, InvalidArgument, NotFound, PermissionDenied
from d07.platform.events import outbox
from d07.platform.pagination import decode_cursor, encode_cursor, page_size

SOURCE = "/d07/cameras"
VIOLATIONS_TOPIC = "d07.cameras.violations.v1"
READERS = (*PROVINCE_WIDE_READERS, UNIT_OFFICER)
COMMENTERS = (ADMIN, POLICE, DIC_OPERATOR)
# The roles of each command, in one visible table.
ROLES: dict[type[Any], tuple[str, ...]] = {
    Acknowledge: (ADMIN, POLICE, DIC_OPERATOR),
    HandOver: (ADMIN, DIC_OPERATOR),
    Assign: (ADMIN, POLICE),
    StartHandling: (ADMIN, POLICE),
    Resolve: (ADMIN, POLICE),
    Dismiss: (ADMIN, POLICE),
}
AUDIT_ACTIONS = {
    Action.ACKNOWLEDGE: "violation.acknowledge",
    Action.HAND_OVER: "violation.hand_over",
    Action.ASSIGN: "violation.assign",
    Action.START: "violation.start",
    Action.RESOLVE: "violation.resolve",
    Action.DISMISS: "violation.dismiss",
    Action.COMMENT: "violation.comment",
}


def parse_id(value: str, field: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise InvalidArgument(
            "not a violation id", code="invalid_id", fields=[FieldProblem(field, "a UUID is expected")]
        ) from None


def side_of(principal: Principal) -> Side:
    """For whom the caller acts: the police (police, admin) or the camera operators."""
    return Side.POLICE if principal.has_any(ADMIN, POLICE) else Side.DIC


def _ensure_read(principal: Principal, violation: Violation) -> None:
    require_roles(principal, *READERS)
    ensure_unit_access(principal, str(violation.unit_id) if violation.unit_id else None)


def _scope(principal: Principal, where: ViolationFilter) -> ViolationFilter:
    """The filter narrowed to what the caller may read: a unit officer, its own unit's violations only."""
    require_roles(principal, *READERS)
    if not principal.is_unit_officer_only:
        return where
    ensure_unit_access(principal, str(where.unit_id) if where.unit_id else principal.unit_id)
    return replace(where, unit_id=_own_unit(principal))


def _own_unit(principal: Principal) -> uuid.UUID:
    try:
        return uuid.UUID(str(principal.unit_id))
    except ValueError:
        raise PermissionDenied("the token's unit is not a unit id", code="other_unit") from None


def visible_to(principal: Principal) -> Callable[[Violation], bool]:
    """Which violations the caller may read, as a predicate (for the feed, which reads all activity)."""
    require_roles(principal, *READERS)
    if not principal.is_unit_officer_only:
        return lambda v: True
    own = _own_unit(principal)
    return lambda v: v.unit_id == own


async def _locked(conn: Conn, violation_id: uuid.UUID) -> Violation:
    violation = await repo.get(conn, violation_id=violation_id, for_update=True)
    if violation is None:
        raise NotFound(
            f"no violation {violation_id}",
            code="violation_not_found",
            resource_type="violation",
            resource_id=str(violation_id),
        )
    return violation


async def _record(
    conn: Conn, violation: Violation, action: Action, details: dict[str, Any], principal: Principal
) -> None:
    """The audit row and the event of a change, in the change's transaction."""
    await audit.record(
        conn,
        action=AUDIT_ACTIONS[action],
        object_type="violation",
        object_id=str(violation.id),
        unit_id=str(violation.unit_id) if violation.unit_id else None,
        details={**details, "status": violation.status.value, "version": violation.version},
    )
    await outbox.add(
        conn,
        topic=VIOLATIONS_TOPIC,
        key=str(violation.id),
        source=SOURCE,
        subject=str(violation.id),
        message=messages.updated(violation, action, principal),
    )


# --- commands -------------------------------------------------------------------------------------------


async def handle(
    pool: asyncpg.Pool, violation_id: str, version: int, cmd: Command, *, principal: Principal
) -> Violation:
    """Apply one handling command to the violation at `version` (the version the caller read)."""
    require_roles(principal, *ROLES[type(cmd)])
    uid = parse_id(violation_id)
    async with pool.acquire() as conn, conn.transaction():
        current = await _locked(conn, uid)
        check_version(current, version)
        now = datetime.now(UTC)
        change = decide(current, cmd, side=side_of(principal), actor=principal.subject, now=now)
        violation = await repo.apply(
            conn, violation_id=uid, status=change.status, fields=change.fields, bump=True
        )
        await repo.append_activity(
            conn,
            violation_id=uid,
            actor=principal.subject,
            action=change.action,
            details=change.details,
            at=now,
        )
        await _record(conn, violation, change.action, dict(change.details), principal)
    return violation


async def comment(pool: asyncpg.Pool, violation_id: str, text: str, *, principal: Principal) -> Activity:
    """Add a comment. The row is locked all the same, so that the event carries the violation's state in the
    order of its changes."""
    require_roles(principal, *COMMENTERS)
    uid = parse_id(violation_id)
    cleaned = comment_text(text)
    async with pool.acquire() as conn, conn.transaction():
        violation = await _locked(conn, uid)
        entry = await repo.append_activity(
            conn,
            violation_id=uid,
            actor=principal.subject,
            action=Action.COMMENT,
            details={"text": cleaned},
            at=datetime.now(UTC),
        )
        await _record(conn, violation, Action.COMMENT, {"seq": entry.seq}, principal)
    return entry


# --- queries --------------------------------------------------------------------------------------------


async def get_violation(
    pool: asyncpg.Pool, violation_id: str, *, principal: Principal
) -> tuple[Violation, list[Activity]]:
    """The violation and its activity log in order (comments are the rows with action `commented`)."""
    require_roles(principal, *READERS)
    uid = parse_id(violation_id)
    async with pool.acquire() as conn:
        violation = await repo.get(conn, violation_id=uid)
        if violation is None:
            raise NotFound(
                f"no violation {uid}",
                code="violation_not_found",
                resource_type="violation",
                resource_id=str(uid),
            )
        _ensure_read(principal, violation)
        return violation, await repo.activity(conn, violation_id=uid)


async def list_violations(
    pool: asyncpg.Pool, query: ListViolations, *, principal: Principal
) -> tuple[list[Violation], str]:
    """One page of the violations the caller may read, newest first, and the next page's token."""
    where = _scope(principal, filter_of(query))
    limit = page_size(query.page_size)
    fingerprint = {k: str(v) for k, v in asdict(where).items()}
    position = decode_cursor(query.page_token, filters=fingerprint)
    after: tuple[datetime, uuid.UUID] | None = None
    if position:
        try:
            after = (datetime.fromisoformat(str(position[0])), uuid.UUID(str(position[1])))
        except (ValueError, IndexError):
            raise InvalidArgument(
                "page_token is not a token this API gave", code="invalid_page_token",
                fields=[FieldProblem("page_token", "use next_page_token from the previous page")],
            ) from None  # fmt: skip
    async with pool.acquire() as conn:
        rows = await repo.list_violations(conn, where=where, after=after, limit=limit + 1)
    page = rows[:limit]
    token = ""
    if len(rows) > limit:
        last = page[-1]
        token = encode_cursor([last.opened_at.isoformat(), str(last.id)], filters=fingerprint)
    return page, token


async def watch(
    pool: asyncpg.Pool,
    signal: ActivitySignal,
    cursor: int,
    *,
    principal: Principal,
    poll_seconds: float,
) -> AsyncGenerator[tuple[Activity, Violation], None]:
    """The activity after `cursor` that the caller may read, then new activity as it commits, for ever."""
    if cursor < 0:
        raise InvalidArgument(
            "the cursor is a position in the log", code="invalid_cursor",
            fields=[FieldProblem("cursor", "0 or a cursor this API gave")],
        )  # fmt: skip
    reader = FeedReader(pool, cursor=cursor, visible=visible_to(principal))
    async with signal.listening():
        while True:
            ticket = signal.ticket()
            try:
                entries, more = await reader.read()
                for entry in entries:
                    yield entry
                if not more:
                    await signal.wait(ticket, reader.wait_seconds(poll_seconds))
            finally:
                signal.discard(ticket)


async def feed_page(
    pool: asyncpg.Pool,
    signal: ActivitySignal,
    cursor: int,
    *,
    principal: Principal,
    wait_seconds: float,
    poll_seconds: float,
) -> tuple[list[tuple[Activity, Violation]], int]:
    """The same feed a page at a time (long polling, for HTTP): the entries after `cursor` that may be passed
    on, waiting up to `wait_seconds` for some, and the cursor to ask from next."""
    if cursor < 0:
        raise InvalidArgument(
            "the cursor is a position in the log", code="invalid_cursor",
            fields=[FieldProblem("cursor", "0 or a cursor this API gave")],
        )  # fmt: skip
    reader = FeedReader(pool, cursor=cursor, visible=visible_to(principal))
    async with signal.listening():
        entries = await reader.read_within(signal, wait_seconds=wait_seconds, poll_seconds=poll_seconds)
    return entries, reader.cursor


# --- the reaction deadline ------------------------------------------------------------------------------


async def mark_overdue(pool: asyncpg.Pool, *, now: datetime, batch: int = 500) -> list[Violation]:
    """Flag every NEW violation past its deadline at `now` and not flagged yet: `overdue_at`, an `overdue`
    activity row, an audit row (actor "system") and one ViolationOverdue each, in one transaction per batch.
    A violation is flagged once, also when several processes run this at the same time."""
    flagged: list[Violation] = []
    while True:
        async with pool.acquire() as conn, conn.transaction():
            due = await repo.flag_overdue(conn, now=now, limit=batch)
            if due:
                await repo.append_overdue(conn, violations=due, at=now)
                await audit.record_many(
                    conn,
                    action="violation.overdue",
                    object_type="violation",
                    entries=[
                        (str(v.id), str(v.unit_id) if v.unit_id else None,
                         {"react_by": v.react_by.isoformat(), "priority": v.priority})
                        for v in due
                    ],
                )  # fmt: skip
                await outbox.add_many(
                    conn,
                    topic=VIOLATIONS_TOPIC,
                    source=SOURCE,
                    events=[(str(v.id), messages.overdue(v)) for v in due],
                )
        flagged.extend(due)
        if len(due) < batch:
            return flagged


async def next_deadline(pool: asyncpg.Pool) -> datetime | None:
    async with pool.acquire() as conn:
        return await repo.next_deadline(conn)


async def counts(pool: asyncpg.Pool) -> dict[str, tuple[int, int]]:
    """Per priority: open violations, and those still NEW past their deadline (the gauges)."""
    async with pool.acquire() as conn:
        return await repo.gauges(conn)
