"""In-memory repositories and units of work of assessment's aggregates: only as much as the handlers need."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from assessment.actions.domain import ActionStatus, CorrectiveAction, NewCorrectiveAction
from assessment.actions.service import ActionsUnitOfWork
from assessment.criteria.domain import CriteriaSet, Criterion, PassRule
from assessment.derived.domain import DerivedResult, ReviewFlag, UnitFacts, ViolationRow
from assessment.known_units.domain import KnownUnit, UnitSnapshot
from assessment.known_units.service import KnownUnitsUnitOfWork
from assessment.rounds.domain import (
    Assessment,
    AssessmentFilter,
    AssessmentStatus,
    Judgement,
    OpenRound,
    ProgressRow,
    Revision,
    Round,
    SelfAnswer,
    SourceView,
    StoredAnswer,
    Verdict,
)
from assessment.rounds.service import RoundsUnitOfWork
from tests.support.uow import NOW, FakeRepository, FakeUnitOfWork

TT124 = CriteriaSet(
    "TT124-2021", 1, "Tiêu chuẩn theo Thông tư 124/2021/TT-BCA", 2022, None, PassRule.ALL_CRITERIA,
    ("agency", "enterprise", "school"),
    (
        Criterion("TC1", "Tuyên truyền", True, "evidence"),
        Criterion("TC2", "Không có vụ việc nghiêm trọng", True, "derived", "no_confirmed_serious_violation"),
        Criterion("TC3", "Bồi dưỡng bảo vệ", True, "derived", "guards_trained_in_year"),
        Criterion("TC4", "Mô hình hiệu quả", True, "derived", "has_effective_model"),
        Criterion("TC5", "Phối hợp xử lý vi phạm camera", True, "evidence"),
    ),
)  # fmt: skip
DERIVED = [(c.code, c.derivation or "") for c in TT124.criteria if c.derivation]


@dataclass(frozen=True)
class UnitInScope:
    unit_id: uuid.UUID
    code: str
    kind: str = "school"
    district_code: str = "001"
    name: str = "Trường THPT Lê Quý Đôn"


def new_assessment(
    unit_id: uuid.UUID, *, status: AssessmentStatus = AssessmentStatus.DRAFT, year: int = 2026, **kw: object
) -> Assessment:
    values: dict[str, object] = dict(
        id=uuid.uuid4(), round_id=uuid.uuid4(), unit_id=unit_id, unit_code=f"U-{unit_id.hex[:6]}",
        unit_name="Trường THPT Lê Quý Đôn", year=year, unit_kind="school", district_code="001",
        set_code=TT124.code, set_version=TT124.version, status=status, result=None, score=None,
        unmet_criteria=(), revision=0, submitted_by=None, submitted_at=None, verified_at=None,
        finalised_by=None, finalised_at=None, version=1,
    )  # fmt: skip
    values.update(kw)
    return Assessment(**values)  # type: ignore[arg-type]


# --- criteria and derived ---------------------------------------------------------------------------------


class FakeCriteriaRepository(FakeRepository):
    def __init__(self, *sets: CriteriaSet) -> None:
        self.sets = {(s.code, s.version): s for s in sets or (TT124,)}

    async def list_sets(self) -> list[CriteriaSet]:
        return list(self.sets.values())

    async def get_set(self, *, code: str, version: int) -> CriteriaSet | None:
        return self.sets.get((code, version))


class FakeDerivedRepository(FakeRepository):
    """The derived criteria of every unit are TT124's; the facts are what a test puts in `facts`."""

    def __init__(self) -> None:
        self.facts_of: dict[uuid.UUID, UnitFacts] = {}

    async def derived_criteria(self, *, unit_id: uuid.UUID, year: int) -> list[tuple[str, str]]:
        return list(DERIVED)

    async def facts(self, *, unit_id: uuid.UUID, year: int) -> UnitFacts:
        return self.facts_of.get(unit_id, UnitFacts())


