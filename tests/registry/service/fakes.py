"""In-memory fakes of the registry's repositories and units of work, as much as the handlers need.

Each fake unit of work is the aggregate's real one with `FakeUnitOfWork` first among its bases (audit rows and
events recorded, state rolled back on error); each fake repository keeps its rows in plain dicts.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import date, datetime

from registry.directives.domain import Document, DocumentFields, DocumentKind, Receipt, UnitSelector
from registry.directives.service import DirectivesUnitOfWork
from registry.divisions.domain import Divisions
from registry.divisions.service import DivisionsUnitOfWork
from registry.forces.domain import DuplicateKey, ForceDetails, Guard, GuardDetails, GuardStatus, SecurityForce
from registry.forces.service import ForcesUnitOfWork
from registry.models.domain import (
    CommunityHost,
    HostType,
    Model,
    ModelDraft,
    ModelKind,
    ModelStatus,
    UnitHost,
)
from registry.models.domain import (
    StatusChange as ModelStatusChange,
)
from registry.models.service import ModelsUnitOfWork
from registry.training.domain import Attendance, ClassStatus, GuardRef, Outcome, ScheduleClass, TrainingClass
from registry.training.service import TrainingUnitOfWork
from registry.units.domain import CreateUnit, StatusChange, SubKind, Unit, UnitKind, UnitStatus
from registry.units.service import UnitsUnitOfWork
from tests.support.uow import NOW, FakeRepository, FakeUnitOfWork

# The province of the fakes: two districts, a commune in each.
DISTRICT_A, DISTRICT_B = "001", "002"
COMMUNE_A, COMMUNE_B = "00001", "00002"


class FakeDivisionRepository(FakeRepository):
    def __init__(self) -> None:
        self.districts = frozenset({DISTRICT_A, DISTRICT_B})
        self.district_of = {COMMUNE_A: DISTRICT_A, COMMUNE_B: DISTRICT_B}

        self.loaded: list[str] = []  # data file versions loaded
        self.locks = 0

    async def index(self) -> tuple[frozenset[str], dict[str, str]]:
        return self.districts, dict(self.district_of)

    async def lock_loading(self) -> None:
        self.locks += 1

    async def load(self, divisions: Divisions) -> bool:
        if divisions.version in self.loaded:
            return False
        self.loaded.append(divisions.version)
        self.districts = frozenset(d.code for d in divisions.districts)
        self.district_of = {c.code: d.code for d in divisions.districts for c in d.communes}
        return True


# --- units ------------------------------------------------------------------------------------------------


def a_unit(code: str = "", *, kind: UnitKind = UnitKind.SCHOOL, **changes: object) -> Unit:
    unit = Unit(
        id=uuid.uuid4(), code=code or f"U{uuid.uuid4().hex[:6].upper()}", name="Trường THPT Chu Văn An",
        kind=kind, district_code=DISTRICT_A, commune_code=COMMUNE_A, address="", status=UnitStatus.ACTIVE,
        version=1, created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    return dataclasses.replace(unit, **changes)  # type: ignore[arg-type]


def _unit_of(unit_id: uuid.UUID, cmd: CreateUnit, *, version: int = 1, created_at: datetime = NOW) -> Unit:
    return Unit(
        id=unit_id, code=cmd.code, name=cmd.name, kind=UnitKind(cmd.kind), district_code=cmd.district_code,
        commune_code=cmd.commune_code, address=cmd.address, status=UnitStatus.ACTIVE, version=version,
        created_at=created_at, updated_at=NOW, sub_kind=cmd.sub_kind,
        parent_unit_id=uuid.UUID(cmd.parent_unit_id) if cmd.parent_unit_id else None,
        parent_name=cmd.parent_name, head_name=cmd.head_name, head_title=cmd.head_title, phone=cmd.phone,
        email=cmd.email, staff_count=cmd.staff_count,
    )  # fmt: skip


class FakeUnitRepository(FakeRepository):
    def __init__(self) -> None:
        self.units: dict[uuid.UUID, Unit] = {}
        self.changes: list[StatusChange] = []
        self.kinds = {"high_school": SubKind("high_school", UnitKind.SCHOOL, "Trường trung học phổ thông")}

    def put(self, *units: Unit) -> None:
        self.units.update({u.id: u for u in units})

    async def sub_kinds(self) -> dict[str, SubKind]:
        return dict(self.kinds)

    async def exists(self, *, unit_id: uuid.UUID) -> bool:
        return unit_id in self.units

    async def is_ancestor(self, *, ancestor: uuid.UUID, of: uuid.UUID) -> bool:
        current: uuid.UUID | None = of
        while current is not None:
            if current == ancestor:
                return True
            unit = self.units.get(current)
            current = unit.parent_unit_id if unit else None
        return False

    async def add(self, *, unit_id: uuid.UUID, cmd: CreateUnit) -> Unit | None:
        if any(u.code == cmd.code for u in self.units.values()):
            return None
        self.units[unit_id] = _unit_of(unit_id, cmd)
        return self.units[unit_id]

    async def add_many(self, *, units: Sequence[tuple[uuid.UUID, CreateUnit]]) -> list[str]:
        added = []
        for unit_id, cmd in units:
            if await self.add(unit_id=unit_id, cmd=cmd) is not None:
                added.append(cmd.code)
        return added

    async def update(self, *, unit: Unit, details: CreateUnit) -> Unit | None:
        current = self.units.get(unit.id)
        if current is None or current.version != unit.version:
            return None
        updated = _unit_of(unit.id, dataclasses.replace(details, code=unit.code), version=unit.version + 1)
        self.units[unit.id] = updated
        return updated

    async def get(self, *, unit_id: uuid.UUID) -> Unit | None:
        return self.units.get(unit_id)

    async def get_many(self, *, unit_ids: Sequence[uuid.UUID], for_update: bool = False) -> list[Unit]:
        return [self.units[u] for u in unit_ids if u in self.units]

    async def existing_codes(self, *, codes: Sequence[str]) -> set[str]:
        return {u.code for u in self.units.values()} & set(codes)

    async def add_status_change(self, change: StatusChange) -> StatusChange:
        recorded = dataclasses.replace(change, recorded_at=NOW)
        self.changes.append(recorded)
        return recorded

    async def set_status(self, *, unit_ids: Sequence[uuid.UUID], status: UnitStatus) -> None:
        for uid in unit_ids:
            unit = self.units[uid]
            self.units[uid] = dataclasses.replace(unit, status=status, version=unit.version + 1)


class FakeUnitsUnitOfWork(FakeUnitOfWork, UnitsUnitOfWork):
    def __init__(self) -> None:
        super().__init__(source="/d07/registry")
        self.units = FakeUnitRepository()  # type: ignore[assignment]
        self.divisions = FakeDivisionRepository()  # type: ignore[assignment]


# --- security forces and guards -----------------------------------------------------------------------------


def a_guard(unit_id: uuid.UUID, **changes: object) -> Guard:
    guard = Guard(
        id=uuid.uuid4(), unit_id=unit_id, full_name="Nguyễn Văn An", birth_year=1985, position="Tổ trưởng",
        phone="", status=GuardStatus.ACTIVE, joined_on=None, left_on=None, version=1, created_at=NOW,
        updated_at=NOW,
    )  # fmt: skip
    return dataclasses.replace(guard, **changes)  # type: ignore[arg-type]


def a_force(unit_id: uuid.UUID, **changes: object) -> SecurityForce:
    force = SecurityForce(
        id=uuid.uuid4(), unit_id=unit_id, established_on=date(2015, 3, 1), planned_size=8, actual_size=0,
        leader_name="", leader_phone="", version=1, created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    return dataclasses.replace(force, **changes)  # type: ignore[arg-type]


class FakeForceRepository(FakeRepository):
    def __init__(self) -> None:
        self.units: dict[str, uuid.UUID] = {}  # code -> id
        self.forces: dict[uuid.UUID, SecurityForce] = {}  # by unit id
        self.guards: dict[uuid.UUID, Guard] = {}

    def add_unit(self, code: str) -> uuid.UUID:
        self.units[code] = uuid.uuid4()
        return self.units[code]

    async def unit_exists(self, *, unit_id: uuid.UUID) -> bool:
        return unit_id in self.units.values()

    async def units_by_code(self, *, codes: Sequence[str]) -> dict[str, uuid.UUID]:
        return {c: u for c, u in self.units.items() if c in codes}

    async def add_force(
        self, *, force_id: uuid.UUID, unit_id: uuid.UUID, details: ForceDetails
    ) -> SecurityForce | None:
        if unit_id in self.forces:
            return None
        assert details.established_on is not None
        self.forces[unit_id] = SecurityForce(
            force_id, unit_id, details.established_on, details.planned_size, 0, details.leader_name,
            details.leader_phone, 1, NOW, NOW,
        )  # fmt: skip
        return self.forces[unit_id]

    async def get_force(self, *, unit_id: uuid.UUID, for_update: bool = False) -> SecurityForce | None:
        return self.forces.get(unit_id)

    async def update_force(self, *, unit_id: uuid.UUID, details: ForceDetails) -> SecurityForce:
        force = self.forces[unit_id]
        self.forces[unit_id] = dataclasses.replace(
            force, established_on=details.established_on or force.established_on,
            planned_size=details.planned_size, leader_name=details.leader_name,
            leader_phone=details.leader_phone, version=force.version + 1,
        )  # fmt: skip
        return self.forces[unit_id]

    async def add_guards(self, *, guards: Sequence[tuple[uuid.UUID, uuid.UUID, GuardDetails]]) -> list[Guard]:
        added = []
        for guard_id, unit_id, d in guards:
            guard = a_guard(
                unit_id, id=guard_id, full_name=d.full_name, birth_year=d.birth_year, position=d.position,
                phone=d.phone, joined_on=d.joined_on,
            )  # fmt: skip
            self.guards[guard_id] = guard
            added.append(guard)
        return added

    async def get_guard(self, *, guard_id: uuid.UUID, for_update: bool = False) -> Guard | None:
        return self.guards.get(guard_id)

    async def update_guard(self, *, guard_id: uuid.UUID, details: GuardDetails) -> Guard:
        guard = self.guards[guard_id]
        self.guards[guard_id] = dataclasses.replace(
            guard, full_name=details.full_name, birth_year=details.birth_year, position=details.position,
            phone=details.phone, joined_on=details.joined_on, version=guard.version + 1,
        )  # fmt: skip
        return self.guards[guard_id]

    async def mark_left(self, *, guard_id: uuid.UUID, left_on: date) -> Guard:
        guard = self.guards[guard_id]
        self.guards[guard_id] = dataclasses.replace(
            guard, status=GuardStatus.LEFT, left_on=left_on, version=guard.version + 1
        )
        return self.guards[guard_id]

    async def registered_keys(self, *, unit_ids: Sequence[uuid.UUID]) -> dict[DuplicateKey, uuid.UUID]:
        return {}


class FakeForcesUnitOfWork(FakeUnitOfWork, ForcesUnitOfWork):
    def __init__(self) -> None:
        super().__init__(source="/d07/registry")
        self.forces = FakeForceRepository()  # type: ignore[assignment]


# --- training -----------------------------------------------------------------------------------------------


def a_class(**changes: object) -> TrainingClass:
    cls = TrainingClass(
        id=uuid.uuid4(), title="Lớp bồi dưỡng nghiệp vụ bảo vệ", organiser="Công an tỉnh",
        starts_on=date(2026, 12, 10), ends_on=date(2026, 12, 12), place="Hội trường", capacity=30,
        district_code=DISTRICT_A, status=ClassStatus.SCHEDULED, enrolled=0, cancel_reason="", version=1,
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    return dataclasses.replace(cls, **changes)  # type: ignore[arg-type]


class FakeTrainingRepository(FakeRepository):
    def __init__(self) -> None:
        self.classes: dict[uuid.UUID, TrainingClass] = {}
        self.guards: dict[uuid.UUID, GuardRef] = {}
        self.attendances: dict[tuple[uuid.UUID, uuid.UUID], Attendance] = {}

    def add_guard(self, unit_id: uuid.UUID, *, status: str = "active") -> uuid.UUID:
        guard = GuardRef(uuid.uuid4(), unit_id, "Nguyễn Văn An", status)
        self.guards[guard.id] = guard
        return guard.id

    def _counted(self, cls: TrainingClass) -> TrainingClass:
        enrolled = sum(1 for c, _ in self.attendances if c == cls.id)
        return dataclasses.replace(cls, enrolled=enrolled)

    async def add_class(self, *, class_id: uuid.UUID, cmd: ScheduleClass) -> TrainingClass:
        assert cmd.starts_on is not None
        assert cmd.ends_on is not None
        self.classes[class_id] = a_class(
            id=class_id, title=cmd.title, organiser=cmd.organiser, starts_on=cmd.starts_on,
            ends_on=cmd.ends_on,
            place=cmd.place, capacity=cmd.capacity, district_code=cmd.district_code,
        )  # fmt: skip
        return self.classes[class_id]

    async def get_class(self, *, class_id: uuid.UUID, lock: str = "") -> TrainingClass | None:
        cls = self.classes.get(class_id)
        return self._counted(cls) if cls else None

    async def save_class(self, cls: TrainingClass) -> TrainingClass:
        self.classes[cls.id] = dataclasses.replace(cls, version=cls.version + 1)
        return self._counted(self.classes[cls.id])

    async def has_completions(self, *, class_id: uuid.UUID) -> bool:
        return any(
            c == class_id and a.outcome is not Outcome.PENDING for (c, _), a in self.attendances.items()
        )

    async def guards_for_enrolment(self, *, guard_ids: Sequence[uuid.UUID]) -> list[GuardRef]:
        return [self.guards[g] for g in guard_ids if g in self.guards]

    async def enrolled_among(self, *, class_id: uuid.UUID, guard_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        return {g for c, g in self.attendances if c == class_id and g in guard_ids}

    async def add_attendances(self, *, class_id: uuid.UUID, guards: Sequence[GuardRef]) -> list[Attendance]:
        added = []
        for guard in guards:
            att = Attendance(
                uuid.uuid4(), class_id, guard.id, guard.unit_id, guard.full_name, Outcome.PENDING, "", 1, NOW,
                None,
            )  # fmt: skip
            self.attendances[(class_id, guard.id)] = att
            added.append(att)
        return added

    async def get_attendance(
        self, *, class_id: uuid.UUID, guard_id: uuid.UUID, for_update: bool = False
    ) -> Attendance | None:
        return self.attendances.get((class_id, guard_id))

    async def save_completion(self, *, attendance_id: uuid.UUID, outcome: Outcome, result: str) -> Attendance:
        [key] = [k for k, a in self.attendances.items() if a.id == attendance_id]
        att = self.attendances[key]
        self.attendances[key] = dataclasses.replace(
            att, outcome=outcome, result=result, version=att.version + 1, completion_recorded_at=NOW
        )
        return self.attendances[key]


class FakeTrainingUnitOfWork(FakeUnitOfWork, TrainingUnitOfWork):
    def __init__(self) -> None:
        super().__init__(source="/d07/registry")
        self.training = FakeTrainingRepository()  # type: ignore[assignment]
        self.divisions = FakeDivisionRepository()  # type: ignore[assignment]


# --- models -------------------------------------------------------------------------------------------------


class FakeModelRepository(FakeRepository):
    def __init__(self) -> None:
        both = frozenset({HostType.UNIT, HostType.COMMUNITY})
        self.model_kinds = {"safe_school": ModelKind("safe_school", "Trường học an toàn", both)}
        self.unit_districts: dict[uuid.UUID, str] = {}
        self.models: dict[uuid.UUID, Model] = {}
        self.changes: dict[uuid.UUID, list[ModelStatusChange]] = {}

    def add_unit(self, district_code: str = DISTRICT_A) -> uuid.UUID:
        unit_id = uuid.uuid4()
        self.unit_districts[unit_id] = district_code
        return unit_id

    async def kinds(self) -> dict[str, ModelKind]:
        return dict(self.model_kinds)

    async def unit_district(self, *, unit_id: uuid.UUID) -> str | None:
        return self.unit_districts.get(unit_id)

    async def commune_district(self, *, commune_code: str) -> str | None:
        return {COMMUNE_A: DISTRICT_A, COMMUNE_B: DISTRICT_B}.get(commune_code)

    async def add(
        self, *, model_id: uuid.UUID, draft: ModelDraft, district_code: str, status: ModelStatus, actor: str
    ) -> Model:
        self.models[model_id] = Model(
            id=model_id, name=draft.name, kind=draft.kind, kind_label="", host=draft.host, host_name="",
            district_code=district_code, formation=draft.formation, formed_on=draft.formed_on, status=status,
            status_on=draft.formed_on, description=draft.description, version=1, created_at=NOW,
            updated_at=NOW,
        )  # fmt: skip
        self.changes[model_id] = [ModelStatusChange(None, status, draft.formed_on, "", actor)]
        return self.models[model_id]

    async def get(self, *, model_id: uuid.UUID, for_update: bool = False) -> Model | None:
        return self.models.get(model_id)

    async def first_later_change(self, *, model_id: uuid.UUID) -> date | None:
        later = self.changes.get(model_id, [])[1:]
        return later[0].changed_on if later else None

    async def rewrite_registration(self, *, model_id: uuid.UUID, status: ModelStatus, on: date) -> None:
        first = self.changes[model_id][0]
        self.changes[model_id][0] = dataclasses.replace(first, to_status=status, changed_on=on)

    async def update(
        self,
        *,
        model_id: uuid.UUID,
        draft: ModelDraft,
        district_code: str,
        status: ModelStatus,
        status_on: date,
    ) -> Model:
        model = self.models[model_id]
        self.models[model_id] = dataclasses.replace(
            model, name=draft.name, kind=draft.kind, host=draft.host, district_code=district_code,
            formation=draft.formation, formed_on=draft.formed_on, status=status, status_on=status_on,
            description=draft.description, version=model.version + 1,
        )  # fmt: skip
        return self.models[model_id]

    async def set_status(self, *, model_id: uuid.UUID, change: ModelStatusChange) -> Model:
        model = self.models[model_id]
        self.changes[model_id].append(change)
        self.models[model_id] = dataclasses.replace(
            model, status=change.to_status, status_on=change.changed_on, version=model.version + 1
        )
        return self.models[model_id]


class FakeModelsUnitOfWork(FakeUnitOfWork, ModelsUnitOfWork):
    def __init__(self) -> None:
        super().__init__(source="/d07/registry")
        self.models = FakeModelRepository()  # type: ignore[assignment]


def a_model(host: UnitHost | CommunityHost, **changes: object) -> Model:
    from registry.models.domain import Formation

    model = Model(
        id=uuid.uuid4(), name="Trường học an toàn", kind="safe_school", kind_label="", host=host,
        host_name="",
        district_code=DISTRICT_A, formation=Formation.BUILT, formed_on=date(2025, 5, 1),
        status=ModelStatus.BUILT, status_on=date(2025, 5, 1), description="", version=1, created_at=NOW,
        updated_at=NOW,
    )  # fmt: skip
    return dataclasses.replace(model, **changes)  # type: ignore[arg-type]


# --- directives ---------------------------------------------------------------------------------------------


def a_document(**changes: object) -> Document:
    document = Document(
        id=uuid.uuid4(), number="07/CT-BCA-V28", kind="directive", kind_label="Chỉ thị",
        title="Về tăng cường công tác bảo vệ an ninh, trật tự", issued_on=date(2014, 8, 15),
        issuer="Bộ Công an",
        summary="", link="", parent_id=None, version=1, created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    return dataclasses.replace(document, **changes)  # type: ignore[arg-type]


class FakeDocumentRepository(FakeRepository):
    def __init__(self) -> None:
        self.documents: dict[uuid.UUID, Document] = {}
        self.receipts: dict[tuple[uuid.UUID, uuid.UUID], Receipt] = {}
        self.units: dict[uuid.UUID, tuple[str, str, str]] = {}  # id -> (status, district, kind)

    def add_unit(
        self, *, status: str = "active", district: str = DISTRICT_A, kind: str = "school"
    ) -> uuid.UUID:
        unit_id = uuid.uuid4()
        self.units[unit_id] = (status, district, kind)
        return unit_id

    def put(self, document: Document) -> uuid.UUID:
        self.documents[document.id] = document
        return document.id

    async def kinds(self) -> list[DocumentKind]:
        return [DocumentKind("directive", "Chỉ thị"), DocumentKind("plan", "Kế hoạch")]

    async def add(self, *, document_id: uuid.UUID, fields: DocumentFields) -> Document | None:
        if any(d.number == fields.number for d in self.documents.values()):
            return None
        self.documents[document_id] = a_document(id=document_id, **vars(fields))
        return self.documents[document_id]

    async def get(self, *, document_id: uuid.UUID, lock: bool = False) -> Document | None:
        return self.documents.get(document_id)

    async def exists(self, *, document_id: uuid.UUID) -> bool:
        return document_id in self.documents

    async def number_taken(self, *, number: str, other_than: uuid.UUID) -> bool:
        return any(d.number == number and d.id != other_than for d in self.documents.values())

    async def descends_from(self, *, document_id: uuid.UUID, ancestor_id: uuid.UUID) -> bool:
        current: uuid.UUID | None = document_id
        while current is not None:
            if current == ancestor_id:
                return True
            document = self.documents.get(current)
            current = document.parent_id if document else None
        return False

    async def update(
        self, *, document_id: uuid.UUID, version: int, fields: DocumentFields
    ) -> Document | None:
        document = self.documents[document_id]
        if document.version != version:
            return None
        self.documents[document_id] = dataclasses.replace(document, **vars(fields), version=version + 1)
        return self.documents[document_id]

    async def unit_states(self, *, unit_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
        return {u: self.units[u][0] for u in unit_ids if u in self.units}

    def _give(self, document_id: uuid.UUID, unit_id: uuid.UUID, by: str) -> bool:
        if (document_id, unit_id) in self.receipts:
            return False
        _, district, _ = self.units[unit_id]
        self.receipts[(document_id, unit_id)] = Receipt(
            document_id, unit_id, "U", "Đơn vị", district, NOW, by, None, None, ""
        )
        return True

    async def distribute_to(
        self, *, document_id: uuid.UUID, unit_ids: Sequence[uuid.UUID], by: str
    ) -> list[uuid.UUID]:
        return [u for u in unit_ids if self._give(document_id, u, by)]

    async def distribute_matching(
        self, *, document_id: uuid.UUID, selector: UnitSelector, by: str
    ) -> tuple[list[uuid.UUID], int]:
        matched = [
            u for u, (status, district, kind) in self.units.items()
            if status == "active" and selector.district_code in ("", district) and selector.kind in ("", kind)
        ]  # fmt: skip
        return sorted(u for u in matched if self._give(document_id, u, by)), len(matched)

    async def acknowledge(self, *, document_id: uuid.UUID, unit_id: uuid.UUID, by: str, note: str) -> bool:
        receipt = self.receipts.get((document_id, unit_id))
        if receipt is None or receipt.acknowledged_at is not None:
            return False
        self.receipts[(document_id, unit_id)] = dataclasses.replace(
            receipt, acknowledged_at=NOW, acknowledged_by=by, note=note
        )
        return True

    async def receipt(self, *, document_id: uuid.UUID, unit_id: uuid.UUID) -> Receipt | None:
        return self.receipts.get((document_id, unit_id))


class FakeDirectivesUnitOfWork(FakeUnitOfWork, DirectivesUnitOfWork):
    def __init__(self) -> None:
        super().__init__(source="/d07/registry")
        self.documents = FakeDocumentRepository()  # type: ignore[assignment]
        self.divisions = FakeDivisionRepository()  # type: ignore[assignment]


class FakeDivisionsUnitOfWork(FakeUnitOfWork, DivisionsUnitOfWork):
    def __init__(self) -> None:
        super().__init__(source="/d07/registry")
        self.divisions = FakeDivisionRepository()  # type: ignore[assignment]
