"""Pure rules of the derived criteria (no I/O): what platform data says about a unit in a year.

Three rules, named by the `criteria.derivation` column of the criterion they answer:

- `has_effective_model`: the unit hosts at least one movement model that was **effective** on at least one day
  of the year. Only the status "effective" counts (Circular 124/2021 asks for a model "hoạt động hiệu quả");
  a model merely built or consolidated does not show that it works.
- `guards_trained_in_year`: at least one guard of the unit (the unit that sent the guard when enrolled)
  **completed** a class that starts in the year and was not cancelled. An enrolment alone, or a recorded
  non-completion, is no proof of training.
- `no_confirmed_serious_violation`: no violation at a camera covering the unit, opened in the year, is
  *confirmed serious*: priority critical or high, and status in_progress or resolved, i.e. the police took
  it up and did not dismiss it. A violation still new or only acknowledged is not confirmed yet; a dismissed
  one was a false alarm.

Years are calendar years in Vietnam's time (UTC+7, no daylight saving): a violation opened on 1 January at
03:00 local time (31 December 20:00 UTC) belongs to the new year.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum

VIETNAM = timezone(timedelta(hours=7), "ICT")

HAS_EFFECTIVE_MODEL = "has_effective_model"
GUARDS_TRAINED_IN_YEAR = "guards_trained_in_year"
NO_CONFIRMED_SERIOUS_VIOLATION = "no_confirmed_serious_violation"
DERIVATIONS = (HAS_EFFECTIVE_MODEL, GUARDS_TRAINED_IN_YEAR, NO_CONFIRMED_SERIOUS_VIOLATION)


class ModelStatus(StrEnum):
    BUILT = "built"
    CONSOLIDATED = "consolidated"
    EFFECTIVE = "effective"
    INACTIVE = "inactive"


class ClassStatus(StrEnum):
    SCHEDULED = "scheduled"
    HELD = "held"
    CANCELLED = "cancelled"


class AttendanceOutcome(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    NOT_COMPLETED = "not_completed"


class ViolationStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class ViolationPriority(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


SERIOUS_PRIORITIES = frozenset({"critical", "high"})
CONFIRMED_STATUSES = frozenset({"in_progress", "resolved"})

PRIORITY_LABELS = {"critical": "khẩn cấp", "high": "cao", "medium": "trung bình", "low": "thấp"}
STATUS_LABELS = {
    "new": "mới",
    "acknowledged": "đã tiếp nhận",
    "in_progress": "đang xử lý",
    "resolved": "đã xử lý xong",
    "dismissed": "đã bác bỏ",
}


@dataclass(frozen=True)
class Source:
    """A piece of platform data a derived result rests on, shown to the verifier beside the result."""

    kind: str  # 'model' | 'attendance' | 'violation'
    id: str
    label: str


@dataclass(frozen=True)
class DerivedResult:
    """The prefilled answer of one derived criterion for a unit and a year."""

    criterion_code: str
    met: bool
    reason: str
    sources: list[Source] = field(default_factory=list)


@dataclass(frozen=True)
class ReviewFlag:
    """A finalised assessment that later platform data calls into question (it is not changed)."""

    reason: str
    source_kind: str
    source_id: str
    flagged_at: datetime
    resolved_at: datetime | None


LATE_VIOLATION_REASON = "Vi phạm nghiêm trọng được Công an xác nhận sau khi đánh giá đã hoàn tất: {label}"


# --- the read models, as the events carry them ----------------------------------------------------------


@dataclass(frozen=True)
class ModelRow:
    model_id: uuid.UUID
    unit_id: uuid.UUID | None
    name: str
    kind_label: str
    status: str
    status_on: date
    version: int


@dataclass(frozen=True)
class ClassRow:
    class_id: uuid.UUID
    title: str
    starts_on: date
    ends_on: date
    status: str
    version: int


@dataclass(frozen=True)
class AttendanceRow:
    attendance_id: uuid.UUID
    class_id: uuid.UUID
    guard_id: uuid.UUID
    unit_id: uuid.UUID
    guard_full_name: str
    outcome: str
    version: int


@dataclass(frozen=True)
class ViolationRow:
    violation_id: uuid.UUID
    unit_id: uuid.UUID | None
    camera_code: str
    kind: str
    priority: str
    status: str
    opened_at: datetime
    version: int

    def record(self) -> ViolationRecord:
        return ViolationRecord(
            self.violation_id, self.camera_code, self.kind, self.priority, self.status, self.opened_at
        )


# --- the data the rules read ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelPeriod:
    """A model in one status from `starts_on` until `ends_on` (exclusive; None: still in it)."""

    model_id: uuid.UUID
    name: str
    status: str
    starts_on: date
    ends_on: date | None


@dataclass(frozen=True)
class TrainingRecord:
    """One attendance of a guard of the unit, with its class."""

    attendance_id: uuid.UUID
    guard_full_name: str
    outcome: str
    class_title: str
    class_status: str
    starts_on: date
    ends_on: date


@dataclass(frozen=True)
class ViolationRecord:
    """A violation at a camera that covered the unit when it opened."""

    violation_id: uuid.UUID
    camera_code: str
    kind: str
    priority: str
    status: str
    opened_at: datetime


@dataclass(frozen=True)
class UnitFacts:
    """Everything the three rules may read about one unit (a repository fills it for a year)."""

    model_periods: Sequence[ModelPeriod] = ()
    training: Sequence[TrainingRecord] = ()
    violations: Sequence[ViolationRecord] = ()


# --- the rules --------------------------------------------------------------------------------------------


def year_of(moment: datetime) -> int:
    """The calendar year of a moment in Vietnam's time."""
    return moment.astimezone(VIETNAM).year


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """[start, end) of a calendar year in Vietnam's time, as aware datetimes."""
    return datetime(year, 1, 1, tzinfo=VIETNAM), datetime(year + 1, 1, 1, tzinfo=VIETNAM)


