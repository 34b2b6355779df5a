"""The three rules of the derived criteria as pure functions: no I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from assessment.derived.domain import (
    GUARDS_TRAINED_IN_YEAR,
    HAS_EFFECTIVE_MODEL,
    NO_CONFIRMED_SERIOUS_VIOLATION,
    ModelPeriod,
    Source,
    TrainingRecord,
    UnitFacts,
    ViolationRecord,
    derive_all,
    guards_trained_in_year,
    has_effective_model,
    is_confirmed_serious,
    no_confirmed_serious_violation,
    year_of,
)

M1, M2, A1, A2, V1, V2 = (uuid.uuid4() for _ in range(6))


def period(status: str, start: date, end: date | None, *, model: uuid.UUID = M1) -> ModelPeriod:
    return ModelPeriod(model, "Tổ tự quản về an ninh trật tự", status, start, end)


def attendance(
    outcome: str, starts_on: date, *, class_status: str = "held", aid: uuid.UUID = A1
) -> TrainingRecord:
    return TrainingRecord(
        aid, "Nguyễn Văn An", outcome, "Lớp bồi dưỡng nghiệp vụ bảo vệ", class_status, starts_on, starts_on
    )


def violation(priority: str, status: str, opened_at: datetime, *, vid: uuid.UUID = V1) -> ViolationRecord:
    return ViolationRecord(vid, "CAM-00017", "fire_smoke", priority, status, opened_at)


# --- has_effective_model ----------------------------------------------------------------------------------


def test_a_model_effective_on_any_day_of_the_year_meets_the_criterion() -> None:
    # Effective from mid-2022 until it went inactive on 1 March 2023: it counts for 2022 and 2023.
    facts = UnitFacts(model_periods=[period("effective", date(2022, 6, 1), date(2023, 3, 1))])
    for year in (2022, 2023):
        r = has_effective_model("TC4", facts, year)
        assert (r.criterion_code, r.met) == ("TC4", True)
        assert r.sources == [Source("model", str(M1), "Mô hình «Tổ tự quản về an ninh trật tự»")]
    assert not has_effective_model("TC4", facts, 2021).met
    assert not has_effective_model("TC4", facts, 2024).met


def test_a_model_still_effective_counts_for_every_later_year() -> None:
    facts = UnitFacts(model_periods=[period("effective", date(2019, 1, 1), None)])
    assert has_effective_model("TC4", facts, 2030).met
    assert not has_effective_model("TC4", facts, 2018).met


def test_built_consolidated_or_inactive_models_do_not_count() -> None:
    facts = UnitFacts(
        model_periods=[
            period("built", date(2023, 1, 1), date(2023, 5, 1)),
            period("consolidated", date(2023, 5, 1), date(2023, 9, 1)),
            period("inactive", date(2023, 9, 1), None),
        ]
    )
    r = has_effective_model("TC4", facts, 2023)
    assert (r.met, r.sources) == (False, [])
    assert "Không có mô hình" in r.reason


def test_effective_for_no_whole_day_and_ending_on_new_year_do_not_count() -> None:
    facts = UnitFacts(
        model_periods=[
            period("effective", date(2023, 4, 1), date(2023, 4, 1)),
            period("effective", date(2022, 3, 1), date(2023, 1, 1), model=M2),
        ]
    )
    assert not has_effective_model("TC4", facts, 2023).met
    assert has_effective_model("TC4", facts, 2022).sources == [
        Source("model", str(M2), "Mô hình «Tổ tự quản về an ninh trật tự»")
    ]


def test_a_model_effective_twice_in_the_year_is_one_source() -> None:
    facts = UnitFacts(
        model_periods=[
            period("effective", date(2023, 1, 1), date(2023, 2, 1)),
            period("effective", date(2023, 6, 1), None),
        ]
    )
    assert [s.id for s in has_effective_model("TC4", facts, 2023).sources] == [str(M1)]


# --- guards_trained_in_year -------------------------------------------------------------------------------


def test_a_completed_class_of_the_year_meets_the_criterion_with_the_attendance_as_source() -> None:
    facts = UnitFacts(training=[attendance("completed", date(2023, 9, 9))])
    r = guards_trained_in_year("TC3", facts, 2023)
    assert (r.met, [s.kind for s in r.sources], [s.id for s in r.sources]) == (
        True,
        ["attendance"],
        [str(A1)],
    )
    assert "Nguyễn Văn An hoàn thành «Lớp bồi dưỡng nghiệp vụ bảo vệ»" in r.sources[0].label
    assert not guards_trained_in_year("TC3", facts, 2024).met


def test_enrolment_non_completion_and_cancelled_classes_are_no_training() -> None:
    facts = UnitFacts(
        training=[
            attendance("pending", date(2023, 9, 9)),
            attendance("not_completed", date(2023, 9, 9), aid=A2),
            attendance("completed", date(2023, 10, 1), class_status="cancelled", aid=uuid.uuid4()),
        ]
    )
    r = guards_trained_in_year("TC3", facts, 2023)
    assert (r.met, r.sources) == (False, [])
    assert "Chưa có bảo vệ nào" in r.reason


# --- no_confirmed_serious_violation -----------------------------------------------------------------------


def test_the_confirmed_serious_rule() -> None:
    assert is_confirmed_serious("critical", "in_progress")
    assert is_confirmed_serious("high", "resolved")
    for priority, status in [
        ("high", "new"),
        ("high", "acknowledged"),
        ("critical", "dismissed"),
        ("medium", "resolved"),
        ("low", "in_progress"),
    ]:
        assert not is_confirmed_serious(priority, status), (priority, status)


def test_a_confirmed_serious_violation_makes_the_criterion_unmet_with_it_as_source() -> None:
    at = datetime(2023, 5, 4, 3, 0, tzinfo=UTC)
    facts = UnitFacts(
        violations=[
            violation("critical", "resolved", at),
            violation("high", "dismissed", at, vid=V2),
            violation("low", "in_progress", at, vid=uuid.uuid4()),
        ]
    )
    r = no_confirmed_serious_violation("TC2", facts, 2023)
    assert (r.met, [(s.kind, s.id) for s in r.sources]) == (False, [("violation", str(V1))])
    # The label speaks Vietnamese and local time (10:00 in Vietnam).
    assert (
        r.sources[0].label
        == "Vi phạm «fire_smoke» mức khẩn cấp tại camera CAM-00017, 10:00 04/05/2023, đã xử lý xong"
    )
    assert no_confirmed_serious_violation("TC2", facts, 2022).met


def test_only_violations_of_the_year_in_vietnam_time_count() -> None:
    # 31 Dec 2023 20:00 UTC is 1 Jan 2024 03:00 in Vietnam.
    new_year_night = datetime(2023, 12, 31, 20, 0, tzinfo=UTC)
    assert year_of(new_year_night) == 2024
    facts = UnitFacts(violations=[violation("high", "in_progress", new_year_night)])
    assert no_confirmed_serious_violation("TC2", facts, 2023).met
    assert not no_confirmed_serious_violation("TC2", facts, 2024).met


def test_without_violations_the_criterion_is_met() -> None:
    r = no_confirmed_serious_violation("TC2", UnitFacts(), 2023)
    assert (r.met, r.sources) == (True, [])


# --- the table of rules -----------------------------------------------------------------------------------


def test_derive_all_follows_the_criteria_order_and_skips_unknown_derivations() -> None:
    facts = UnitFacts(
        model_periods=[period("effective", date(2023, 1, 1), None)],
        violations=[violation("high", "in_progress", datetime(2023, 7, 1, tzinfo=UTC))],
    )
    results = derive_all(
        [
            ("TC2", NO_CONFIRMED_SERIOUS_VIOLATION),
            ("TC3", GUARDS_TRAINED_IN_YEAR),
            ("TC4", HAS_EFFECTIVE_MODEL),
            ("TC9", "something_else"),
        ],
        facts,
        2023,
    )
    assert [(r.criterion_code, r.met) for r in results] == [("TC2", False), ("TC3", False), ("TC4", True)]
