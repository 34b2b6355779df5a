"""Movement models (mô hình phong trào toàn dân bảo vệ an ninh Tổ quốc). Pure rules, no I/O.

A model has exactly one host: a unit of the registry, or a community (a commune, optionally a residential
area within it). Its district is derived from the host. It was built or consolidated on a date, and moves
through statuses whose history is kept.

Which models count in a period (the article's "61 models built or consolidated, 12 in units"): a model
counts once when it was registered as built or consolidated on a date within the period (`formed_on`), or
when its history records a consolidation dated within the period. Its status today does not matter: a model
built in the period and inactive since was still built in the period. `counts_in_period` is the rule; the
repository's SQL applies the same rule, and the tests hold the two to each other.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from d07.platform.errors import Conflict, FieldProblem, InvalidArgument
from d07.platform.text import fold

EARLIEST = date(1945, 1, 1)
MAX_NAME = 300
MAX_AREA = 200
MAX_TEXT = 4000


class HostType(StrEnum):
    UNIT = "unit"
    COMMUNITY = "community"


class Formation(StrEnum):
    BUILT = "built"
    CONSOLIDATED = "consolidated"


class ModelStatus(StrEnum):
    BUILT = "built"
    CONSOLIDATED = "consolidated"
    EFFECTIVE = "effective"
    INACTIVE = "inactive"


# Where a model may go from each status. A model is built once, so nothing leads back to BUILT; a lapsed
# model comes back only by being consolidated.
TRANSITIONS: Mapping[ModelStatus, frozenset[ModelStatus]] = {
    ModelStatus.BUILT: frozenset({ModelStatus.CONSOLIDATED, ModelStatus.EFFECTIVE, ModelStatus.INACTIVE}),
    ModelStatus.CONSOLIDATED: frozenset({ModelStatus.EFFECTIVE, ModelStatus.INACTIVE}),
    ModelStatus.EFFECTIVE: frozenset({ModelStatus.CONSOLIDATED, ModelStatus.INACTIVE}),
    ModelStatus.INACTIVE: frozenset({ModelStatus.CONSOLIDATED}),
}


@dataclass(frozen=True)
class ModelKind:
    """A kind of model (reference data): its code, Vietnamese label and the hosts it fits."""

    code: str
    label: str
    host_types: frozenset[HostType]


@dataclass(frozen=True)
class UnitHost:
    unit_id: uuid.UUID

    @property
    def type(self) -> HostType:
        return HostType.UNIT


@dataclass(frozen=True)
class CommunityHost:
    commune_code: str
    residential_area: str = ""

    @property
    def type(self) -> HostType:
        return HostType.COMMUNITY


Host = UnitHost | CommunityHost


@dataclass(frozen=True)
class HostInput:
    """The host as a caller gives it: a unit id or a commune code (exactly one), as text."""

    unit_id: str = ""
    commune_code: str = ""
    residential_area: str = ""


@dataclass(frozen=True)
class ModelInput:
    """Command fields of CreateModel and UpdateModel, as given."""

    name: str
    kind: str
    host: HostInput
    formation: str
    formed_on: date | None
    description: str = ""


@dataclass(frozen=True)
class ModelDraft:
    """Valid fields of a model, before the host's existence is checked against the registry."""

    name: str
    kind: str
    host: Host
    formation: Formation
    formed_on: date
    description: str


@dataclass(frozen=True)
class Model:
    id: uuid.UUID
    name: str
    kind: str
    kind_label: str
    host: Host
    host_name: str
    district_code: str
    formation: Formation
    formed_on: date
    status: ModelStatus
    status_on: date
    description: str
    version: int
    created_at: datetime
    updated_at: datetime

    @property
    def unit_id(self) -> uuid.UUID | None:
        return self.host.unit_id if isinstance(self.host, UnitHost) else None


@dataclass(frozen=True)
class StatusChange:
    """One row of a model's history; the registration has no `from_status`."""

    from_status: ModelStatus | None
    to_status: ModelStatus
    changed_on: date
    note: str
    actor: str
    recorded_at: datetime | None = None


@dataclass(frozen=True)
class Period:
    """A closed interval of days."""

    start: date
    end: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


