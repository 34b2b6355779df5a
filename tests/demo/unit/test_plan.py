"""The demo province's plan, pure: its own figures for the review period are the article's (times the size),
whatever the seed; the same seed makes the same province; and the records are ones the services accept."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from d07.demo import plan
from d07.demo.names import inline

ROOT = Path(__file__).resolve().parents[3]
DISTRICTS = plan.districts_from(
    json.loads((ROOT / "services/registry/data/divisions.json").read_text())["districts"]
)


@pytest.fixture(scope="module")
def province() -> plan.Province:
    return plan.generate(DISTRICTS, seed=2019, size=1)


@pytest.mark.parametrize(("seed", "size"), [(2019, 1), (7, 1), (11, 2), (3, 10)])
def test_the_review_of_the_plan_gives_the_articles_figures_times_the_size(seed: int, size: int) -> None:
    p = plan.generate(DISTRICTS, seed=seed, size=size)
    assert plan.figures(p) == {k: v * size for k, v in plan.ARTICLE.items()}


def test_the_same_seed_makes_the_same_province_and_another_seed_another() -> None:
    a, b, c = (plan.generate(DISTRICTS, seed=s) for s in (5, 5, 6))
    assert a.units == b.units
    assert a.assessments == b.assessments
    assert a.detections == b.detections
    assert [u.name for u in a.units] != [u.name for u in c.units]


def test_outside_the_period_there_is_life_too(province: plan.Province) -> None:
    later = plan.figures(province, (date(2019, 8, 30), date(2025, 12, 31)))
    assert later["models.total"] > 0
    assert later["training.classes"] > 0
    assert later["assessments.total"] == 0  # no rounds after 2018 in the demo
    assert sum(c.installed_on is not None for c in province.cameras) > 2000
    assert all(c.installed_on is None or c.installed_on > plan.PERIOD[1] for c in province.cameras)
    assert sum(not u.in_scope for u in province.units) == plan.UNITS_OUT_OF_SCOPE


def test_records_are_unique_where_the_services_require_it(province: plan.Province) -> None:
    assert len({u.code for u in province.units}) == len(province.units)
    assert len({u.name for u in province.units}) == len(province.units)
    assert len({c.code for c in province.cameras}) == len(province.cameras)
    assert len({(a.year, a.unit_code) for a in province.assessments}) == len(province.assessments)
    for c in province.classes:
        guards = [e.guard_key for e in c.enrolments]
        assert len(set(guards)) == len(guards), c.key
        assert c.capacity >= len(guards)
        assert c.ends_on >= c.starts_on
    plan_ = province.installation_plan
    assert plan_ is not None
    assert sum(plan_.district_targets.values()) == plan_.target == 3200


def test_guards_were_adults_when_they_joined(province: plan.Province) -> None:
    assert all(g.joined_on.year - g.birth_year >= 18 for g in province.guards)


def test_every_nominee_meets_the_rules_the_awards_service_checks(province: plan.Province) -> None:
    r = province.award_round
    assert r is not None
    years = range(r.period[0].year, r.period[1].year + 1)
    results: dict[str, list[bool]] = {}
    for a in province.assessments:
        if a.year in years:
            results.setdefault(a.unit_code, []).append(a.passed)
    trained = {
        e.guard_key
        for c in province.classes
        if c.starts_on <= r.period[1]
        for e in c.enrolments
        if e.completed
    }
    seen: Counter[tuple[str, str]] = Counter()
    for n in r.nominations:
        if n.recipient_kind == "collective":
            assert sum(results[n.unit_code]) >= r.min_passed_years
            seen[(n.form_code, n.unit_code)] += 1
        else:
            assert n.guard_key in trained
            assert results[n.unit_code][-1]  # the unit passed its latest assessment of the period
            seen[(n.form_code, n.guard_key or "")] += 1
    assert max(seen.values()) == 1  # nobody twice for the same form
    decided = Counter((n.form_code, n.recipient_kind) for n in r.nominations if n.decided)
    assert dict(decided) == r.quotas


def test_failures_fall_as_the_movement_takes_hold(province: plan.Province) -> None:
    failed = Counter(a.year for a in province.assessments if not a.passed)
    assert [failed[y] for y in plan.ROUND_YEARS] == list(plan.FAILED_PER_YEAR)


def test_names_are_vietnamese_with_their_diacritics(province: plan.Province) -> None:
    text = " ".join(u.name for u in province.units) + " ".join(g.full_name for g in province.guards)
    for letter in "ễđươạầ":
        assert letter in text
    assert inline("Xã Bộc Bố") == "xã Bộc Bố"
    assert inline("Thành phố Sơn Lâm") == "thành phố Sơn Lâm"


def test_a_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="size"):
        plan.generate(DISTRICTS, size=0)
