"""Handlers of violations: opening and joining them from detections, and their handling with the Provincial
Police, one logic path behind the gRPC and HTTP doors.

Who may do what (checked on every call, and on every object for reads):
- read (list, get, watch): the province-wide readers (admin, police, dic_operator, auditor, chairman_office,
  service); a unit officer reads the violations of cameras covering its own unit, nothing else;
- acknowledge: dic_operator, police, admin; hand over: dic_operator, admin;
- assign, start, resolve, dismiss: police, admin; comment: dic_operator, police, admin;
- camera_gateway: nothing here.

Each change is one transaction: the row (locked), the activity row, the audit row and the event in the outbox.

Opening (`open_or_join`) runs in the detections' unit of work, in the transaction of their batch. Concurrency:
two doors may bring detections of the same camera and kind at the same time; it takes a transaction-level
advisory lock per (camera, kind) in a fixed order (no deadlock between batches), then reads the open
violations with FOR UPDATE, so two batches never both open a violation for the same pair and a handling change
(resolve, dismiss) never slips between the read and the join.

The feed (WatchViolations and its HTTP page): `FeedReader` reads `violation_activity` after a cursor and
passes rows on only in an order that cannot change later (domain.FeedPosition explains the gaps it waits at);
the repository's `ActivitySignal` wakes readers when rows commit.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import asdict, replace
from datetime import datetime
from typing import Any, Protocol, TypeVar

from prometheus_client import Counter, Histogram

from cameras import permissions
from cameras.config import CamerasSettings
from cameras.violations import messages
from cameras.violations.domain import (
    JOIN_CHANGE,
    Acknowledge,
    Action,
    Activity,
    Assign,
    CommentOnViolation,
    DetectionKind,
    Dismiss,
    FeedPosition,
    GetViolation,
    HandleViolation,
    HandOver,
    KindRule,
    ListViolations,
    OpenViolation,
    Plan,
    ReadFeed,
    Resolve,
    Side,
    Sighting,
    StartHandling,
    Violation,
    ViolationFilter,
    comment_text,
    decide,
    filter_of,
    joining_details,
    lock_key,
    opening_details,
    opens,
)
from cameras.violations.messages import VIOLATIONS_TOPIC
from cameras.violations.repository import ActivitySignal, ViolationRepository
from d07.platform import audit
from d07.platform.auth import (
    ADMIN,
    POLICE,
    Principal,
    ensure_unit_access,
    require_roles,
)
from d07.platform.convert import parse_uuid
from d07.platform.db import Conn
from d07.platform.errors import FieldProblem, InvalidArgument, NotFound, PermissionDenied, ensure_version
from d07.platform.pagination import decode_cursor, encode_cursor, page_size
from d07.platform.uow import UnitOfWork

# The role lists come from the service's one permissions table.
READERS = permissions.VIOLATION_READERS
COMMENTERS = permissions.VIOLATION_COMMENTERS
KIND_READERS = permissions.KIND_READERS
# The roles of each command.
ROLES: dict[type[Any], tuple[str, ...]] = {
    Acknowledge: permissions.ACKNOWLEDGERS,
    HandOver: permissions.HANDERS_OVER,
    Assign: permissions.POLICE_HANDLERS,
    StartHandling: permissions.POLICE_HANDLERS,
    Resolve: permissions.POLICE_HANDLERS,
    Dismiss: permissions.POLICE_HANDLERS,
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
# While a gap is waited on, its transactions may end without a notification (a rollback): look again soon.
GAP_POLL_SECONDS = 0.05
GAP_GRACE_SECONDS = 5.0

VIOLATIONS_OPENED = Counter(
    "d07_violations_opened_total",
    "Violations opened from detections, by kind.",
    ["kind"],
)
# Detection -> ViolationOpened freshness (the violation-freshness SLO counts openings slower than 30 s).
VIOLATION_OPEN_DELAY = Histogram(
    "d07_violation_open_delay_seconds",
    "Time from the first detection of a violation (its occurred time) to the violation's opening, by kind.",
    ["kind"],
    buckets=(1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0),
)

U = TypeVar("U", bound=UnitOfWork)


class ViolationsUnitOfWork(UnitOfWork):
    violations: ViolationRepository

    def bind(self, conn: Conn) -> None:
        super().bind(conn)
        self.violations = ViolationRepository(conn)


class ViolationsDeps(Protocol):
    """What the violations' doors and workers take of the service's dependencies (cameras.bootstrap's
    CamerasDeps)."""

    @property
    def settings(self) -> CamerasSettings: ...

    @property
    def signal(self) -> ActivitySignal: ...

    def uow(self, cls: type[U]) -> U: ...


def side_of(principal: Principal) -> Side:
    """For whom the caller acts: the police (police, admin) or the camera operators."""
    return Side.POLICE if principal.has_any(ADMIN, POLICE) else Side.DIC


def _ensure_read(principal: Principal, violation: Violation) -> None:
    ensure_unit_access(principal, str(violation.unit_id) if violation.unit_id else None)


def _scope(principal: Principal, where: ViolationFilter) -> ViolationFilter:
    """The filter narrowed to what the caller may read: a unit officer, its own unit's violations only."""
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


