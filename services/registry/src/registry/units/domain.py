"""Units: the agencies, enterprises and schools of the movement. Pure rules, no I/O.

Sub-kinds and the scope rules are data (tables of the registry); the rules here take them as arguments, so
changing the data changes the outcome without a release.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from d07.platform.errors import Conflict, FieldProblem, InvalidArgument, NotFound, ensure_version
from d07.platform.text import fold


class UnitKind(StrEnum):
    AGENCY = "agency"
    ENTERPRISE = "enterprise"
    SCHOOL = "school"


class UnitStatus(StrEnum):
    ACTIVE = "active"
    MERGED = "merged"
    DISSOLVED = "dissolved"


class ChangeKind(StrEnum):
    MERGE = "merge"
    SPLIT = "split"
    DISSOLVE = "dissolve"


CODE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{1,31}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9 .()-]{8,20}$")
MAX_STAFF = 1_000_000


@dataclass(frozen=True)
class SubKind:
    """A sub-kind of a kind (reference data): ('high_school', school, 'Trường trung học phổ thông')."""

    code: str
    kind: UnitKind
    label: str


@dataclass(frozen=True)
class ScopeRule:
    """Units matching every condition set here are out of scope of the safety standard."""

    code: str
    kind: UnitKind | None
    sub_kind: str | None
    staff_below: int | None
    reason: str


@dataclass(frozen=True)
class CreateUnit:
    """Command: register a unit. Also the shape of a unit's editable details (see `details_of`)."""

    code: str
    name: str
    kind: str
    district_code: str
    commune_code: str = ""
    address: str = ""
    sub_kind: str = ""
    parent_unit_id: str = ""
    parent_name: str = ""
    head_name: str = ""
    head_title: str = ""
    phone: str = ""
    email: str = ""
    staff_count: int | None = None


@dataclass(frozen=True)
class Unit:
    id: uuid.UUID
    code: str
    name: str
    kind: UnitKind
    district_code: str
    commune_code: str
    address: str
    status: UnitStatus
    version: int
    created_at: datetime
    updated_at: datetime
    sub_kind: str = ""
    sub_kind_label: str = ""
    parent_unit_id: uuid.UUID | None = None
    parent_name: str = ""
    head_name: str = ""
    head_title: str = ""
    phone: str = ""
    email: str = ""
    staff_count: int | None = None
    in_scope: bool = True
    search_name: str = ""  # the folded name, the list order (a page token holds it)


@dataclass(frozen=True)
class UnitCreated:
    """Event: a unit was registered."""

    unit: Unit


# --- creating and changing details ---------------------------------------------------------------------

# Fields an update may change (the code is the unit's identity and never changes).
UPDATABLE = frozenset(
    {
        "name", "kind", "sub_kind", "district_code", "commune_code", "address", "parent_unit_id",
        "parent_name", "head_name", "head_title", "phone", "email", "staff_count",
    }
)  # fmt: skip
# What a unit officer may keep up to date for its own unit; classification and place are the admin's,
# because they decide the unit's scope.
OFFICER_UPDATABLE = frozenset({"address", "head_name", "head_title", "phone", "email"})


@dataclass(frozen=True)
class UpdateUnit:
    """Command: change some details of a unit that the caller read at `expected_version`."""

    unit_id: uuid.UUID
    expected_version: int
    changes: Mapping[str, Any]


def _text(value: str) -> str:
    return " ".join(value.split())