@dataclass(frozen=True)
class ModelFilter:
    """What a list or a count selects. `q` is folded; `unit_id` also carries a unit officer's scope."""

    kind: str = ""
    status: ModelStatus | None = None
    host_type: HostType | None = None
    district_code: str = ""
    unit_id: uuid.UUID | None = None
    commune_code: str = ""
    q: str = ""
    period: Period | None = None


@dataclass(frozen=True)
class ListModels:
    """Query: the filters of a list as given (empty means any), and the page wanted."""

    kind: str = ""
    status: str = ""
    host_type: str = ""
    district_code: str = ""
    unit_id: str = ""
    commune_code: str = ""
    q: str = ""
    from_date: date | None = None
    to_date: date | None = None
    page_size: int | None = None
    page_token: str = ""


@dataclass(frozen=True)
class ModelCounts:
    total: int
    in_units: int
    in_communities: int


# --- events ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelCreated:
    model: Model


@dataclass(frozen=True)
class ModelUpdated:
    model: Model


@dataclass(frozen=True)
class ModelStatusChanged:
    model: Model
    change: StatusChange


# --- rules ----------------------------------------------------------------------------------------------


def named_host(host: HostInput) -> Host | None:
    """The host a command names when it names one well (whatever else is wrong is for `validate` to say):
    what the caller's right to write the model is checked against before the rest of the command."""
    problems: list[FieldProblem] = []
    found = _host(host, problems)
    return None if problems else found


def _host(host: HostInput, problems: list[FieldProblem]) -> Host | None:
    unit = host.unit_id.strip()
    commune = host.commune_code.strip()
    area = " ".join(host.residential_area.split())
    if unit and commune:
        problems.append(FieldProblem("host", "either a unit or a community, not both"))
        return None
    if not unit and not commune:
        problems.append(FieldProblem("host", "a host is required: a unit or a community (commune)"))
        return None
    if unit:
        if area:
            problems.append(FieldProblem("host.residential_area", "only a community host has one"))
        try:
            return UnitHost(uuid.UUID(unit))
        except ValueError:
            problems.append(FieldProblem("host.unit_id", "a UUID is expected"))
            return None
    if len(area) > MAX_AREA:
        problems.append(FieldProblem("host.residential_area", f"at most {MAX_AREA} characters"))
    return CommunityHost(commune, area)


def validate(cmd: ModelInput, *, kinds: Mapping[str, ModelKind], today: date) -> ModelDraft:
    """The command with whitespace trimmed, or InvalidArgument naming every wrong field."""
    problems: list[FieldProblem] = []
    name = " ".join(cmd.name.split())
    if not name:
        problems.append(FieldProblem("name", "the model's name is required"))
    elif len(name) > MAX_NAME:
        problems.append(FieldProblem("name", f"at most {MAX_NAME} characters"))
    host = _host(cmd.host, problems)
    kind = kinds.get(cmd.kind.strip())
    if kind is None:
        problems.append(FieldProblem("kind", f"one of {', '.join(sorted(kinds))}"))
    elif host is not None and host.type not in kind.host_types:
        fits = " or ".join(sorted(kind.host_types))
        problems.append(FieldProblem("kind", f"{kind.label} is a model of a {fits} host"))
    if cmd.formation not in {f.value for f in Formation}:
        problems.append(FieldProblem("formation", "built or consolidated"))
    if cmd.formed_on is None:
        problems.append(FieldProblem("formed_on", "the date it was built or consolidated is required"))
    elif not EARLIEST <= cmd.formed_on <= today:
        problems.append(FieldProblem("formed_on", f"between {EARLIEST.isoformat()} and today"))
    description = cmd.description.strip()
    if len(description) > MAX_TEXT:
        problems.append(FieldProblem("description", f"at most {MAX_TEXT} characters"))
    if problems or host is None or kind is None or cmd.formed_on is None:
        raise InvalidArgument("the model is not valid", code="invalid_model", fields=problems)
    return ModelDraft(name, kind.code, host, Formation(cmd.formation), cmd.formed_on, description)


def initial_status(draft: ModelDraft) -> ModelStatus:
    """A model starts in the status of how it was registered: built, or consolidated."""
    return ModelStatus(draft.formation.value)


