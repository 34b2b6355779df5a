"""Security forces of units and their guards. Pure rules, no I/O.

A unit has at most one security force (established on a date, with a planned size and a leader); its actual
size is not stored but counted: the unit's active guards. A guard belongs to one unit for good (one who moves
leaves here and is registered there) and carries no more personal data than the work needs: full name, birth
year, position, a phone number.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from d07.platform.errors import Conflict, FieldProblem, InvalidArgument
from d07.platform.text import fold
from registry.tabular import Row, RowProblem

MIN_BIRTH_YEAR = 1930
MIN_AGE = 16  # the youngest age at which a guard may serve (Labour Code: minors do not guard)
MAX_PLANNED_SIZE = 10_000
MAX_NAME = 200
MAX_POSITION = 100
_PHONE_SEPARATORS = re.compile(r"[\s.\-()]")
_PHONE = re.compile(r"^\+?\d{8,15}$")


class GuardStatus(StrEnum):
    ACTIVE = "active"
    LEFT = "left"


@dataclass(frozen=True)
class ForceDetails:
    """What a unit says about its force (establish and update carry the same)."""

    established_on: date | None
    planned_size: int
    leader_name: str = ""
    leader_phone: str = ""


@dataclass(frozen=True)
class GuardDetails:
    """What a unit says about a guard (register, update and import carry the same)."""

    full_name: str
    birth_year: int
    position: str = ""
    phone: str = ""
    joined_on: date | None = None

    @property
    def search_name(self) -> str:
        return fold(self.full_name)


@dataclass(frozen=True)
class SecurityForce:
    id: uuid.UUID
    unit_id: uuid.UUID
    established_on: date
    planned_size: int
    actual_size: int  # the unit's active guards, counted when read
    leader_name: str
    leader_phone: str
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Guard:
    id: uuid.UUID
    unit_id: uuid.UUID
    full_name: str
    birth_year: int
    position: str
    phone: str
    status: GuardStatus
    joined_on: date | None
    left_on: date | None
    version: int
    created_at: datetime
    updated_at: datetime


# --- events (past tense); the service turns them into the protobuf messages of the topic --------------


@dataclass(frozen=True)
class SecurityForceEstablished:
    force: SecurityForce


@dataclass(frozen=True)
class SecurityForceUpdated:
    force: SecurityForce


@dataclass(frozen=True)
class GuardRegistered:
    guard: Guard


@dataclass(frozen=True)
class GuardUpdated:
    guard: Guard


@dataclass(frozen=True)
class GuardLeft:
    guard: Guard


ForceEvent = SecurityForceEstablished | SecurityForceUpdated
GuardEvent = GuardRegistered | GuardUpdated | GuardLeft


# --- validation -------------------------------------------------------------------------------------


def _text(value: str) -> str:
    return " ".join(value.split())


def _phone(value: str, field: str, problems: list[FieldProblem]) -> str:
    """Digits (a leading + allowed) without the spaces, dots and dashes people write between them."""
    phone = _PHONE_SEPARATORS.sub("", value)
    if phone and not _PHONE.match(phone):
        problems.append(FieldProblem(field, "8-15 digits, optionally after '+'"))
    return phone


def validate_force(details: ForceDetails, *, today: date) -> ForceDetails:
    """The details normalised, or InvalidArgument naming every wrong field."""
    problems: list[FieldProblem] = []
    if details.established_on is None:
        problems.append(FieldProblem("established_on", "the date the force was established is required"))
    elif details.established_on > today:
        problems.append(FieldProblem("established_on", "must not be in the future"))
    if not 0 <= details.planned_size <= MAX_PLANNED_SIZE:
        problems.append(FieldProblem("planned_size", f"0 to {MAX_PLANNED_SIZE}"))
    leader = _text(details.leader_name)
    if len(leader) > MAX_NAME:
        problems.append(FieldProblem("leader_name", f"at most {MAX_NAME} characters"))
    phone = _phone(details.leader_phone, "leader_phone", problems)
    if problems:
        raise InvalidArgument("the security force is not valid", code="invalid_force", fields=problems)
    return replace(details, leader_name=leader, leader_phone=phone)


def validate_guard(details: GuardDetails, *, today: date) -> GuardDetails:
    """The details normalised, or InvalidArgument naming every wrong field."""
    problems: list[FieldProblem] = []
    name = _text(details.full_name)
    if not name:
        problems.append(FieldProblem("full_name", "the guard's full name is required"))
    elif len(name) > MAX_NAME:
        problems.append(FieldProblem("full_name", f"at most {MAX_NAME} characters"))
    youngest = today.year - MIN_AGE
    if not MIN_BIRTH_YEAR <= details.birth_year <= youngest:
        problems.append(FieldProblem("birth_year", f"a year from {MIN_BIRTH_YEAR} to {youngest}"))
    position = _text(details.position)
    if len(position) > MAX_POSITION:
        problems.append(FieldProblem("position", f"at most {MAX_POSITION} characters"))
    phone = _phone(details.phone, "phone", problems)
    if details.joined_on is not None:
        if details.joined_on > today:
            problems.append(FieldProblem("joined_on", "must not be in the future"))
        elif details.joined_on.year < details.birth_year + MIN_AGE:
            problems.append(FieldProblem("joined_on", f"the guard was not {MIN_AGE} yet"))
    if problems:
        raise InvalidArgument("the guard is not valid", code="invalid_guard", fields=problems)
    return replace(details, full_name=name, position=position, phone=phone)


def check_leave(guard: Guard, left_on: date | None, *, today: date) -> date:
    """The date a guard leaves on, if the guard may leave then."""
    if guard.status is GuardStatus.LEFT:
        raise Conflict(
            f"the guard left on {guard.left_on}", code="guard_already_left",
            resource_type="guard", resource_id=str(guard.id),
        )  # fmt: skip
    if left_on is None:
        reason = "the date the guard left is required"
    elif left_on > today:
        reason = "must not be in the future"
    elif guard.joined_on is not None and left_on < guard.joined_on:
        reason = f"must not be before the guard joined ({guard.joined_on})"
    else:
        return left_on
    raise InvalidArgument("the guard cannot leave then", code="invalid_left_on",
                          fields=[FieldProblem("left_on", reason)])  # fmt: skip


# --- import of guards from provincial tables --------------------------------------------------------

# The headers of a guards table as provincial offices write them (matched loosely by registry.tabular);
# for a field with several headers, the last one is the name used in problems.
GUARD_HEADERS = {
    "Mã đơn vị": "unit_code",
    "Họ tên": "full_name",
    "Họ và tên": "full_name",
    "Năm sinh": "birth_year",
    "Chức vụ": "position",
    "Điện thoại": "phone",
    "SĐT": "phone",
    "Số điện thoại": "phone",
    "Ngày vào làm": "joined_on",
}
GUARD_REQUIRED = {"unit_code", "full_name", "birth_year"}
LABELS = {field: header for header, field in GUARD_HEADERS.items()}
_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S")

DuplicateKey = tuple[uuid.UUID, str, int]  # unit, folded name, birth year


@dataclass(frozen=True)
class ImportedGuard:
    """One valid row of a guards table."""

    line: int
    unit_id: uuid.UUID
    details: GuardDetails


def parse_date(text: str) -> date | None:
    """A date as tables write it (day first, or ISO; XLSX date cells read as 'YYYY-MM-DD 00:00:00')."""
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _read_row(
    row: Row, *, units_by_code: Mapping[str, uuid.UUID], allowed_unit: uuid.UUID | None, today: date
) -> tuple[uuid.UUID | None, GuardDetails, dict[str, str]]:
    """One row's unit and guard details, and its problems by field (the first problem of each cell)."""
    found: dict[str, str] = {}
    code = row.values.get("unit_code", "").strip().upper()
    unit_id = units_by_code.get(code)
    if not code:
        found["unit_code"] = "the unit's code is required"
    elif unit_id is None:
        found["unit_code"] = f"unknown unit code {code!r}"
    elif allowed_unit is not None and unit_id != allowed_unit:
        found["unit_code"] = "a unit officer imports its own unit's guards only"
    year_text = row.values.get("birth_year", "")
    if not year_text.isdigit():
        found["birth_year"] = f"a year is expected, not {year_text!r}"
    joined_text = row.values.get("joined_on", "")
    joined_on = parse_date(joined_text) if joined_text else None
    if joined_text and joined_on is None:
        found["joined_on"] = f"a date such as 15/08/2014, not {joined_text!r}"
    details = GuardDetails(
        full_name=row.values.get("full_name", ""),
        birth_year=int(year_text) if year_text.isdigit() else 0,
        position=row.values.get("position", ""),
        phone=row.values.get("phone", ""),
        joined_on=joined_on,
    )
    try:
        details = validate_guard(details, today=today)
    except InvalidArgument as exc:
        for p in exc.fields:
            found.setdefault(p.field, p.reason)
    return unit_id, details, found