def validate(
    cmd: CreateUnit,
    *,
    known_districts: frozenset[str] | None = None,
    sub_kinds: Mapping[str, SubKind] | None = None,
) -> CreateUnit:
    """The command with whitespace trimmed, or InvalidArgument naming every wrong field.

    `sub_kinds` (code -> SubKind) is the reference data; without it the sub-kind is not checked here."""
    code = cmd.code.strip().upper()
    name = _text(cmd.name)
    problems: list[FieldProblem] = []
    if not CODE.match(code):
        problems.append(FieldProblem("code", "2-32 characters: capital letters, digits, '.', '_' or '-'"))
    if not name:
        problems.append(FieldProblem("name", "the unit's name is required"))
    elif len(name) > 300:
        problems.append(FieldProblem("name", "at most 300 characters"))
    kind_ok = cmd.kind in {k.value for k in UnitKind}
    if not kind_ok:
        problems.append(FieldProblem("kind", "one of agency, enterprise, school"))
    district = cmd.district_code.strip()
    if not district:
        problems.append(FieldProblem("district_code", "the district is required"))
    elif known_districts is not None and district not in known_districts:
        problems.append(FieldProblem("district_code", f"unknown district {district!r}"))
    sub_kind = cmd.sub_kind.strip()
    if sub_kind and sub_kinds is not None:
        known = sub_kinds.get(sub_kind)
        if known is None:
            problems.append(FieldProblem("sub_kind", f"unknown sub-kind {sub_kind!r}"))
        elif kind_ok and known.kind != cmd.kind:
            problems.append(
                FieldProblem("sub_kind", f"{sub_kind} is a sub-kind of {known.kind}, not {cmd.kind}")
            )
    parent = cmd.parent_unit_id.strip()
    if parent:
        try:
            parent = str(uuid.UUID(parent))
        except ValueError:
            problems.append(FieldProblem("parent_unit_id", "a unit id (UUID) is expected"))
    email = cmd.email.strip()
    if email and not EMAIL.match(email):
        problems.append(FieldProblem("email", "not an e-mail address"))
    phone = _text(cmd.phone)
    if phone and not PHONE.match(phone):
        problems.append(FieldProblem("phone", "8-20 characters: digits, spaces, '+', '.', '-', '(' or ')'"))
    if cmd.staff_count is not None and not 0 <= cmd.staff_count <= MAX_STAFF:
        problems.append(FieldProblem("staff_count", f"between 0 and {MAX_STAFF}"))
    for field in ("address", "parent_name", "head_name", "head_title"):
        if len(getattr(cmd, field)) > 300:
            problems.append(FieldProblem(field, "at most 300 characters"))
    if problems:
        raise InvalidArgument("the unit is not valid", code="invalid_unit", fields=problems)
    return CreateUnit(
        code=code,
        name=name,
        kind=cmd.kind,
        district_code=district,
        commune_code=cmd.commune_code.strip(),
        address=_text(cmd.address),
        sub_kind=sub_kind,
        parent_unit_id=parent,
        parent_name=_text(cmd.parent_name),
        head_name=_text(cmd.head_name),
        head_title=_text(cmd.head_title),
        phone=phone,
        email=email.lower(),
        staff_count=cmd.staff_count,
    )


def details_of(unit: Unit) -> CreateUnit:
    """A unit's editable details in the shape of the command that would register it."""
    return CreateUnit(
        code=unit.code,
        name=unit.name,
        kind=unit.kind.value,
        district_code=unit.district_code,
        commune_code=unit.commune_code,
        address=unit.address,
        sub_kind=unit.sub_kind,
        parent_unit_id=str(unit.parent_unit_id) if unit.parent_unit_id else "",
        parent_name=unit.parent_name,
        head_name=unit.head_name,
        head_title=unit.head_title,
        phone=unit.phone,
        email=unit.email,
        staff_count=unit.staff_count,
    )


def apply_update(
    unit: Unit, cmd: UpdateUnit, *, sub_kinds: Mapping[str, SubKind]
) -> tuple[CreateUnit, list[str]]:
    """The unit's new details and the names of the fields that really change.

    InvalidArgument for an unknown field or a bad value, Conflict for a stale version or an ended unit.
    Whether the caller may change those fields is `forbidden_fields`' question, asked by the service."""
    unknown = sorted(set(cmd.changes) - UPDATABLE)
    if unknown:
        raise InvalidArgument(
            "these fields cannot be updated", code="not_updatable",
            fields=[FieldProblem(f, "not a field an update may change") for f in unknown],
        )  # fmt: skip
    if unit.status is not UnitStatus.ACTIVE:
        raise Conflict(f"unit {unit.code} is {unit.status.value}", code="unit_not_active")
    ensure_version(
        cmd.expected_version, unit.version, what="unit", object_id=unit.id, field="expected_version"
    )
    before = details_of(unit)
    changes = dict(cmd.changes)
    if changes.get("kind", before.kind) != before.kind and "sub_kind" not in changes:
        changes["sub_kind"] = ""  # the old sub-kind belonged to the old kind
    after = validate(dataclasses.replace(before, **changes), sub_kinds=sub_kinds)
    if after.parent_unit_id == str(unit.id):
        raise InvalidArgument(
            "a unit is not its own parent", code="invalid_unit",
            fields=[FieldProblem("parent_unit_id", "names the unit itself")],
        )  # fmt: skip
    changed = [f for f in sorted(UPDATABLE) if getattr(after, f) != getattr(before, f)]
    return after, changed


def forbidden_fields(changed: Sequence[str]) -> list[str]:
    """The changed fields a unit officer may not change."""
    return [f for f in changed if f not in OFFICER_UPDATABLE]


# --- merges, splits and dissolutions -------------------------------------------------------------------


