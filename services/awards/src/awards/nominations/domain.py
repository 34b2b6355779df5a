"""The rules of nominations, pure: eligibility from read-model facts, the workflow's transitions, the
council's majority and the quota. Nothing here touches a database or a transport."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from d07.platform.auth import CHAIRMAN_OFFICE, POLICE
from d07.platform.errors import Conflict, FieldProblem, InvalidArgument, PermissionDenied

COLLECTIVE = "collective"
INDIVIDUAL = "individual"
RECIPIENT_KINDS = (COLLECTIVE, INDIVIDUAL)
STATUSES = ("draft", "submitted", "screened", "in_council", "decided", "rejected")
# Statuses in which a nomination still waits for a decision: a later event that breaks a rule flags them.
PENDING = ("draft", "submitted", "screened", "in_council")
SERIOUS_PRIORITIES = frozenset({"critical", "high"})
UNRESOLVED_STATUSES = frozenset({"new", "acknowledged", "in_progress"})
DEFAULT_MIN_PASSED_YEARS = 3
# The roles the award forms name as deciding (migration 0001: merit -> chairman_office, commendation ->
# police): deciding, rejecting (admin too) and revoking are refused to every other role before anything is
# read; the form's own deciding role is checked on the nomination or award itself.
DECIDING_ROLES = (CHAIRMAN_OFFICE, POLICE)


class UnitStatus(StrEnum):
    ACTIVE = "active"
    MERGED = "merged"
    DISSOLVED = "dissolved"


class AssessmentResult(StrEnum):
    PASSED = "passed"
    FAILED = "failed"


class ViolationPriority(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class ViolationStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class AttendanceOutcome(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    NOT_COMPLETED = "not_completed"


@dataclass(frozen=True)
class Quota:
    form_code: str
    recipient_kind: str
    quota: int


@dataclass(frozen=True)
class Round:
    id: uuid.UUID
    title: str
    period_start: date
    period_end: date
    nominations_open: date
    nominations_close: date
    min_passed_years: int
    require_training: bool
    council_members: tuple[str, ...]
    quotas: tuple[Quota, ...]
    # Entered from the paper records of a review held before the platform was in use: nominations are taken
    # outside the window (which is the historical one), decisions must be dated on or before today.
    historical: bool = False

    def takes_nominations_on(self, day: date) -> bool:
        return self.nominations_open <= day <= self.nominations_close

    def years(self) -> range:
        return range(self.period_start.year, self.period_end.year + 1)

    def quota_of(self, form_code: str, recipient_kind: str) -> int | None:
        for q in self.quotas:
            if q.form_code == form_code and q.recipient_kind == recipient_kind:
                return q.quota
        return None


def nomination_day(round_: Round, nominated_on: date | None, today: date) -> date:
    """The day a new nomination is dated: a live round's nominations are made today, inside its window; a
    historical round (paper records) takes nominations dated inside its window only, never today's."""
    if nominated_on is not None and nominated_on > today:
        raise InvalidArgument(
            "a nomination cannot be dated in the future", code="nomination_in_future",
            fields=[FieldProblem("nominated_on", f"on or before {today.isoformat()}")],
        )  # fmt: skip
    if not round_.historical and nominated_on not in (None, today):
        raise InvalidArgument(
            "a live round's nominations are dated the day they are made", code="nomination_date",
            fields=[FieldProblem("nominated_on", f"{today.isoformat()} or unset")],
        )  # fmt: skip
    day = nominated_on or today
    if not round_.takes_nominations_on(day):
        window = f"{round_.nominations_open.isoformat()} .. {round_.nominations_close.isoformat()}"
        raise Conflict(
            "a historical round takes nominations dated inside its window only"
            if round_.historical
            else "the nomination window is closed",
            code="window_closed", resource_type="award_round", resource_id=str(round_.id),
            fields=[FieldProblem("nominated_on", window)],
        )  # fmt: skip
    return day


def ensure_decision_day_not_ahead(decided_on: date, today: date) -> None:
    """A decision is dated on or before today (checked before anything is read)."""
    if decided_on > today:
        raise InvalidArgument(
            "a decision cannot be dated in the future", code="decision_in_future",
            fields=[FieldProblem("decided_on", f"on or before {today.isoformat()}")],
        )  # fmt: skip


def ensure_decision_day(round_: Round, nominated_on: date | None, decided_on: date, today: date) -> None:
    """A decision is dated on or before today, never before its nomination, and for a live round never
    before the round's nominations opened (a historical round's decisions follow its paper nominations)."""
    ensure_decision_day_not_ahead(decided_on, today)
    if nominated_on is not None and decided_on < nominated_on:
        raise InvalidArgument(
            "a decision cannot be dated before its nomination", code="decision_before_nomination",
            fields=[FieldProblem("decided_on", f"on or after {nominated_on.isoformat()}")],
        )  # fmt: skip
    if not round_.historical and decided_on < round_.nominations_open:
        raise InvalidArgument(
            "a decision cannot be dated before its round took nominations", code="decision_outside_window",
            fields=[FieldProblem("decided_on", f"on or after {round_.nominations_open.isoformat()}")],
        )  # fmt: skip