def is_confirmed_serious(priority: str, status: str) -> bool:
    """Priority critical or high, taken up by the police and not dismissed."""
    return priority in SERIOUS_PRIORITIES and status in CONFIRMED_STATUSES


def _effective_in(period: ModelPeriod, year: int) -> bool:
    first, last = date(year, 1, 1), date(year, 12, 31)
    if period.status != "effective" or period.starts_on > last:
        return False
    if period.ends_on is None:
        return True
    # Left on the day it started: it was never effective for a whole day.
    return period.ends_on > period.starts_on and period.ends_on > first


def has_effective_model(code: str, facts: UnitFacts, year: int) -> DerivedResult:
    names: dict[uuid.UUID, str] = {}
    for p in sorted(facts.model_periods, key=lambda p: (p.name, str(p.model_id), p.starts_on)):
        if _effective_in(p, year):
            names.setdefault(p.model_id, p.name)
    sources = [Source("model", str(mid), f"Mô hình «{name}»") for mid, name in names.items()]
    if sources:
        return DerivedResult(
            code, True, f"Có {len(sources)} mô hình hoạt động hiệu quả trong năm {year}", sources
        )
    return DerivedResult(
        code, False, f"Không có mô hình nào ở trạng thái hoạt động hiệu quả trong năm {year}"
    )


def _trained_in(record: TrainingRecord, year: int) -> bool:
    return (
        record.outcome == "completed" and record.class_status != "cancelled" and record.starts_on.year == year
    )


def guards_trained_in_year(code: str, facts: UnitFacts, year: int) -> DerivedResult:
    done = sorted(
        (r for r in facts.training if _trained_in(r, year)),
        key=lambda r: (r.starts_on, r.class_title, r.guard_full_name, str(r.attendance_id)),
    )
    sources = [
        Source(
            "attendance",
            str(r.attendance_id),
            f"{r.guard_full_name} hoàn thành «{r.class_title}» "
            f"({r.starts_on:%d/%m/%Y} - {r.ends_on:%d/%m/%Y})",
        )
        for r in done
    ]
    if sources:
        guards = len({r.guard_full_name for r in done})
        return DerivedResult(
            code,
            True,
            f"{guards} bảo vệ của đơn vị đã hoàn thành lớp bồi dưỡng nghiệp vụ trong năm {year}",
            sources,
        )
    return DerivedResult(
        code, False, f"Chưa có bảo vệ nào của đơn vị hoàn thành lớp bồi dưỡng nghiệp vụ trong năm {year}"
    )


def violation_label(v: ViolationRecord) -> str:
    return (
        f"Vi phạm «{v.kind}» mức {PRIORITY_LABELS.get(v.priority, v.priority)} tại camera {v.camera_code}, "
        f"{v.opened_at.astimezone(VIETNAM):%H:%M %d/%m/%Y}, {STATUS_LABELS.get(v.status, v.status)}"
    )


def no_confirmed_serious_violation(code: str, facts: UnitFacts, year: int) -> DerivedResult:
    start, end = year_bounds(year)
    offending = sorted(
        (
            v
            for v in facts.violations
            if start <= v.opened_at < end and is_confirmed_serious(v.priority, v.status)
        ),
        key=lambda v: (v.opened_at, str(v.violation_id)),
    )
    if offending:
        return DerivedResult(
            code,
            False,
            f"Có {len(offending)} vi phạm nghiêm trọng đã được Công an xác nhận tại camera giám sát đơn vị "
            f"trong năm {year}",
            [Source("violation", str(v.violation_id), violation_label(v)) for v in offending],
        )
    return DerivedResult(
        code,
        True,
        f"Không có vi phạm nghiêm trọng nào được xác nhận tại camera giám sát đơn vị trong năm {year}",
    )


Rule = Callable[[str, UnitFacts, int], DerivedResult]

RULES: dict[str, Rule] = {
    HAS_EFFECTIVE_MODEL: has_effective_model,
    GUARDS_TRAINED_IN_YEAR: guards_trained_in_year,
    NO_CONFIRMED_SERIOUS_VIOLATION: no_confirmed_serious_violation,
}


def derive_all(criteria: Sequence[tuple[str, str]], facts: UnitFacts, year: int) -> list[DerivedResult]:
    """The results of the derived criteria, given as (criterion code, derivation), in that order. A
    derivation no rule knows is skipped: the criterion stays for people to answer."""
    return [RULES[d](code, facts, year) for code, d in criteria if d in RULES]
