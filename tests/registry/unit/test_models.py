"""Movement models, pure rules: hosts, status transitions, the counting rule."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from d07.platform.errors import Conflict, InvalidArgument
from registry.models.domain import (
    CommunityHost,
    Formation,
    HostInput,
    HostType,
    ListModels,
    Model,
    ModelCounts,
    ModelInput,
    ModelKind,
    ModelStatus,
    Period,
    StatusChange,
    UnitHost,
    check_transition,
    count,
    counts_in_period,
    filter_of,
    initial_status,
    period,
    status_after_update,
    validate,
)

TODAY = date(2019, 8, 29)
BOTH = frozenset({HostType.UNIT, HostType.COMMUNITY})
KINDS = {
    "self_managed_team": ModelKind("self_managed_team", "Tổ tự quản về an ninh trật tự", BOTH),
    "safe_school": ModelKind(
        "safe_school", "Trường học an toàn về an ninh trật tự", frozenset({HostType.UNIT})
    ),
    "self_managed_clan": ModelKind(
        "self_managed_clan", "Dòng họ tự quản về an ninh trật tự", frozenset({HostType.COMMUNITY})
    ),
}
UNIT = str(uuid.uuid4())
PERIOD = Period(date(2014, 8, 15), date(2019, 8, 29))


def command(**changes: object) -> ModelInput:
    base = ModelInput(
        name="  Tổ tự quản   về ANTT tổ dân phố số 3 ",
        kind="self_managed_team",
        host=HostInput(commune_code="00001", residential_area=" Tổ dân phố  số 3 "),
        formation="built",
        formed_on=date(2016, 3, 1),
        description="Tuần tra ban đêm",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def fields(exc: pytest.ExceptionInfo[InvalidArgument]) -> dict[str, str]:
    return {p.field: p.reason for p in exc.value.fields}


def model(
    *, host: UnitHost | CommunityHost | None = None, formed_on: date = date(2016, 3, 1), status: str = "built"
) -> Model:
    now = datetime(2019, 1, 1, tzinfo=UTC)
    return Model(
        id=uuid.uuid4(), name="Tổ tự quản", kind="self_managed_team", kind_label="Tổ tự quản",
        host=host or CommunityHost("00001"), host_name="Phường Đức Thịnh", district_code="001",
        formation=Formation.BUILT, formed_on=formed_on, status=ModelStatus(status), status_on=formed_on,
        description="", version=1, created_at=now, updated_at=now,
    )  # fmt: skip


# --- hosts and fields -----------------------------------------------------------------------------------


def test_a_community_host_keeps_its_residential_area_and_the_name_is_trimmed() -> None:
    draft = validate(command(), kinds=KINDS, today=TODAY)
    assert draft.host == CommunityHost("00001", "Tổ dân phố số 3")
    assert draft.host.type is HostType.COMMUNITY
    assert draft.name == "Tổ tự quản về ANTT tổ dân phố số 3"
    assert draft.formation is Formation.BUILT
    assert initial_status(draft) is ModelStatus.BUILT


def test_a_unit_host_is_a_uuid_and_a_consolidated_model_starts_consolidated() -> None:
    draft = validate(
        command(host=HostInput(unit_id=UNIT), formation="consolidated", kind="safe_school"),
        kinds=KINDS,
        today=TODAY,
    )
    assert draft.host == UnitHost(uuid.UUID(UNIT))
    assert initial_status(draft) is ModelStatus.CONSOLIDATED


@pytest.mark.parametrize(
    ("host", "field", "reason"),
    [
        (HostInput(unit_id=UNIT, commune_code="00001"), "host", "not both"),
        (HostInput(), "host", "required"),
        (HostInput(unit_id="not-a-uuid"), "host.unit_id", "UUID"),
        (HostInput(unit_id=UNIT, residential_area="Tổ dân phố số 3"), "host.residential_area", "community"),
    ],
)
def test_exactly_one_host(host: HostInput, field: str, reason: str) -> None:
    with pytest.raises(InvalidArgument) as exc:
        validate(command(host=host), kinds=KINDS, today=TODAY)
    assert reason in fields(exc)[field]


def test_every_wrong_field_is_named_at_once() -> None:
    with pytest.raises(InvalidArgument) as exc:
        validate(
            command(
                name="  ", kind="no_such_kind", formation="planned", formed_on=None, description="x" * 4001
            ),
            kinds=KINDS,
            today=TODAY,
        )
    assert set(fields(exc)) == {"name", "kind", "formation", "formed_on", "description"}


def test_a_kind_fits_only_its_hosts() -> None:
    with pytest.raises(InvalidArgument) as exc:
        validate(command(kind="safe_school"), kinds=KINDS, today=TODAY)
    assert "Trường học an toàn" in fields(exc)["kind"]
    with pytest.raises(InvalidArgument) as exc:
        validate(command(kind="self_managed_clan", host=HostInput(unit_id=UNIT)), kinds=KINDS, today=TODAY)
    assert "community" in fields(exc)["kind"]


def test_a_model_is_not_formed_in_the_future() -> None:
    with pytest.raises(InvalidArgument) as exc:
        validate(command(formed_on=date(2019, 8, 30)), kinds=KINDS, today=TODAY)
    assert list(fields(exc)) == ["formed_on"]
    assert validate(command(formed_on=TODAY), kinds=KINDS, today=TODAY).formed_on == TODAY


# --- status ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "to"),
    [
        ("built", "consolidated"), ("built", "effective"), ("built", "inactive"),
        ("consolidated", "effective"), ("effective", "consolidated"), ("effective", "inactive"),
        ("inactive", "consolidated"),
    ],
)  # fmt: skip
def test_allowed_transitions(current: str, to: str) -> None:
    check_transition(model(status=current), ModelStatus(to), on=date(2017, 1, 1), today=TODAY)


@pytest.mark.parametrize(
    ("current", "to"),
    [("built", "built"), ("consolidated", "built"), ("effective", "effective"), ("inactive", "effective")],
)
def test_refused_transitions_are_conflicts(current: str, to: str) -> None:
    with pytest.raises(Conflict) as exc:
        check_transition(model(status=current), ModelStatus(to), on=date(2017, 1, 1), today=TODAY)
    assert exc.value.code == "invalid_transition"


@pytest.mark.parametrize("on", [date(2016, 2, 29), date(2019, 8, 30)])
def test_a_status_change_lies_between_the_current_status_and_today(on: date) -> None:
    with pytest.raises(InvalidArgument) as exc:
        check_transition(model(), ModelStatus.EFFECTIVE, on=on, today=TODAY)
    assert list(fields(exc)) == ["changed_on"]


def test_an_untouched_model_follows_its_corrected_formation() -> None:
    current = model()
    draft = validate(command(formation="consolidated", formed_on=date(2015, 5, 5)), kinds=KINDS, today=TODAY)
    assert status_after_update(current, draft, first_later_change=None) == (
        ModelStatus.CONSOLIDATED,
        date(2015, 5, 5),
    )


def test_a_changed_model_keeps_its_status_and_cannot_be_formed_after_its_first_change() -> None:
    current = replace(model(), status=ModelStatus.EFFECTIVE, status_on=date(2017, 1, 1))
    draft = validate(command(formed_on=date(2016, 6, 1)), kinds=KINDS, today=TODAY)
    assert status_after_update(current, draft, first_later_change=date(2017, 1, 1)) == (
        ModelStatus.EFFECTIVE,
        date(2017, 1, 1),
    )
    late = validate(command(formed_on=date(2017, 1, 2)), kinds=KINDS, today=TODAY)
    with pytest.raises(InvalidArgument) as exc:
        status_after_update(current, late, first_later_change=date(2017, 1, 1))
    assert list(fields(exc)) == ["formed_on"]


# --- counting -------------------------------------------------------------------------------------------


def registration(m: Model) -> StatusChange:
    return StatusChange(None, m.status, m.formed_on, "", "admin")


def test_the_counting_rule() -> None:
    inside = model(formed_on=date(2016, 3, 1))
    assert counts_in_period(inside, [registration(inside)], PERIOD)
    # Built in the period and inactive since: it was still built in the period.
    lapsed = replace(inside, status=ModelStatus.INACTIVE)
    assert counts_in_period(lapsed, [registration(inside)], PERIOD)
    # Both ends of the period count.
    assert counts_in_period(model(formed_on=PERIOD.start), [], PERIOD)
    assert counts_in_period(model(formed_on=PERIOD.end), [], PERIOD)
    old = model(formed_on=date(2012, 1, 1))
    assert not counts_in_period(old, [registration(old)], PERIOD)
    # Built before the period, consolidated in it: counts once.
    consolidated = [
        registration(old),
        StatusChange(ModelStatus.BUILT, ModelStatus.CONSOLIDATED, date(2015, 1, 1), "", "a"),
    ]
    assert counts_in_period(old, consolidated, PERIOD)
    # Becoming effective or inactive in the period is not building or consolidating.
    effective = [
        registration(old),
        StatusChange(ModelStatus.BUILT, ModelStatus.EFFECTIVE, date(2015, 1, 1), "", "a"),
    ]
    assert not counts_in_period(old, effective, PERIOD)
    assert not counts_in_period(model(formed_on=date(2019, 8, 30)), [], PERIOD)


CONSOLIDATED_2019 = StatusChange(ModelStatus.EFFECTIVE, ModelStatus.CONSOLIDATED, date(2019, 1, 1), "", "a")


def test_counts_come_from_the_records() -> None:
    unit = UnitHost(uuid.uuid4())
    records = [
        (model(host=unit), []),
        (model(host=unit, status="inactive"), []),
        (model(host=unit, formed_on=date(2013, 1, 1)), []),  # before the period
        (model(), []),
        (model(formed_on=date(2018, 12, 31)), []),
        (model(formed_on=date(2010, 1, 1)), [CONSOLIDATED_2019]),
    ]  # fmt: skip
    assert count(records, PERIOD) == ModelCounts(total=5, in_units=2, in_communities=3)


def test_a_period_has_both_ends_in_order() -> None:
    assert period(None, None, required=False) is None
    with pytest.raises(InvalidArgument) as exc:
        period(None, None, required=True)
    assert set(fields(exc)) == {"from_date", "to_date"}
    with pytest.raises(InvalidArgument) as exc:
        period(date(2019, 1, 2), date(2019, 1, 1), required=True)
    assert list(fields(exc)) == ["to_date"]


def test_list_filters_are_parsed_and_the_query_folded() -> None:
    where = filter_of(
        ListModels(q="  TỔ Tự Quản ", host_type="unit", status="inactive", unit_id=UNIT,
                   from_date=PERIOD.start, to_date=PERIOD.end)
    )  # fmt: skip
    assert (where.q, where.host_type, where.status) == ("to tu quan", HostType.UNIT, ModelStatus.INACTIVE)
    assert where.unit_id == uuid.UUID(UNIT)
    assert where.period == PERIOD
    with pytest.raises(InvalidArgument) as exc:
        filter_of(ListModels(status="dead", host_type="village", unit_id="x", from_date=PERIOD.start))
    assert set(fields(exc)) == {"status", "host_type", "unit_id", "to_date"}
