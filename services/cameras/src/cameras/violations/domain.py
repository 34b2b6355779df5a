"""Handling of violations with the Provincial Police. Pure rules, no I/O.

A violation is opened by the detections (status NEW, with a reaction deadline `react_by` from its kind). From
there people handle it:

    NEW --acknowledge--> ACKNOWLEDGED --start--> IN_PROGRESS --resolve--> RESOLVED
     |                        |                       |
     +------------------------+-------dismiss---------+----------------> DISMISSED (false alarm)

Who holds it matters as much as its status. The camera operators of the Department of Information and
Communications (DIC) watch the screens: they acknowledge a violation and hand it over to the police. The
police handle it: they assign an officer or a team, start, resolve with an outcome, or dismiss with a reason.
A police officer (or an admin) who acknowledges a NEW violation accepts it directly; there is then nothing
to hand over. So:

- acknowledge: NEW -> ACKNOWLEDGED (dic_operator, police, admin); a police or admin caller takes it at once;
- hand over: ACKNOWLEDGED and still with the DIC -> with the police (dic_operator, admin), once;
- assign: ACKNOWLEDGED or IN_PROGRESS, with the police (police, admin); an officer, a team or both;
- start: ACKNOWLEDGED -> IN_PROGRESS, with the police and assigned (police, admin);
- resolve: IN_PROGRESS -> RESOLVED with the outcome of handling (police, admin);
- dismiss: NEW, or ACKNOWLEDGED / IN_PROGRESS with the police -> DISMISSED with the reason (police, admin);
- comment: at any time, also after closing (dic_operator, police, admin); not a transition.

Every transition names the version the caller read; a violation that changed since is refused (stale), so
two people cannot act on the same violation on different information. Comments, the overdue flag and
detections joining the violation do not change the version: they do not contradict anyone's decision.

A violation is overdue when it is still NEW past its reaction deadline: nobody has reacted in time. The flag
is set once (`overdue_at`) and stays as a record even after someone reacts.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from cameras.network.domain import CameraRef
from d07.platform.errors import Conflict, FieldProblem, InvalidArgument

MAX_TEXT = 4000
MAX_NAME = 200


class ViolationStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


OPEN = frozenset({ViolationStatus.NEW, ViolationStatus.ACKNOWLEDGED, ViolationStatus.IN_PROGRESS})


class Priority(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


PRIORITIES = tuple(p.value for p in Priority)


class Action(StrEnum):
    """What people (and the overdue check) do to a violation: the `action` of its activity rows."""

    ACKNOWLEDGE = "acknowledged"
    HAND_OVER = "handed_over"
    ASSIGN = "assigned"
    START = "started"
    RESOLVE = "resolved"
    DISMISS = "dismissed"
    COMMENT = "commented"
    OVERDUE = "overdue"


class Side(StrEnum):
    """Which side of the handover a caller acts for."""

    DIC = "dic"
    POLICE = "police"


@dataclass(frozen=True)
class Violation:
    id: uuid.UUID
    camera_id: uuid.UUID
    camera_code: str
    unit_id: uuid.UUID | None
    kind: str
    priority: str
    status: ViolationStatus
    opened_at: datetime
    first_seen_at: datetime
    last_seen_at: datetime
    detection_count: int
    max_confidence: float
    react_by: datetime
    overdue_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    handed_over_at: datetime | None
    handed_over_by: str | None
    handed_over_to: str | None
    assignee: str | None
    team: str | None
    closed_at: datetime | None
    outcome: str | None
    version: int

    @property
    def with_police(self) -> bool:
        return self.handed_over_at is not None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


@dataclass(frozen=True)
class Activity:
    """One row of a violation's activity log; `seq` orders the whole log across violations."""

    seq: int
    violation_id: uuid.UUID
    at: datetime
    actor: str
    action: str
    details: Mapping[str, Any] = field(default_factory=dict)


# --- commands -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Acknowledge:
    note: str = ""


@dataclass(frozen=True)
class HandOver:
    to: str
    note: str = ""


@dataclass(frozen=True)
class Assign:
    assignee: str = ""
    team: str = ""
    note: str = ""


@dataclass(frozen=True)
class StartHandling:
    note: str = ""


@dataclass(frozen=True)
class Resolve:
    outcome: str


@dataclass(frozen=True)
class Dismiss:
    reason: str


Command = Acknowledge | HandOver | Assign | StartHandling | Resolve | Dismiss