def status_after_update(
    current: Model, draft: ModelDraft, *, first_later_change: date | None
) -> tuple[ModelStatus, date]:
    """The status and its date once `draft` replaces the model's fields.

    While the model has had no change since its registration, its status follows the (corrected) formation
    and date; afterwards the status stays, and the formation date may not move past the first change."""
    if first_later_change is None:
        return initial_status(draft), draft.formed_on
    if draft.formed_on > first_later_change:
        raise InvalidArgument(
            "the model was formed before its first status change",
            code="invalid_model",
            fields=[
                FieldProblem("formed_on", f"on or before {first_later_change.isoformat()}, its first change")
            ],
        )
    return current.status, current.status_on


def check_transition(model: Model, to: ModelStatus, *, on: date, today: date) -> None:
    """InvalidArgument for a bad date; Conflict (wrong state) when the model cannot go to `to` from here."""
    if not model.status_on <= on <= today:
        raise InvalidArgument(
            "the status change date is not valid",
            code="invalid_status_change",
            fields=[FieldProblem("changed_on", f"between {model.status_on.isoformat()} and today")],
        )
    if to not in TRANSITIONS[model.status]:
        allowed = ", ".join(sorted(TRANSITIONS[model.status])) or "none"
        raise Conflict(
            f"a model that is {model.status} cannot become {to} (allowed: {allowed})",
            code="invalid_transition",
            resource_type="model",
            resource_id=str(model.id),
        )


def period(start: date | None, end: date | None, *, required: bool) -> Period | None:
    """The period of two dates: both or neither (unless required), start on or before end."""
    if start is None and end is None and not required:
        return None
    problems: list[FieldProblem] = []
    if start is None:
        problems.append(FieldProblem("from_date", "the first day of the period is required"))
    if end is None:
        problems.append(FieldProblem("to_date", "the last day of the period is required"))
    if start is not None and end is not None and start > end:
        problems.append(FieldProblem("to_date", "on or after from_date"))
    if problems or start is None or end is None:
        raise InvalidArgument("the period is not valid", code="invalid_period", fields=problems)
    return Period(start, end)


def filter_of(query: ListModels) -> ModelFilter:
    """The filter a list query selects, or InvalidArgument naming each filter that is not valid."""
    problems: list[FieldProblem] = []
    status = query.status.strip()
    if status and status not in {s.value for s in ModelStatus}:
        problems.append(FieldProblem("status", "built, consolidated, effective or inactive"))
    host_type = query.host_type.strip()
    if host_type and host_type not in {h.value for h in HostType}:
        problems.append(FieldProblem("host_type", "unit or community"))
    unit_id: uuid.UUID | None = None
    if query.unit_id.strip():
        try:
            unit_id = uuid.UUID(query.unit_id.strip())
        except ValueError:
            problems.append(FieldProblem("unit_id", "a UUID is expected"))
    try:
        within = period(query.from_date, query.to_date, required=False)
    except InvalidArgument as exc:
        problems.extend(exc.fields)
        within = None
    if problems:
        raise InvalidArgument("the list's filters are not valid", code="invalid_filter", fields=problems)
    return ModelFilter(
        kind=query.kind.strip(),
        status=ModelStatus(status) if status else None,
        host_type=HostType(host_type) if host_type else None,
        district_code=query.district_code.strip(),
        unit_id=unit_id,
        commune_code=query.commune_code.strip(),
        q=fold(query.q),
        period=within,
    )


def counts_in_period(model: Model, history: Iterable[StatusChange], within: Period) -> bool:
    """The counting rule (see the module docstring): formed in the period, or consolidated in it later."""
    if model.formed_on in within:
        return True
    return any(
        c.from_status is not None and c.to_status == ModelStatus.CONSOLIDATED and c.changed_on in within
        for c in history
    )


def count(models: Iterable[tuple[Model, Iterable[StatusChange]]], within: Period) -> ModelCounts:
    """The figures of a period from the records: total, in units, in communities."""
    counted = [m for m, history in models if counts_in_period(m, history, within)]
    in_units = sum(1 for m in counted if isinstance(m.host, UnitHost))
    return ModelCounts(total=len(counted), in_units=in_units, in_communities=len(counted) - in_units)