def _violation_id(value: str) -> uuid.UUID:
    return parse_uuid(value, "id", what="violation id")


async def _found(
    uow: ViolationsUnitOfWork, violation_id: uuid.UUID, *, for_update: bool = False
) -> Violation:
    violation = await uow.violations.get(violation_id, for_update=for_update)
    if violation is None:
        raise NotFound(
            f"no violation {violation_id}",
            code="violation_not_found",
            resource_type="violation",
            resource_id=str(violation_id),
        )
    return violation


async def _record(
    uow: ViolationsUnitOfWork,
    violation: Violation,
    action: Action,
    details: dict[str, Any],
    principal: Principal,
    before: Violation | None = None,
) -> None:
    """The audit row and the event of a change, in the change's transaction (`before`: the violation as it
    was, for the old and new values of what changed)."""
    if before is not None:
        details = {**details, "changes": audit.changes(before, violation)}
    await uow.audit(
        action=AUDIT_ACTIONS[action],
        object_type="violation",
        object_id=str(violation.id),
        unit_id=str(violation.unit_id) if violation.unit_id else None,
        details={**details, "status": violation.status.value, "version": violation.version},
    )
    await uow.publish(
        VIOLATIONS_TOPIC,
        key=str(violation.id),
        subject=str(violation.id),
        message=messages.updated(violation, action, principal),
    )


# --- commands -------------------------------------------------------------------------------------------


async def handle(uow: ViolationsUnitOfWork, cmd: HandleViolation, principal: Principal) -> Violation:
    """Apply one handling command to the violation at `cmd.version` (the version the caller read)."""
    require_roles(principal, *ROLES[type(cmd.command)])
    uid = _violation_id(cmd.violation_id)
    async with uow:
        current = await _found(uow, uid, for_update=True)
        ensure_version(cmd.version, current.version, what="violation", object_id=current.id)
        now = uow.now()
        change = decide(current, cmd.command, side=side_of(principal), actor=principal.subject, now=now)
        violation = await uow.violations.apply(
            violation_id=uid, status=change.status, fields=change.fields, bump=True
        )
        await uow.violations.append_activity(
            violation_id=uid, actor=principal.subject, action=change.action, details=change.details, at=now
        )
        await _record(uow, violation, change.action, dict(change.details), principal, before=current)
    return violation


async def comment(uow: ViolationsUnitOfWork, cmd: CommentOnViolation, principal: Principal) -> Activity:
    """Add a comment. The row is locked all the same, so that the event carries the violation's state in the
    order of its changes."""
    require_roles(principal, *COMMENTERS)
    uid = _violation_id(cmd.violation_id)
    cleaned = comment_text(cmd.text)
    async with uow:
        violation = await _found(uow, uid, for_update=True)
        entry = await uow.violations.append_activity(
            violation_id=uid,
            actor=principal.subject,
            action=Action.COMMENT,
            details={"text": cleaned},
            at=uow.now(),
        )
        await _record(uow, violation, Action.COMMENT, {"seq": entry.seq}, principal)
    return entry


# --- queries --------------------------------------------------------------------------------------------


async def get_violation(
    uow: ViolationsUnitOfWork, query: GetViolation, principal: Principal
) -> tuple[Violation, list[Activity]]:
    """The violation and its activity log in order (comments are the rows with action `commented`)."""
    require_roles(principal, *READERS)
    uid = _violation_id(query.violation_id)
    async with uow:
        violation = await _found(uow, uid)
        _ensure_read(principal, violation)
        return violation, await uow.violations.activity(uid)