@dataclass(frozen=True)
class HandleViolation:
    """A handling command for the violation `violation_id`, read by the caller at `version`."""

    violation_id: str
    version: int
    command: Command


@dataclass(frozen=True)
class CommentOnViolation:
    violation_id: str
    text: str


@dataclass(frozen=True)
class GetViolation:
    violation_id: str


@dataclass(frozen=True)
class ReadFeed:
    """The activity after `cursor`: streamed for ever (`watch`), or a page waiting up to `wait_seconds`."""

    cursor: int
    poll_seconds: float
    wait_seconds: float = 0.0


@dataclass(frozen=True)
class Change:
    """What a command does to a violation: the new field values, and the activity row that records it."""

    action: Action
    status: ViolationStatus
    fields: Mapping[str, Any]
    details: Mapping[str, Any]


# --- rules ----------------------------------------------------------------------------------------------


def _text(value: str, name: str, problems: list[FieldProblem], *, required: bool, limit: int) -> str:
    text = " ".join(value.split())
    if required and not text:
        problems.append(FieldProblem(name, "required"))
    elif len(text) > limit:
        problems.append(FieldProblem(name, f"at most {limit} characters"))
    return text


def _refuse(violation: Violation, message: str) -> Conflict:
    return Conflict(
        message, code="invalid_transition", resource_type="violation", resource_id=str(violation.id)
    )


def decide(violation: Violation, cmd: Command, *, side: Side, actor: str, now: datetime) -> Change:
    """The change `cmd` makes, or InvalidArgument (a bad field) / Conflict `invalid_transition` (the
    violation is not in a state where this can happen). Who may send which command is the caller's check;
    `side` says for whom the caller acts (an admin acts for the police)."""
    problems: list[FieldProblem] = []
    status = violation.status
    if isinstance(cmd, Acknowledge):
        note = _text(cmd.note, "note", problems, required=False, limit=MAX_TEXT)
        _raise(problems)
        if status is not ViolationStatus.NEW:
            raise _refuse(violation, f"only a new violation is acknowledged; this one is {status}")
        fields: dict[str, Any] = {"acknowledged_at": now, "acknowledged_by": actor}
        if side is Side.POLICE:  # the police accept it directly: nothing left to hand over
            fields.update(handed_over_at=now, handed_over_by=actor, handed_over_to="")
        details = {"note": note, "side": side.value}
        return Change(Action.ACKNOWLEDGE, ViolationStatus.ACKNOWLEDGED, fields, details)
    if isinstance(cmd, HandOver):
        to = _text(cmd.to, "to", problems, required=True, limit=MAX_NAME)
        note = _text(cmd.note, "note", problems, required=False, limit=MAX_TEXT)
        _raise(problems)
        if status is not ViolationStatus.ACKNOWLEDGED:
            raise _refuse(violation, f"an acknowledged violation is handed over; this one is {status}")
        if violation.with_police:
            raise _refuse(violation, "the violation is already with the police")
        fields = {"handed_over_at": now, "handed_over_by": actor, "handed_over_to": to}
        return Change(Action.HAND_OVER, status, fields, {"to": to, "note": note})
    if isinstance(cmd, Assign):
        assignee = _text(cmd.assignee, "assignee", problems, required=False, limit=MAX_NAME)
        team = _text(cmd.team, "team", problems, required=False, limit=MAX_NAME)
        note = _text(cmd.note, "note", problems, required=False, limit=MAX_TEXT)
        if not assignee and not team:
            problems.append(FieldProblem("assignee", "an officer, a team or both"))
        _raise(problems)
        if status not in (ViolationStatus.ACKNOWLEDGED, ViolationStatus.IN_PROGRESS):
            raise _refuse(
                violation, f"an acknowledged or handled violation is assigned; this one is {status}"
            )
        _with_police(violation)
        fields = {"assignee": assignee or None, "team": team or None}
        return Change(Action.ASSIGN, status, fields, {"assignee": assignee, "team": team, "note": note})
    if isinstance(cmd, StartHandling):
        note = _text(cmd.note, "note", problems, required=False, limit=MAX_TEXT)
        _raise(problems)
        if status is not ViolationStatus.ACKNOWLEDGED:
            raise _refuse(violation, f"handling starts on an acknowledged violation; this one is {status}")
        _with_police(violation)
        if not violation.assignee and not violation.team:
            raise _refuse(violation, "assign an officer or a team before handling starts")
        return Change(Action.START, ViolationStatus.IN_PROGRESS, {}, {"note": note})
    if isinstance(cmd, Resolve):
        outcome = _text(cmd.outcome, "outcome", problems, required=True, limit=MAX_TEXT)
        _raise(problems)
        if status is not ViolationStatus.IN_PROGRESS:
            raise _refuse(violation, f"a violation in handling is resolved; this one is {status}")
        fields = {"closed_at": now, "outcome": outcome}
        return Change(Action.RESOLVE, ViolationStatus.RESOLVED, fields, {"outcome": outcome})
    reason = _text(cmd.reason, "reason", problems, required=True, limit=MAX_TEXT)
    _raise(problems)
    if status not in OPEN:
        raise _refuse(violation, f"the violation is already closed ({status})")
    if status is not ViolationStatus.NEW:
        _with_police(violation)
    fields = {"closed_at": now, "outcome": reason}
    if status is ViolationStatus.NEW:  # the police saw the false alarm first and take it to close it
        fields.update(handed_over_at=now, handed_over_by=actor, handed_over_to="")
    return Change(Action.DISMISS, ViolationStatus.DISMISSED, fields, {"reason": reason})


