"""The derived criteria's handlers over fakes: a late confirmed serious violation flags the finalised
assessment of its unit and year (with a reason naming it) and nothing else; `derive` runs the rules over
the facts the repository gives. (The SQL that decides what a verifier saw is tested on a real database in
tests/assessment/integration/test_derived_read_models.py.)"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from assessment.derived import service
from assessment.derived.domain import LATE_VIOLATION_REASON, UnitFacts, ViolationRecord, ViolationRow
from tests.assessment.service.fakes import FakeDerivedRepository, FakeFlagRepository, FakeViolationReadModel

UNIT = uuid.UUID("5c7a1f2e-3b4d-4e6f-8a9b-0c1d2e3f4a5b")
OPENED = datetime(2025, 12, 31, 20, 0, tzinfo=UTC)  # 1 January 2026, 03:00 in Vietnam


def violation(
    status: str, *, version: int = 1, priority: str = "critical", unit: uuid.UUID | None = UNIT
) -> ViolationRow:
    return ViolationRow(
        uuid.UUID("9d0c1b2a-3f4e-4d5c-8b7a-6f5e4d3c2b1a"), unit, "CAM-00017", "fire_smoke", priority, status,
        OPENED, version,
    )  # fmt: skip


def repos() -> tuple[FakeViolationReadModel, FakeFlagRepository]:
    flags = FakeFlagRepository()
    flags.finalised[(UNIT, 2026)] = uuid.uuid4()
    return FakeViolationReadModel(), flags


async def test_a_confirmed_serious_violation_flags_the_finalised_assessment_of_its_year_once() -> None:
    read_model, flags = repos()
    await service.keep_violation(read_model, flags, violation("new"))
    await service.keep_violation(read_model, flags, violation("acknowledged", version=2))
    assert flags.raised == []  # not taken up by the police yet
    await service.keep_violation(read_model, flags, violation("in_progress", version=3))
    await service.keep_violation(read_model, flags, violation("resolved", version=4))
    await service.keep_violation(read_model, flags, violation("new"))  # a replay
    [flag] = flags.raised
    assert (flag.unit_id, flag.year, flag.source_kind) == (UNIT, 2026, "violation")
    assert flag.reason == LATE_VIOLATION_REASON.format(
        label="Vi phạm «fire_smoke» mức khẩn cấp tại camera CAM-00017, 03:00 01/01/2026, đang xử lý"
    )


@pytest.mark.parametrize(
    "row",
    [
        violation("in_progress", priority="medium"),  # not serious
        violation("dismissed"),  # a false alarm
        violation("in_progress", unit=None),  # a community camera
        violation("in_progress", unit=uuid.uuid4()),  # a unit without a finalised assessment that year
    ],
)
async def test_no_flag_without_a_confirmed_serious_violation_of_a_finalised_assessment(
    row: ViolationRow,
) -> None:
    read_model, flags = repos()
    await service.keep_violation(read_model, flags, row)
    assert flags.raised == []
    assert read_model.violations[row.violation_id] == row


async def test_a_violation_the_verifier_saw_raises_no_flag() -> None:
    _, flags = repos()
    row = violation("resolved")
    flags.seen.add(("violation", str(row.violation_id)))
    assert await service.flag_late_violation(flags, row) is None
    assert flags.raised == []


async def test_derive_runs_the_rules_over_the_facts_of_the_unit() -> None:
    reader = FakeDerivedRepository()
    record = ViolationRecord(uuid.uuid4(), "CAM-1", "fire_smoke", "high", "resolved", OPENED)
    reader.facts_of[UNIT] = UnitFacts(violations=[record])
    results = {r.criterion_code: r for r in await service.derive(reader, unit_id=UNIT, year=2026)}
    assert list(results) == ["TC2", "TC3", "TC4"]
    assert (results["TC2"].met, [s.id for s in results["TC2"].sources]) == (False, [str(record.violation_id)])
    assert (results["TC3"].met, results["TC4"].met) == (False, False)