@dataclass(frozen=True)
class Nominee:
    recipient_kind: str
    unit_id: uuid.UUID
    guard_id: uuid.UUID | None = None
    person_name: str | None = None

    def key(self) -> str:
        """Who receives the award, for "nobody receives the same form twice in a round"."""
        if self.recipient_kind == COLLECTIVE:
            return f"unit:{self.unit_id}"
        if self.guard_id is not None:
            return f"guard:{self.guard_id}"
        return f"officer:{self.unit_id}:{' '.join((self.person_name or '').split()).casefold()}"


@dataclass(frozen=True)
class RuleOutcome:
    rule: str
    passed: bool
    reason: str
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Nomination:
    """A nomination as stored, with its council's votes counted."""

    nomination_id: uuid.UUID
    round_id: uuid.UUID
    form_code: str
    recipient_kind: str
    unit_id: uuid.UUID
    guard_id: uuid.UUID | None
    person_name: str | None
    achievements: str
    proposer: str
    status: str
    eligibility: tuple[RuleOutcome, ...] = ()
    needs_review: bool = False
    review_reason: str | None = None
    rejected_reason: str | None = None
    version: int = 1
    votes_for: int = 0
    votes_against: int = 0
    nominated_on: date | None = None

    @property
    def nominee(self) -> Nominee:
        return Nominee(self.recipient_kind, self.unit_id, self.guard_id, self.person_name)


@dataclass(frozen=True)
class Award:
    """A decided (or revoked) award: the source of its certificate."""

    id: uuid.UUID
    nomination_id: uuid.UUID
    round_id: uuid.UUID
    form_code: str
    recipient_kind: str
    unit_id: uuid.UUID
    person_name: str | None
    decision_number: str
    decided_on: date
    signer: str
    issuer: str
    status: str = "decided"
    revoked_reason: str | None = None


@dataclass(frozen=True)
class AssessmentFact:
    assessment_id: uuid.UUID
    year: int
    result: str


@dataclass(frozen=True)
class ViolationFact:
    violation_id: uuid.UUID
    priority: str
    status: str


@dataclass(frozen=True)
class GuardFact:
    guard_id: uuid.UUID
    unit_id: uuid.UUID
    full_name: str
    active: bool


def ensure_guard_of_unit(nominee: Nominee, guard: GuardFact | None) -> None:
    """The guard named belongs to the nominee's unit (as far as the registry's events have told): else the
    caller reaches another unit's guard through its own unit."""
    if guard is not None and guard.unit_id != nominee.unit_id:
        raise PermissionDenied(
            "a unit officer reaches only its own unit's guards", code="other_unit", resource_type="guard",
            resource_id=str(nominee.guard_id),
        )  # fmt: skip


@dataclass
class Facts:
    """What the read models know about a nominee, gathered by the repository."""

    assessments: list[AssessmentFact] = field(default_factory=list)
    violations: list[ViolationFact] = field(default_factory=list)
    guard: GuardFact | None = None
    completed_attendances: list[uuid.UUID] = field(default_factory=list)
    # Other nominations or awards of the same form for the same recipient in the round.
    same_form: list[str] = field(default_factory=list)


def is_unresolved_serious(priority: str, status: str) -> bool:
    return priority in SERIOUS_PRIORITIES and status in UNRESOLVED_STATUSES


def validate_nominee(nominee: Nominee) -> None:
    if nominee.recipient_kind not in RECIPIENT_KINDS:
        raise InvalidArgument(
            "unknown recipient kind",
            code="invalid_recipient_kind",
            fields=[FieldProblem("nominee.recipient_kind", "collective or individual")],
        )
    if (
        nominee.recipient_kind == INDIVIDUAL
        and nominee.guard_id is None
        and not (nominee.person_name or "").strip()
    ):
        raise InvalidArgument(
            "an individual is a registered guard or a named officer of the unit",
            code="person_required",
            fields=[FieldProblem("nominee.person_name", "a guard id or the officer's full name is required")],
        )