def _with_police(violation: Violation) -> None:
    if not violation.with_police:
        raise _refuse(violation, "the camera operators have not handed the violation over to the police yet")


def _raise(problems: list[FieldProblem]) -> None:
    if problems:
        raise InvalidArgument("the request is not valid", code="invalid_request", fields=problems)


def comment_text(text: str) -> str:
    """A comment's text, trimmed, or InvalidArgument."""
    problems: list[FieldProblem] = []
    cleaned = _text(text, "text", problems, required=True, limit=MAX_TEXT)
    _raise(problems)
    return cleaned


def is_due(violation: Violation, now: datetime) -> bool:
    """Overdue now: still NEW past the reaction deadline, and not flagged yet."""
    return (
        violation.status is ViolationStatus.NEW and violation.overdue_at is None and violation.react_by <= now
    )


# --- queries --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListViolations:
    """A list query as given: empty means any."""

    status: str = ""
    kind: str = ""
    priority: str = ""
    camera_id: str = ""
    unit_id: str = ""
    district_code: str = ""
    overdue: bool | None = None
    opened_from: datetime | None = None
    opened_to: datetime | None = None
    page_size: int | None = None
    page_token: str = ""


@dataclass(frozen=True)
class ViolationFilter:
    status: ViolationStatus | None = None
    kind: str = ""
    priority: str = ""
    camera_id: uuid.UUID | None = None
    unit_id: uuid.UUID | None = None
    district_code: str = ""
    overdue: bool | None = None
    opened_from: datetime | None = None
    opened_to: datetime | None = None


def _uuid(value: str, name: str, problems: list[FieldProblem]) -> uuid.UUID | None:
    value = value.strip()
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        problems.append(FieldProblem(name, "a UUID is expected"))
        return None


def filter_of(query: ListViolations) -> ViolationFilter:
    """The filter a list selects, or InvalidArgument naming every filter that is not valid."""
    problems: list[FieldProblem] = []
    status = query.status.strip()
    if status and status not in {s.value for s in ViolationStatus}:
        problems.append(FieldProblem("status", "new, acknowledged, in_progress, resolved or dismissed"))
    priority = query.priority.strip()
    if priority and priority not in PRIORITIES:
        problems.append(FieldProblem("priority", "critical, high, medium or low"))
    camera_id = _uuid(query.camera_id, "camera_id", problems)
    unit_id = _uuid(query.unit_id, "unit_id", problems)
    for name, value in (("opened_from", query.opened_from), ("opened_to", query.opened_to)):
        if value is not None and value.tzinfo is None:
            problems.append(FieldProblem(name, "a time with its offset"))
    if (
        not problems
        and query.opened_from is not None
        and query.opened_to is not None
        and query.opened_from >= query.opened_to
    ):
        problems.append(FieldProblem("opened_to", "after opened_from"))
    if problems:
        raise InvalidArgument("the list's filters are not valid", code="invalid_filter", fields=problems)
    return ViolationFilter(
        status=ViolationStatus(status) if status else None,
        kind=query.kind.strip(),
        priority=priority,
        camera_id=camera_id,
        unit_id=unit_id,
        district_code=query.district_code.strip(),
        overdue=query.overdue,
        opened_from=query.opened_from,
        opened_to=query.opened_to,
    )