async def list_detection_kinds(uow: ViolationsUnitOfWork, principal: Principal) -> list[DetectionKind]:
    """Every detection kind with its threshold, priority and reaction minutes, ordered by kind."""
    require_roles(principal, *KIND_READERS)
    async with uow:
        return await uow.violations.detection_kinds()


async def list_violations(
    uow: ViolationsUnitOfWork, query: ListViolations, principal: Principal
) -> tuple[list[Violation], str]:
    """One page of the violations the caller may read, newest first, and the next page's token."""
    require_roles(principal, *READERS)
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
    async with uow:
        rows = await uow.violations.page(where=where, after=after, limit=limit + 1)
    page = rows[:limit]
    token = ""
    if len(rows) > limit:
        last = page[-1]
        token = encode_cursor([last.opened_at.isoformat(), str(last.id)], filters=fingerprint)
    return page, token


def _check_cursor(cursor: int) -> None:
    if cursor < 0:
        raise InvalidArgument(
            "the cursor is a position in the log", code="invalid_cursor",
            fields=[FieldProblem("cursor", "0 or a cursor this API gave")],
        )  # fmt: skip


async def watch(
    uow: ViolationsUnitOfWork, query: ReadFeed, principal: Principal, *, signal: ActivitySignal
) -> AsyncGenerator[tuple[Activity, Violation], None]:
    """The activity after `cursor` that the caller may read, then new activity as it commits, for ever."""
    visible = visible_to(principal)
    _check_cursor(query.cursor)
    reader = FeedReader(uow, cursor=query.cursor, visible=visible)
    async with signal.listening():
        while True:
            ticket = signal.ticket()
            try:
                entries, more = await reader.read()
                for entry in entries:
                    yield entry
                if not more:
                    await signal.wait(ticket, reader.wait_seconds(query.poll_seconds))
            finally:
                signal.discard(ticket)


async def feed_page(
    uow: ViolationsUnitOfWork, query: ReadFeed, principal: Principal, *, signal: ActivitySignal
) -> tuple[list[tuple[Activity, Violation]], int]:
    """The same feed a page at a time (long polling, for HTTP): the entries after `cursor` that may be passed
    on, waiting up to `wait_seconds` for some, and the cursor to ask from next."""
    visible = visible_to(principal)
    _check_cursor(query.cursor)
    reader = FeedReader(uow, cursor=query.cursor, visible=visible)
    async with signal.listening():
        entries = await reader.read_within(
            signal, wait_seconds=query.wait_seconds, poll_seconds=query.poll_seconds
        )
    return entries, reader.cursor


Entry = tuple[Activity, Violation]