def parse_guard_rows(
    rows: Sequence[Row],
    *,
    units_by_code: Mapping[str, uuid.UUID],
    allowed_unit: uuid.UUID | None,
    registered: Mapping[DuplicateKey, uuid.UUID],
    today: date,
) -> tuple[list[ImportedGuard], list[RowProblem]]:
    """Every row checked: the valid guards, and every problem by line and header.

    `units_by_code` are the known units (codes upper case); `allowed_unit` is the one unit a unit officer may
    import into (None: any); `registered` are the active guards already registered, by unit, folded name and
    birth year, so that a file imported twice, or a row repeated, is refused instead of doubling guards.
    """
    guards: list[ImportedGuard] = []
    problems: list[RowProblem] = []
    seen: dict[DuplicateKey, int] = {}
    for row in rows:
        unit_id, details, found = _read_row(
            row, units_by_code=units_by_code, allowed_unit=allowed_unit, today=today
        )
        if unit_id is not None and not found:
            key = (unit_id, details.search_name, details.birth_year)
            if key in seen:
                found["full_name"] = f"the same guard as line {seen[key]}"
            elif key in registered:
                found["full_name"] = f"already registered as guard {registered[key]}"
            else:
                seen[key] = row.line
                guards.append(ImportedGuard(row.line, unit_id, details))
        problems += [RowProblem(row.line, LABELS[field], reason) for field, reason in found.items()]
    return guards, problems