@dataclass(frozen=True)
class StatusChange:
    """One entry of the status history: the units that ended (`from_ids`) and those that carry on."""

    id: uuid.UUID
    kind: ChangeKind
    from_ids: tuple[uuid.UUID, ...]
    to_ids: tuple[uuid.UUID, ...]
    effective_on: date
    decision: str
    note: str
    recorded_at: datetime | None = None


@dataclass(frozen=True)
class ChangeStatus:
    """Command: merge (sources into one target), split (one source into successors) or dissolve."""

    kind: ChangeKind
    from_ids: tuple[uuid.UUID, ...]
    to_ids: tuple[uuid.UUID, ...]
    effective_on: date | None
    decision: str = ""
    note: str = ""
    expected_version: int = 0  # split and dissolve: 0 means not checked

    @property
    def unit_ids(self) -> tuple[uuid.UUID, ...]:
        return self.from_ids + self.to_ids


STATUS_AFTER = {
    ChangeKind.MERGE: UnitStatus.MERGED,
    ChangeKind.SPLIT: UnitStatus.DISSOLVED,
    ChangeKind.DISSOLVE: UnitStatus.DISSOLVED,
}


def check_status_change(cmd: ChangeStatus, units: Mapping[uuid.UUID, Unit], *, today: date) -> StatusChange:
    """The history entry of a valid change, given the units it names (as they are now).

    Every unit must exist and be active and appear once; a merge has sources and exactly one target, a
    split one source and at least two successors, a dissolution one unit and no successor."""
    problems: list[FieldProblem] = []
    if len(set(cmd.unit_ids)) != len(cmd.unit_ids):
        problems.append(FieldProblem("unit_ids", "a unit appears more than once"))
    if cmd.kind is ChangeKind.MERGE:
        if not cmd.from_ids:
            problems.append(FieldProblem("source_ids", "at least one unit to merge"))
        if len(cmd.to_ids) != 1:
            problems.append(FieldProblem("target_id", "exactly one unit to merge into"))
    elif cmd.kind is ChangeKind.SPLIT:
        if len(cmd.from_ids) != 1:
            problems.append(FieldProblem("id", "exactly one unit to split"))
        if len(cmd.to_ids) < 2:
            problems.append(FieldProblem("successor_ids", "at least two successor units"))
    elif len(cmd.from_ids) != 1 or cmd.to_ids:
        problems.append(FieldProblem("id", "exactly one unit to dissolve"))
    effective = cmd.effective_on or today
    if effective > today:
        problems.append(FieldProblem("effective_on", "a change is recorded once it has taken effect"))
    if len(cmd.decision) > 200 or len(cmd.note) > 2000:
        problems.append(FieldProblem("decision", "at most 200 characters (the note at most 2000)"))
    if problems:
        raise InvalidArgument("the status change is not valid", code="invalid_status_change", fields=problems)
    for uid in cmd.unit_ids:
        unit = units.get(uid)
        if unit is None:
            raise NotFound(
                f"no unit {uid}", code="unit_not_found", resource_type="unit", resource_id=str(uid)
            )
        if unit.status is not UnitStatus.ACTIVE:
            raise Conflict(
                f"unit {unit.code} is {unit.status.value}, only active units take part",
                code="unit_not_active", resource_type="unit", resource_id=str(uid),
            )  # fmt: skip
    if cmd.expected_version and cmd.kind is not ChangeKind.MERGE:
        source = units[cmd.from_ids[0]]
        ensure_version(
            cmd.expected_version, source.version, what="unit", object_id=source.id, field="expected_version"
        )
    return StatusChange(
        id=uuid.uuid4(),
        kind=cmd.kind,
        from_ids=cmd.from_ids,
        to_ids=cmd.to_ids,
        effective_on=effective,
        decision=_text(cmd.decision),
        note=cmd.note.strip(),
    )


