"""The review report's kinds of figures, rates and breakdowns, pure."""

from __future__ import annotations

import pytest

from d07.platform.errors import InvalidArgument
from reporting.review.domain import (
    BREAKDOWNS,
    FIGURES,
    QUANTITIES,
    RATES,
    Entry,
    breakdown_entries,
    breakdown_filter,
    breakdown_name,
    is_quantity,
    nest,
    per_hour,
    uptime,
)


def test_online_hours_and_detections_are_the_quantities_and_every_other_figure_is_a_count() -> None:
    assert dict(QUANTITIES) == {"cameras.online_hours": "hours", "violations.detections": "detections"}
    counts = [f for f in FIGURES if not is_quantity(f)]
    assert "cameras.online" in counts
    assert "violations.opened" in counts
    assert len(counts) == len(FIGURES) - 2
    # The detections stand right after the violations they are behind.
    assert FIGURES.index("violations.detections") == FIGURES.index("violations.opened") + 1
    # Only counts are split: a breakdown's entries add up to a number of records.
    assert all(not is_quantity(figure) for figure, _ in BREAKDOWNS)


def test_uptime_is_a_ratio_to_four_decimals_and_absent_when_nothing_was_installed() -> None:
    assert uptime(78000, 1_555_200) == 0.0502
    assert uptime(12000, 1_814_400) == 0.0066
    assert uptime(86400, 86400) == 1.0
    assert uptime(0, 86400) == 0.0
    assert uptime(0, 0) is None
    assert uptime(3600, 0) is None  # online time but no installed camera: no ratio, never a division by zero


def test_violations_per_online_hour_is_absent_without_a_whole_hour_online() -> None:
    assert per_hour(3, 2) == 1.5
    assert per_hour(0, 25) == 0.0
    assert per_hour(4, 0) is None
    assert per_hour(0, 0) is None


def test_breakdown_entries_stand_beside_the_previous_period_in_key_order() -> None:
    entries = breakdown_entries("kind", {"intrusion": 2, "fire_smoke": 1}, {"crowd": 4, "intrusion": 1})
    assert entries == [
        Entry("crowd", "Tụ tập đông người", 0, 4),
        Entry("fire_smoke", "Cháy, khói", 1, 0),
        Entry("intrusion", "Xâm nhập trái phép", 2, 1),
    ]
    assert breakdown_entries("kind", {"new_kind": 1}, {}) == [Entry("new_kind", "new_kind", 1, 0)]
    districts = breakdown_entries("district", {"005": 3, "unknown": 1}, {"001": 2})
    assert [(e.key, e.label) for e in districts] == [
        ("001", "001"),
        ("005", "005"),
        ("unknown", "Chưa rõ huyện"),
    ]
    assert breakdown_entries("district", {}, {}) == []


def test_breakdowns_and_rates_nest_beside_the_figures_under_their_json_names() -> None:
    assert [breakdown_name(f, d) for f, d in BREAKDOWNS] == ["violations.by_kind", "violations.by_district"]
    assert RATES == ("cameras.uptime", "violations.per_camera_online_hour")
    nested = nest(
        {
            "violations.opened": {"value": 3, "previous": 0},
            "violations.per_camera_online_hour": {"value": 1.5, "previous": None},
            "violations.by_kind": {"intrusion": {"label": "Xâm nhập trái phép", "value": 2, "previous": 0}},
            "cameras.uptime": {"value": None, "previous": None},
        }
    )
    assert nested == {
        "violations": {
            "opened": {"value": 3, "previous": 0},
            "per_camera_online_hour": {"value": 1.5, "previous": None},
            "by_kind": {"intrusion": {"label": "Xâm nhập trái phép", "value": 2, "previous": 0}},
        },
        "cameras": {"uptime": {"value": None, "previous": None}},
    }


def test_a_drill_down_into_a_breakdown_entry_needs_a_dimension_of_the_figure_and_a_key() -> None:
    assert breakdown_filter("violations.opened", "", "") is None
    assert breakdown_filter("models.total", "", "") is None
    assert breakdown_filter("violations.opened", "kind", "intrusion") == ("kind", "intrusion")
    assert breakdown_filter("violations.opened", "district", "005") == ("district", "005")
    for figure, dimension, key, field in (
        ("violations.opened", "kind", "", "key"),
        ("violations.opened", "", "intrusion", "dimension"),
        ("violations.opened", "unit", "x", "dimension"),
        ("violations.resolved", "kind", "intrusion", "dimension"),
        ("cameras.online_hours", "district", "005", "dimension"),
    ):
        with pytest.raises(InvalidArgument) as err:
            breakdown_filter(figure, dimension, key)
        assert err.value.code == "invalid_breakdown"
        assert [f.field for f in err.value.fields] == [field]