class FeedReader:
    """Reads the feed from a cursor for one client; `visible` says which violations the client may read
    (rows of others move the position on without being passed on)."""

    def __init__(
        self,
        uow: ViolationsUnitOfWork,
        *,
        cursor: int,
        visible: Callable[[Violation], bool],
        batch: int = 200,
    ) -> None:
        self._uow = uow
        self._visible = visible
        self._batch = batch
        self.position = FeedPosition(cursor=cursor)

    @property
    def cursor(self) -> int:
        return self.position.cursor

    async def read(self) -> tuple[list[Entry], bool]:
        """The entries that may be passed on now (possibly none), and whether more are ready to read."""
        uow = self._uow
        gap = self.position.gap
        if gap is not None:
            async with uow:
                ended = await uow.violations.all_ended(gap.xids)
            if ended:
                self.position.settle()
        # One snapshot for both: the transactions in progress are those that could still fill a gap among the
        # rows read.
        async with uow:
            await uow.violations.snapshot()
            in_progress = await uow.violations.in_progress_transactions()
            rows = await uow.violations.feed(after=self.position.cursor, limit=self._batch)
        taken = self.position.advance([a.seq for a, _ in rows], in_progress)
        entries = [(a, v) for a, v in rows[:taken] if self._visible(v)]
        return entries, taken == len(rows) == self._batch

    def wait_seconds(self, poll_seconds: float) -> float:
        return GAP_POLL_SECONDS if self.position.gap is not None else poll_seconds

    async def read_within(
        self, signal: ActivitySignal, *, wait_seconds: float, poll_seconds: float
    ) -> list[Entry]:
        """Entries as soon as there are some, or none after `wait_seconds`; a gap seen meanwhile is waited on
        a little longer (GAP_GRACE_SECONDS), as it normally settles within milliseconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        hard_deadline = deadline + GAP_GRACE_SECONDS
        while True:
            ticket = signal.ticket()
            try:
                entries, _ = await self.read()
                now, settled = loop.time(), self.position.gap is None
                if entries or now >= hard_deadline or (settled and now >= deadline):
                    return entries
                until = deadline if settled else hard_deadline
                await signal.wait(ticket, min(self.wait_seconds(poll_seconds), until - now))
            finally:
                signal.discard(ticket)


# --- the reaction deadline ------------------------------------------------------------------------------


async def mark_overdue(uow: ViolationsUnitOfWork, *, now: datetime, batch: int = 500) -> list[Violation]:
    """Flag every NEW violation past its deadline at `now` and not flagged yet: `overdue_at`, an `overdue`
    activity row, an audit row (actor "system") and one ViolationOverdue each, in one transaction per batch.
    A violation is flagged once, also when several processes run this at the same time. Nobody asks for it:
    the overdue worker runs it."""
    flagged: list[Violation] = []
    while True:
        async with uow:
            due = await uow.violations.flag_overdue(now=now, limit=batch)
            if due:
                await uow.violations.append_overdue(violations=due, at=now)
                await uow.audit_many(
                    action="violation.overdue",
                    object_type="violation",
                    entries=[
                        (str(v.id), str(v.unit_id) if v.unit_id else None,
                         {"react_by": v.react_by.isoformat(), "priority": v.priority})
                        for v in due
                    ],
                )  # fmt: skip
                await uow.publish_many(VIOLATIONS_TOPIC, [(str(v.id), messages.overdue(v)) for v in due])
        flagged.extend(due)
        if len(due) < batch:
            return flagged


async def next_deadline(uow: ViolationsUnitOfWork) -> datetime | None:
    async with uow:
        return await uow.violations.next_deadline()


async def counts(uow: ViolationsUnitOfWork) -> dict[str, tuple[int, int]]:
    """Per priority: open violations, and those still NEW past their deadline (the gauges)."""
    async with uow:
        return await uow.violations.gauges()


# --- opening from detections ----------------------------------------------------------------------------


# A detection opens or joins a violation in two steps around the caller's own writes, in the caller's open
# unit of work (the detections' batch): `read_open` locks and reads what the sightings may join, the caller
# makes the plan (domain.plan) and stores its detections with the violation each belongs to, and `carry_out`
# writes the plan: one statement per step for the whole batch, never one per detection.


async def read_open(
    uow: ViolationsUnitOfWork, sightings: Sequence[Sighting], *, kinds: Mapping[str, KindRule]
) -> dict[tuple[uuid.UUID, str], OpenViolation]:
    """Lock the (camera, kind) pairs the sightings may open or join, and read their newest open violations."""
    pairs = sorted({(s.camera.id, s.kind) for s in sightings if opens(s, kinds)})
    if not pairs:
        return {}
    await uow.violations.lock_pairs(sorted({lock_key(c, k) for c, k in pairs}))
    return {(v.camera_id, v.kind): v for v in await uow.violations.open_violations(pairs)}


async def carry_out(uow: ViolationsUnitOfWork, the_plan: Plan) -> None:
    """Carry a plan out: violations opened and grown, their activity rows and events. Linking the detections
    to their violations is the caller's (it stores them with the link)."""
    if the_plan.opened:
        await uow.violations.insert_openings(the_plan.opened)
    joined = await uow.violations.join(the_plan.joined) if the_plan.joined else {}
    activity: list[tuple[uuid.UUID, str, Mapping[str, Any]]] = [
        (o.id, "opened", opening_details(o)) for o in the_plan.opened
    ]
    activity += [(j.id, "joined", joining_details(j, joined[j.id])) for j in the_plan.joined]
    await uow.violations.add_system_activity(activity)
    events: list[tuple[str, Any]] = [(str(o.id), messages.opened(o)) for o in the_plan.opened]
    events += [
        (str(j.id), messages.joined(joined[j.id], JOIN_CHANGE)) for j in the_plan.joined if j.announced
    ]
    if events:
        await uow.publish_many(VIOLATIONS_TOPIC, events)
    for o in the_plan.opened:
        VIOLATIONS_OPENED.labels(kind=o.kind).inc()
        # A camera clock ahead of ours puts the detection after the opening: no delay, not a negative one.
        delay = max(0.0, (o.opened_at - o.first_seen_at).total_seconds())
        VIOLATION_OPEN_DELAY.labels(kind=o.kind).observe(delay)