class FakeReviewFlagRepository(FakeRepository):
    def __init__(self) -> None:
        self.flags: dict[uuid.UUID, list[ReviewFlag]] = {}

    async def of_assessment(self, *, assessment_id: uuid.UUID) -> list[ReviewFlag]:
        return list(self.flags.get(assessment_id, []))

    async def resolve(self, *, assessment_id: uuid.UUID) -> None:
        self.flags[assessment_id] = [
            f if f.resolved_at else replace(f, resolved_at=NOW) for f in self.flags.get(assessment_id, [])
        ]


# --- rounds and assessments -------------------------------------------------------------------------------


class FakeRoundRepository(FakeRepository):
    def __init__(self, units: list[UnitInScope] | None = None) -> None:
        self.units = list(units or [])
        self.rounds: dict[uuid.UUID, Round] = {}

    async def exists(self, *, year: int, district_code: str) -> bool:
        return any(r.year == year and r.district_code == district_code for r in self.rounds.values())

    async def open(
        self, *, round_id: uuid.UUID, cmd: OpenRound, opened_by: str
    ) -> tuple[Round, list[Assessment]]:
        made = [
            new_assessment(
                u.unit_id, round_id=round_id, year=cmd.year, unit_code=u.code, unit_name=u.name,
                unit_kind=u.kind, district_code=u.district_code,
            )
            for u in self.units
            if not cmd.district_code or u.district_code == cmd.district_code
        ]  # fmt: skip
        assert cmd.self_assessment_due is not None
        assert cmd.verification_due is not None
        round_ = Round(
            round_id, cmd.year, cmd.district_code, cmd.title, cmd.self_assessment_due, cmd.verification_due,
            "open", len(made), opened_by, NOW,
        )  # fmt: skip
        self.rounds[round_id] = round_
        return round_, made

    async def get(self, *, round_id: uuid.UUID) -> Round | None:
        return self.rounds.get(round_id)

    async def by_year(self, *, year: int = 0) -> list[Round]:
        return [r for r in self.rounds.values() if not year or r.year == year]

    async def progress(self, *, round_id: uuid.UUID) -> list[ProgressRow]:
        return []


class FakeAssessmentRepository(FakeRepository):
    def __init__(self) -> None:
        self.assessments: dict[uuid.UUID, Assessment] = {}
        self.stored: dict[uuid.UUID, dict[str, StoredAnswer]] = {}
        self.revisions: dict[uuid.UUID, list[Revision]] = {}

    def put(self, a: Assessment, answers: dict[str, StoredAnswer] | None = None) -> Assessment:
        self.assessments[a.id] = a
        self.stored[a.id] = dict(answers or {})
        return a

    def _change(self, assessment_id: uuid.UUID, **changes: object) -> None:
        a = self.assessments[assessment_id]
        self.assessments[assessment_id] = replace(a, version=a.version + 1, **changes)  # type: ignore[arg-type]

    def _answer(self, assessment_id: uuid.UUID, code: str, **changes: object) -> None:
        answers = self.stored.setdefault(assessment_id, {})
        answers[code] = replace(answers.get(code, StoredAnswer(code)), **changes)  # type: ignore[arg-type]

    async def get(self, *, assessment_id: uuid.UUID, for_update: bool = False) -> Assessment | None:
        return self.assessments.get(assessment_id)

    async def page(
        self, *, where: AssessmentFilter, after: tuple[str, uuid.UUID] | None, limit: int
    ) -> list[Assessment]:
        found = sorted(self.assessments.values(), key=lambda a: (a.unit_code, str(a.id)))
        return [a for a in found if where.unit_id in (None, a.unit_id)][:limit]

    async def answers(self, *, assessment_id: uuid.UUID) -> dict[str, StoredAnswer]:
        return dict(self.stored.get(assessment_id, {}))

    async def save_self_answers(self, *, assessment_id: uuid.UUID, answers: list[SelfAnswer]) -> None:
        for a in answers:
            self._answer(
                assessment_id, a.criterion_code, self_met=a.met, self_notes=a.notes,
                evidence_links=a.evidence_links,
            )  # fmt: skip

    async def save_verdicts(self, *, assessment_id: uuid.UUID, verdicts: list[Verdict], by: str) -> None:
        for v in verdicts:
            self._answer(
                assessment_id, v.criterion_code, verified_met=v.met, verified_notes=v.notes, verified_by=by
            )

    async def save_derived(self, *, assessment_id: uuid.UUID, results: list[DerivedResult]) -> None:
        for r in results:
            sources = tuple(SourceView(s.kind, s.id, s.label) for s in r.sources)
            self._answer(
                assessment_id, r.criterion_code, derived_met=r.met, derived_reason=r.reason,
                derived_sources=sources,
            )  # fmt: skip

    async def mark_submitted(self, *, assessment_id: uuid.UUID, by: str) -> None:
        self._change(assessment_id, status=AssessmentStatus.SUBMITTED, submitted_by=by, submitted_at=NOW)

    async def mark_verified(self, *, assessment_id: uuid.UUID, complete: bool) -> None:
        a = self.assessments[assessment_id]
        self._change(assessment_id, verified_at=(a.verified_at or NOW) if complete else None)

    async def record_result(
        self,
        *,
        assessment_id: uuid.UUID,
        judgement: Judgement,
        verdicts: dict[str, bool],
        reason: str,
        by: str,
    ) -> int:
        revision = self.assessments[assessment_id].revision + 1
        self._change(
            assessment_id, status=AssessmentStatus.FINALISED, result=judgement.result, score=judgement.score,
            unmet_criteria=judgement.unmet, revision=revision, finalised_by=by, finalised_at=NOW,
        )  # fmt: skip
        self.revisions.setdefault(assessment_id, []).append(
            Revision(revision, judgement.result, judgement.score, judgement.unmet, reason, by, NOW)
        )
        return revision

    async def history(self, *, assessment_id: uuid.UUID) -> list[Revision]:
        return list(self.revisions.get(assessment_id, []))