# --- lists ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitFilter:
    """Filters of a unit list; empty values do not filter. `words` are the folded words of the name query."""

    kind: str = ""
    sub_kind: str = ""
    district_code: str = ""
    commune_code: str = ""
    status: str = ""
    in_scope: bool | None = None
    words: tuple[str, ...] = ()
    only_unit_id: uuid.UUID | None = None

    def fingerprint(self) -> dict[str, Any]:
        """What a page token is bound to."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v not in ("", None, ())}


def unit_filter(
    *,
    kind: str = "",
    sub_kind: str = "",
    district_code: str = "",
    commune_code: str = "",
    status: str = "",
    in_scope: bool | None = None,
    query: str = "",
) -> UnitFilter:
    """A filter from request values, or InvalidArgument naming the wrong ones."""
    problems: list[FieldProblem] = []
    if kind and kind not in {k.value for k in UnitKind}:
        problems.append(FieldProblem("kind", "one of agency, enterprise, school"))
    if status and status not in {s.value for s in UnitStatus}:
        problems.append(FieldProblem("status", "one of active, merged, dissolved"))
    if len(query) > 200:
        problems.append(FieldProblem("q", "at most 200 characters"))
    if problems:
        raise InvalidArgument("the filter is not valid", code="invalid_filter", fields=problems)
    return UnitFilter(
        kind=kind,
        sub_kind=sub_kind.strip(),
        district_code=district_code.strip(),
        commune_code=commune_code.strip(),
        status=status,
        in_scope=in_scope,
        words=tuple(fold(query).split()),
    )


# --- import from a table -------------------------------------------------------------------------------

# The Vietnamese headers of a units file -> the command's fields (matched without case or diacritics).
IMPORT_HEADERS = {
    "Mã đơn vị": "code",
    "Tên đơn vị": "name",
    "Loại hình": "kind",
    "Phân loại": "sub_kind",
    "Mã quận/huyện": "district_code",
    "Mã xã/phường": "commune_code",
    "Địa chỉ": "address",
    "Cơ quan chủ quản": "parent_name",
    "Thủ trưởng": "head_name",
    "Chức vụ": "head_title",
    "Số điện thoại": "phone",
    "Email": "email",
    "Số cán bộ nhân viên": "staff_count",
    "Số CBNV": "staff_count",
}
IMPORT_REQUIRED = {"code", "name", "kind", "district_code"}
# How a problem's field is named back to the people who keep the file: by its header.
FIELD_HEADERS = {field: header for header, field in IMPORT_HEADERS.items() if header != "Số CBNV"}
KIND_WORDS = {
    "agency": UnitKind.AGENCY, "co quan": UnitKind.AGENCY,
    "enterprise": UnitKind.ENTERPRISE, "doanh nghiep": UnitKind.ENTERPRISE,
    "school": UnitKind.SCHOOL, "nha truong": UnitKind.SCHOOL, "truong hoc": UnitKind.SCHOOL,
    "co so giao duc": UnitKind.SCHOOL,
}  # fmt: skip
STAFF = re.compile(r"^\d{1,3}(\.\d{3})+$|^\d+$")


def command_from_row(values: Mapping[str, str], *, sub_kinds: Mapping[str, SubKind]) -> CreateUnit:
    """The command of one row of a units file, or InvalidArgument naming every wrong field.

    Kind and sub-kind are given as the offices write them: the Vietnamese label ("Nhà trường", "Trường
    trung học phổ thông") or the code; the staff count may carry '.' between thousands ("1.502")."""
    problems: list[FieldProblem] = []
    kind_text = values.get("kind", "")
    kind = KIND_WORDS.get(fold(kind_text))
    if kind is None:
        problems.append(FieldProblem("kind", f"{kind_text!r} is not Cơ quan, Doanh nghiệp or Nhà trường"))
    sub_text = values.get("sub_kind", "")
    sub_kind = ""
    if sub_text:
        by_label = {fold(s.label): s.code for s in sub_kinds.values()} | {c: c for c in sub_kinds}
        sub_kind = by_label.get(fold(sub_text), "")
        if not sub_kind:
            problems.append(FieldProblem("sub_kind", f"unknown sub-kind {sub_text!r}"))
    staff_text = values.get("staff_count", "")
    staff: int | None = None
    if staff_text:
        if STAFF.match(staff_text):
            staff = int(staff_text.replace(".", ""))
        else:
            problems.append(FieldProblem("staff_count", f"{staff_text!r} is not a whole number"))
    cmd = CreateUnit(
        code=values.get("code", ""),
        name=values.get("name", ""),
        kind=kind.value if kind else "",
        district_code=values.get("district_code", ""),
        commune_code=values.get("commune_code", ""),
        address=values.get("address", ""),
        sub_kind=sub_kind,
        parent_name=values.get("parent_name", ""),
        head_name=values.get("head_name", ""),
        head_title=values.get("head_title", ""),
        phone=values.get("phone", ""),
        email=values.get("email", ""),
        staff_count=staff,
    )
    try:
        valid = validate(cmd, sub_kinds=sub_kinds)
    except InvalidArgument as exc:
        named = {p.field for p in problems}
        problems += [p for p in exc.fields if p.field not in named]
    if problems:
        raise InvalidArgument("the row is not valid", code="invalid_unit", fields=problems)
    return valid