# --- the ordered feed of activity (WatchViolations) -----------------------------------------------------


@dataclass(frozen=True)
class Gap:
    """Seqs below `upto` that were missing when a higher one was already visible: a transaction that took
    them may still commit. Only transactions in progress at that moment (`xids`) can, because each writer
    has its transaction id before it takes a seq (migration 0005): once they have all ended, every seq up to
    `upto` is settled, visible now or never."""

    upto: int
    xids: tuple[str, ...]


@dataclass
class FeedPosition:
    """Where a reader of the activity feed stands: the last seq passed on (`cursor`), every seq up to
    `settled_through` known final, and at most one gap waited on.

    `seq` comes from a sequence, so it is taken in one order and committed in another: a reader that saw 10
    and moved on would never see 9 committing a moment later. The reader therefore passes on seqs only while
    they follow each other, and stops at a gap until the gap is settled (see Gap). A client that resumes
    from a cursor this reader gave it misses nothing and sees nothing twice."""

    cursor: int
    settled_through: int = 0
    gap: Gap | None = None

    def __post_init__(self) -> None:
        self.settled_through = max(self.settled_through, self.cursor)

    def advance(self, seqs: list[int], in_progress: tuple[str, ...]) -> int:
        """How many of `seqs` (read in order after `cursor`, in one snapshot whose transactions in progress
        were `in_progress`) may be passed on now; moves the cursor past them."""
        taken = 0
        for seq in seqs:
            if seq != self.cursor + 1 and seq - 1 > self.settled_through:
                if not in_progress:  # nobody could still fill the gap
                    self.settled_through = seq - 1
                elif self.gap is None:
                    self.gap = Gap(upto=seq - 1, xids=in_progress)
                    break
                else:
                    break
            self.cursor = seq
            self.settled_through = max(self.settled_through, seq)
            taken += 1
            if self.gap is not None and self.cursor >= self.gap.upto:
                self.gap = None  # filled by rows that committed meanwhile
        return taken

    def settle(self) -> None:
        """The transactions of the gap waited on have all ended."""
        if self.gap is not None:
            self.settled_through = max(self.settled_through, self.gap.upto)
            self.gap = None


# --- opening from detections ----------------------------------------------------------------------------
#
# A detection at or above its kind's threshold opens a violation, or joins the open one of the same camera
# and kind when it lies within the join window of that violation's detections. `plan` is the rule: it takes a
# batch's sightings and the open violation of each (camera, kind) and says which violations open and which
# grow. The service carries a plan out (one statement per step for the whole batch, never one per detection).
#
# Events: every opened violation publishes `ViolationOpened`. A join appends one `joined` activity row per
# violation and batch (not per detection), and publishes `ViolationUpdated` (change `detections_joined`) only
# when the join moves the violation's last detection into a new minute: a violation seen every second
# announces itself once a minute, not sixty times, while the activity feed still records every batch.

JOIN_EVENT_EVERY = timedelta(minutes=1)
JOIN_CHANGE = "detections_joined"


@dataclass(frozen=True, slots=True)
class KindRule:
    """A detection kind as data: at or above `threshold` a detection opens (or joins) a violation."""

    kind: str
    threshold: float
    priority: str
    reaction_minutes: int


@dataclass(frozen=True, slots=True)
class DetectionKind:
    """A detection kind as the outside world reads it: its rule and its Vietnamese label."""

    kind: str
    label: str
    open_threshold: float
    priority: str
    reaction_minutes: int


@dataclass(frozen=True, slots=True)
class Sighting:
    """A stored detection as opening sees it."""

    detection_id: uuid.UUID
    camera: CameraRef
    kind: str
    occurred_at: datetime
    confidence: float


@dataclass(frozen=True, slots=True)
class OpenViolation:
    """The newest open violation of a camera and kind, as read before joining."""

    id: uuid.UUID
    camera_id: uuid.UUID
    kind: str
    first_seen_at: datetime
    last_seen_at: datetime


@dataclass
class Opening:
    """A violation this batch opens (possibly with several of the batch's detections in it)."""

    id: uuid.UUID
    camera: CameraRef
    kind: str
    priority: str
    opened_at: datetime
    react_by: datetime
    first_seen_at: datetime
    last_seen_at: datetime
    max_confidence: float
    detection_ids: list[uuid.UUID] = field(default_factory=list)