class FakeRoundsUnitOfWork(FakeUnitOfWork, RoundsUnitOfWork):
    def __init__(self, units: list[UnitInScope] | None = None) -> None:
        super().__init__(source="/d07/assessment")
        self.rounds = FakeRoundRepository(units)  # type: ignore[assignment]
        self.assessments = FakeAssessmentRepository()  # type: ignore[assignment]
        self.criteria = FakeCriteriaRepository()  # type: ignore[assignment]
        self.derived = FakeDerivedRepository()  # type: ignore[assignment]
        self.flags = FakeReviewFlagRepository()  # type: ignore[assignment]

    @property
    def store(self) -> FakeAssessmentRepository:
        assert isinstance(self.assessments, FakeAssessmentRepository)
        return self.assessments


# --- corrective actions -----------------------------------------------------------------------------------


class FakeActionRepository(FakeRepository):
    def __init__(self) -> None:
        self.actions: dict[uuid.UUID, CorrectiveAction] = {}
        # The unit of each assessment (the real repository joins the assessment for it).
        self.unit_of: dict[uuid.UUID, uuid.UUID] = {}

    async def add(
        self, *, action_id: uuid.UUID, assessment_id: uuid.UUID, cmd: NewCorrectiveAction, by: str
    ) -> CorrectiveAction:
        assert cmd.due_on is not None
        self.actions[action_id] = CorrectiveAction(
            action_id, assessment_id, self.unit_of[assessment_id], cmd.criterion_code, cmd.action, cmd.owner,
            cmd.due_on, ActionStatus.OPEN, by, NOW, None, None, "",
        )  # fmt: skip
        return self.actions[action_id]

    async def get(self, *, action_id: uuid.UUID, for_update: bool = False) -> CorrectiveAction | None:
        return self.actions.get(action_id)

    async def close(self, *, action_id: uuid.UUID, by: str, note: str) -> CorrectiveAction:
        closed = replace(
            self.actions[action_id],
            status=ActionStatus.CLOSED,
            closed_by=by,
            closed_at=NOW,
            closing_note=note,
        )
        self.actions[action_id] = closed
        return closed

    async def find(
        self,
        *,
        assessment_id: uuid.UUID | None,
        unit_id: uuid.UUID | None,
        status: ActionStatus | None,
        overdue_on: date | None = None,
    ) -> list[CorrectiveAction]:
        return [
            c
            for c in self.actions.values()
            if assessment_id in (None, c.assessment_id)
            and unit_id in (None, c.unit_id)
            and status in (None, c.status)
        ]