def evaluate(round_: Round, nominee: Nominee, facts: Facts) -> list[RuleOutcome]:
    """Every rule for the nominee with its outcome and the records behind it, in a stable order."""
    in_period = [a for a in facts.assessments if a.year in round_.years()]
    outcomes: list[RuleOutcome] = []
    if nominee.recipient_kind == COLLECTIVE:
        passed = sorted((a for a in in_period if a.result == "passed"), key=lambda a: a.year)
        failed = sorted((a for a in in_period if a.result == "failed"), key=lambda a: a.year)
        need = round_.min_passed_years
        ok = len(passed) >= need
        reason = (
            f"Đạt chuẩn an toàn về ANTT {len(passed)}/{need} năm cần có trong kỳ "
            f"{round_.period_start.isoformat()}..{round_.period_end.isoformat()}"
        )
        if not ok and failed:
            reason += "; không đạt các năm " + ", ".join(str(a.year) for a in failed)
        outcomes.append(
            RuleOutcome(
                "passed_assessments",
                ok,
                reason,
                tuple(f"assessment:{a.assessment_id}" for a in (passed if ok else failed or passed)),
            )
        )
        open_serious = [v for v in facts.violations if is_unresolved_serious(v.priority, v.status)]
        outcomes.append(
            RuleOutcome(
                "no_unresolved_serious_violation",
                not open_serious,
                "Không có vi phạm nghiêm trọng chưa xử lý"
                if not open_serious
                else f"Còn {len(open_serious)} vi phạm nghiêm trọng chưa xử lý",
                tuple(f"violation:{v.violation_id}" for v in open_serious),
            )
        )
    else:
        latest = max(in_period, key=lambda a: a.year, default=None)
        failing = latest is not None and latest.result == "failed"
        outcomes.append(
            RuleOutcome(
                "unit_not_failing",
                not failing,
                f"Đơn vị không đạt chuẩn năm {latest.year}"
                if failing and latest is not None
                else "Đơn vị không bị đánh giá không đạt ở lần gần nhất trong kỳ",
                (f"assessment:{latest.assessment_id}",) if latest is not None else (),
            )
        )
        if nominee.guard_id is not None:
            g = facts.guard
            known = g is not None and g.unit_id == nominee.unit_id
            outcomes.append(
                RuleOutcome(
                    "registered",
                    known,
                    "Bảo vệ đã đăng ký của đơn vị"
                    if known
                    else "Không có bảo vệ này trong danh sách của đơn vị",
                    (f"guard:{nominee.guard_id}",),
                )
            )
            if round_.require_training:
                trained = bool(facts.completed_attendances)
                outcomes.append(
                    RuleOutcome(
                        "trained",
                        trained,
                        "Đã hoàn thành lớp bồi dưỡng nghiệp vụ"
                        if trained
                        else "Chưa hoàn thành lớp bồi dưỡng nào",
                        tuple(f"attendance:{a}" for a in facts.completed_attendances),
                    )
                )
        else:
            # A named officer of the unit is not a guard: the registry keeps no record of them, so the rule
            # records that the person is named by the proposing unit.
            outcomes.append(
                RuleOutcome(
                    "registered", True, "Cán bộ có tên của đơn vị đề nghị", (f"unit:{nominee.unit_id}",)
                )
            )
    outcomes.append(
        RuleOutcome(
            "once_per_form",
            not facts.same_form,
            "Chưa được đề nghị hình thức này trong đợt"
            if not facts.same_form
            else "Đã được đề nghị hoặc khen thưởng hình thức này trong đợt",
            tuple(facts.same_form),
        )
    )
    return outcomes


def ensure_eligible(outcomes: list[RuleOutcome]) -> None:
    """FAILED_PRECONDITION naming every failing rule, its reason and its records."""
    failing = [o for o in outcomes if not o.passed]
    if failing:
        raise Conflict(
            "nominee does not meet: " + "; ".join(f"{o.rule} ({o.reason})" for o in failing),
            code="ineligible",
            fields=[
                FieldProblem(f"eligibility.{o.rule}", f"{o.reason} [{', '.join(o.sources) or 'no record'}]")
                for o in failing
            ],
        )


def ensure_status(nomination_id: uuid.UUID, status: str, *allowed: str) -> None:
    if status not in allowed:
        raise Conflict(
            f"nomination is {status}, expected {' or '.join(allowed)}",
            code="wrong_status",
            resource_type="nomination",
            resource_id=str(nomination_id),
        )


def majority(votes_for: int, votes_against: int, council_size: int) -> bool | None:
    """The council's outcome: True or False once a majority of the council agrees, None while undecided."""
    need = council_size // 2 + 1
    if votes_for >= need:
        return True
    if votes_against >= need or votes_against > council_size - need:
        return False
    return None


def ensure_quota(round_: Round, form_code: str, recipient_kind: str, decided: int) -> None:
    quota = round_.quota_of(form_code, recipient_kind)
    if quota is not None and decided >= quota:
        raise Conflict(
            f"quota of {quota} {form_code} awards to {recipient_kind} recipients is reached",
            code="quota_reached",
            resource_type="round",
            resource_id=str(round_.id),
        )