@dataclass
class Joining:
    """Detections of this batch joining a violation that was open before it."""

    id: uuid.UUID
    camera: CameraRef
    kind: str
    previous_first_seen_at: datetime
    previous_last_seen_at: datetime
    first_seen_at: datetime
    last_seen_at: datetime
    max_confidence: float
    detection_ids: list[uuid.UUID] = field(default_factory=list)

    @property
    def announced(self) -> bool:
        """Whether this join publishes ViolationUpdated: when the last detection moved into a new minute."""
        every = JOIN_EVENT_EVERY.total_seconds()
        before = int(self.previous_last_seen_at.timestamp() // every)
        return int(max(self.last_seen_at, self.previous_last_seen_at).timestamp() // every) > before


@dataclass
class Plan:
    opened: list[Opening] = field(default_factory=list)
    joined: list[Joining] = field(default_factory=list)

    def assignments(self) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """(detection id, violation id) for every sighting the plan placed."""
        pairs = [(d, o.id) for o in self.opened for d in o.detection_ids]
        pairs += [(d, j.id) for j in self.joined for d in j.detection_ids]
        return pairs


def opens(sighting: Sighting, rules: Mapping[str, KindRule]) -> bool:
    """At or above its kind's threshold a detection counts towards a violation."""
    rule = rules.get(sighting.kind)
    return rule is not None and sighting.confidence >= rule.threshold


def plan(
    sightings: Iterable[Sighting],
    open_violations: Mapping[tuple[uuid.UUID, str], OpenViolation],
    rules: Mapping[str, KindRule],
    *,
    window: timedelta,
    now: datetime,
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> Plan:
    """Which violations the sightings open and which open ones they join (sightings below their kind's
    threshold take no part). Per camera and kind, in time order: a sighting within `window` of the current
    violation's first..last detection joins it; otherwise it opens a new one, which later ones may join."""
    groups: dict[tuple[uuid.UUID, str], list[Sighting]] = defaultdict(list)
    for s in sightings:
        if opens(s, rules):
            groups[(s.camera.id, s.kind)].append(s)
    result = Plan()
    for key, group in groups.items():
        group.sort(key=lambda s: s.occurred_at)
        current: Opening | Joining | None = None
        existing = open_violations.get(key)
        if existing is not None:
            first = group[0]
            current = Joining(
                id=existing.id, camera=first.camera, kind=first.kind,
                previous_first_seen_at=existing.first_seen_at, previous_last_seen_at=existing.last_seen_at,
                first_seen_at=existing.first_seen_at, last_seen_at=existing.last_seen_at, max_confidence=0.0,
            )  # fmt: skip
        for s in group:
            if current is not None and (
                current.first_seen_at - window <= s.occurred_at <= current.last_seen_at + window
            ):
                current.first_seen_at = min(current.first_seen_at, s.occurred_at)
                current.last_seen_at = max(current.last_seen_at, s.occurred_at)
                current.max_confidence = max(current.max_confidence, s.confidence)
                current.detection_ids.append(s.detection_id)
                continue
            if isinstance(current, Joining) and current.detection_ids:
                result.joined.append(current)
            elif isinstance(current, Opening):
                result.opened.append(current)
            rule = rules[s.kind]
            current = Opening(
                id=new_id(), camera=s.camera, kind=s.kind, priority=rule.priority, opened_at=now,
                react_by=now + timedelta(minutes=rule.reaction_minutes), first_seen_at=s.occurred_at,
                last_seen_at=s.occurred_at, max_confidence=s.confidence, detection_ids=[s.detection_id],
            )  # fmt: skip
        if isinstance(current, Joining) and current.detection_ids:
            result.joined.append(current)
        elif isinstance(current, Opening):
            result.opened.append(current)
    return result


def lock_key(camera_id: uuid.UUID, kind: str) -> int:
    """A stable 64-bit advisory lock key per (camera, kind)."""
    digest = hashlib.blake2b(f"d07-violation:{camera_id}:{kind}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def opening_details(o: Opening) -> dict[str, Any]:
    """The `opened` activity row's details."""
    return {
        "camera_code": o.camera.code,
        "kind": o.kind,
        "priority": o.priority,
        "detections": len(o.detection_ids),
        "max_confidence": round(o.max_confidence, 4),
    }


def joining_details(j: Joining, violation: Violation) -> dict[str, Any]:
    """The `joined` activity row's details, with the violation as the join left it."""
    return {
        "detections": len(j.detection_ids),
        "detection_count": violation.detection_count,
        "last_seen_at": violation.last_seen_at.isoformat(),
    }