class FakeActionsUnitOfWork(FakeUnitOfWork, ActionsUnitOfWork):
    def __init__(self) -> None:
        super().__init__(source="/d07/assessment")
        self.corrective_actions = FakeActionRepository()  # type: ignore[assignment]
        self.assessments = FakeAssessmentRepository()  # type: ignore[assignment]

    def finalised(self, unit_id: uuid.UUID, *, unmet: tuple[str, ...] = ("TC2",)) -> Assessment:
        """A finalised assessment of the unit, failed on `unmet`."""
        assert isinstance(self.assessments, FakeAssessmentRepository)
        assert isinstance(self.corrective_actions, FakeActionRepository)
        a = self.assessments.put(
            new_assessment(
                unit_id, status=AssessmentStatus.FINALISED, result="failed" if unmet else "passed",
                score=Decimal("80.00"), unmet_criteria=unmet, revision=1, finalised_at=NOW,
            )
        )  # fmt: skip
        self.corrective_actions.unit_of[a.id] = unit_id
        return a

    def open_action(self, a: Assessment, *, by: str = "police-hoa") -> CorrectiveAction:
        assert isinstance(self.corrective_actions, FakeActionRepository)
        action = CorrectiveAction(
            uuid.uuid4(), a.id, a.unit_id, a.unmet_criteria[0], "Lắp thêm camera cổng sau",
            "Phòng hành chính", date(2027, 3, 1), ActionStatus.OPEN, by, NOW, None, None, "",
        )  # fmt: skip
        self.corrective_actions.actions[action.id] = action
        return action


# --- the derived criteria's read models and the units read copy ------------------------------------------


class FakeViolationReadModel(FakeRepository):
    """The violations part of the derived read models (what `keep_violation` writes and reads back)."""

    def __init__(self) -> None:
        self.violations: dict[uuid.UUID, ViolationRow] = {}

    async def upsert_violation(self, v: ViolationRow) -> None:
        kept = self.violations.get(v.violation_id)
        if kept is None or kept.version <= v.version:
            self.violations[v.violation_id] = v

    async def get_violation(self, violation_id: uuid.UUID) -> ViolationRow | None:
        return self.violations.get(violation_id)


@dataclass(frozen=True)
class Flagged:
    unit_id: uuid.UUID
    year: int
    reason: str
    source_kind: str
    source_id: str


class FakeFlagRepository(FakeReviewFlagRepository):
    """Review flags by unit and year: `finalised` holds the finalised assessment of each (unit, year), `seen`
    the sources its derived answers kept."""

    def __init__(self) -> None:
        super().__init__()
        self.finalised: dict[tuple[uuid.UUID, int], uuid.UUID] = {}
        self.seen: set[tuple[str, str]] = set()
        self.raised: list[Flagged] = []

    async def needs_review(self, *, unit_id: uuid.UUID, year: int, kind: str, source_id: str) -> bool:
        flagged = any(f.source_id == source_id and f.unit_id == unit_id for f in self.raised)
        return (unit_id, year) in self.finalised and (kind, source_id) not in self.seen and not flagged

    async def flag(
        self, *, unit_id: uuid.UUID, year: int, reason: str, source_kind: str, source_id: str
    ) -> uuid.UUID | None:
        target = self.finalised.get((unit_id, year))
        if target is not None:
            self.raised.append(Flagged(unit_id, year, reason, source_kind, source_id))
        return target


class FakeKnownUnitRepository(FakeRepository):
    def __init__(self) -> None:
        self.units: dict[uuid.UUID, UnitSnapshot] = {}

    async def upsert(self, s: UnitSnapshot) -> None:
        kept = self.units.get(s.unit.unit_id)
        if kept is None or kept.version < s.version:
            self.units[s.unit.unit_id] = s

    async def get(self, unit_id: uuid.UUID) -> KnownUnit | None:
        kept = self.units.get(unit_id)
        return kept.unit if kept else None


class FakeKnownUnitsUnitOfWork(FakeUnitOfWork, KnownUnitsUnitOfWork):
    def __init__(self) -> None:
        super().__init__(source="/d07/assessment")
        self.units = FakeKnownUnitRepository()  # type: ignore[assignment]
