"""The review report's period rules, pure."""

from __future__ import annotations

from datetime import date

import pytest

from d07.platform.errors import InvalidArgument
from reporting.review.domain import FIGURES, Period, figure_name, nest, parse_day, period


def test_the_previous_period_has_equal_length_and_ends_the_day_before() -> None:
    p = period(date(2014, 8, 15), date(2019, 8, 29))
    before = p.previous()
    assert p.days == 1841
    assert before == Period(date(2009, 7, 31), date(2014, 8, 14))
    assert before.days == p.days


def test_a_single_day_and_a_leap_year() -> None:
    assert period(date(2020, 3, 1), date(2020, 3, 1)).previous() == Period(
        date(2020, 2, 29), date(2020, 2, 29)
    )
    year = period(date(2021, 1, 1), date(2021, 12, 31))
    assert year.previous() == Period(date(2020, 1, 2), date(2020, 12, 31))


def test_assessment_rounds_count_by_the_calendar_years_the_period_touches() -> None:
    assert period(date(2014, 8, 15), date(2019, 8, 29)).years == (2014, 2019)
    assert period(date(2018, 1, 1), date(2018, 12, 31)).years == (2018, 2018)


def test_from_after_to_or_a_missing_end_is_invalid() -> None:
    with pytest.raises(InvalidArgument) as err:
        period(date(2019, 8, 30), date(2019, 8, 29))
    assert err.value.code == "invalid_period"
    with pytest.raises(InvalidArgument):
        period(None, date(2019, 8, 29))
    with pytest.raises(InvalidArgument):
        period(date(2019, 8, 29), None)


def test_days_are_parsed_strictly() -> None:
    assert parse_day("from", "2019-08-29") == date(2019, 8, 29)
    assert parse_day("from", None) is None
    for bad in ("29-08-2019", "2019-02-30", "2019-8-1", "20190829"):
        with pytest.raises(InvalidArgument):
            parse_day("from", bad)


def test_figures_include_the_issue_keys_and_nest_as_json_paths() -> None:
    for key in (
        "assessments.total",
        "models.in_units",
        "training.attendances",
        "cameras.planned",
        "violations.opened",
        "awards.merit.collective",
        "awards.commendation.individual",
    ):
        assert figure_name(key) == key
    with pytest.raises(InvalidArgument):
        figure_name("models.everything")
    nested = nest({name: {"value": i} for i, name in enumerate(FIGURES)})
    first = FIGURES.index("awards.merit.collective")
    assert nested["awards"] == {
        "merit": {"collective": {"value": first}, "individual": {"value": first + 1}},
        "commendation": {"collective": {"value": first + 2}, "individual": {"value": first + 3}},
    }
    assert nested["assessments"] == {"total": {"value": 0}, "passed": {"value": 1}}
