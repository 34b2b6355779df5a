"""Pure rules of units: no I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from d07.platform.errors import Conflict, InvalidArgument, NotFound
from registry.units.domain import (
    ChangeKind,
    ChangeStatus,
    CreateUnit,
    SubKind,
    Unit,
    UnitKind,
    UnitStatus,
    UpdateUnit,
    apply_update,
    check_status_change,
    command_from_row,
    forbidden_fields,
    unit_filter,
    validate,
)

SUB_KINDS = {
    "high_school": SubKind("high_school", UnitKind.SCHOOL, "Trường trung học phổ thông"),
    "primary": SubKind("primary", UnitKind.SCHOOL, "Trường tiểu học"),
    "state_enterprise": SubKind("state_enterprise", UnitKind.ENTERPRISE, "Doanh nghiệp nhà nước"),
}
TODAY = date(2019, 8, 29)


def unit(**overrides: object) -> Unit:
    values: dict[str, object] = dict(
        id=uuid.uuid4(), code="THPT-CVA", name="Trường THPT Chu Văn An", kind=UnitKind.SCHOOL,
        district_code="001", commune_code="00001", address="Số 1 đường Hùng Vương", status=UnitStatus.ACTIVE,
        version=3, created_at=datetime(2019, 1, 1, tzinfo=UTC), updated_at=datetime(2019, 1, 1, tzinfo=UTC),
        sub_kind="high_school", head_name="Nguyễn Văn Bình", head_title="Hiệu trưởng",
    )  # fmt: skip
    values.update(overrides)
    return Unit(**values)  # type: ignore[arg-type]


def test_a_valid_unit_is_normalised() -> None:
    cmd = validate(
        CreateUnit(
            code=" thpt-cva ",
            name="  Trường   THPT Chu Văn An ",
            kind="school",
            district_code=" 001 ",
            sub_kind="high_school",
            head_name=" Nguyễn  Văn Bình ",
            email=" THPT.CVA@SonLam.edu.vn ",
            phone="0209 3870 123",
            staff_count=85,
        ),
        sub_kinds=SUB_KINDS,
    )
    assert (cmd.code, cmd.name, cmd.district_code) == ("THPT-CVA", "Trường THPT Chu Văn An", "001")
    assert (cmd.head_name, cmd.email, cmd.staff_count) == ("Nguyễn Văn Bình", "thpt.cva@sonlam.edu.vn", 85)


def test_every_wrong_field_is_named() -> None:
    with pytest.raises(InvalidArgument) as err:
        validate(
            CreateUnit(
                code="x",
                name=" ",
                kind="shop",
                district_code="",
                parent_unit_id="cha",
                email="không-có",
                phone="12",
                staff_count=-1,
            )
        )
    assert {f.field for f in err.value.fields} == {
        "code", "name", "kind", "district_code", "parent_unit_id", "email", "phone", "staff_count",
    }  # fmt: skip


def test_an_unknown_district_is_refused_when_districts_are_known() -> None:
    with pytest.raises(InvalidArgument) as err:
        validate(
            CreateUnit(code="UBND-01", name="Ủy ban nhân dân xã", kind="agency", district_code="999"),
            known_districts=frozenset({"001", "002"}),
        )
    assert [(f.field, f.reason) for f in err.value.fields] == [("district_code", "unknown district '999'")]


@pytest.mark.parametrize(
    ("kind", "sub_kind", "reason"),
    [
        ("agency", "high_school", "high_school is a sub-kind of school, not agency"),
        ("school", "nursery", "unknown sub-kind 'nursery'"),
    ],
)
def test_a_sub_kind_must_be_a_known_one_of_the_kind(kind: str, sub_kind: str, reason: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        validate(
            CreateUnit(code="U-01", name="Đơn vị thử", kind=kind, district_code="001", sub_kind=sub_kind),
            sub_kinds=SUB_KINDS,
        )
    assert [(f.field, f.reason) for f in err.value.fields] == [("sub_kind", reason)]


def test_an_update_says_what_changes_and_refuses_a_stale_version() -> None:
    u = unit()
    details, changed = apply_update(
        u,
        UpdateUnit(u.id, 3, {"name": "Trường THPT Chu Văn An ", "phone": "0209 3870 999"}),
        sub_kinds=SUB_KINDS,
    )
    assert changed == ["phone"]  # the name is the same once trimmed
    assert details.phone == "0209 3870 999"
    with pytest.raises(Conflict) as err:
        apply_update(u, UpdateUnit(u.id, 2, {"phone": "0209 3870 999"}), sub_kinds=SUB_KINDS)
    assert err.value.code == "stale_version"
    with pytest.raises(InvalidArgument) as bad:
        apply_update(u, UpdateUnit(u.id, 3, {"code": "KHAC", "status": "dissolved"}), sub_kinds=SUB_KINDS)
    assert [f.field for f in bad.value.fields] == ["code", "status"]


def test_changing_the_kind_drops_a_sub_kind_of_the_old_kind() -> None:
    u = unit()
    details, changed = apply_update(u, UpdateUnit(u.id, 3, {"kind": "enterprise"}), sub_kinds=SUB_KINDS)
    assert (details.kind, details.sub_kind) == ("enterprise", "")
    assert changed == ["kind", "sub_kind"]


def test_a_unit_officer_changes_only_contact_details() -> None:
    assert forbidden_fields(["address", "email", "head_name", "head_title", "phone"]) == []
    assert forbidden_fields(["phone", "staff_count", "sub_kind"]) == ["staff_count", "sub_kind"]


def test_an_ended_unit_is_not_updated() -> None:
    u = unit(status=UnitStatus.MERGED)
    with pytest.raises(Conflict) as err:
        apply_update(u, UpdateUnit(u.id, 3, {"phone": "0209 3870 999"}), sub_kinds=SUB_KINDS)
    assert err.value.code == "unit_not_active"


def test_a_merge_records_sources_and_target() -> None:
    a, b, c = unit(code="A1"), unit(code="B1"), unit(code="C1")
    cmd = ChangeStatus(ChangeKind.MERGE, (a.id, b.id), (c.id,), date(2019, 1, 1), "Quyết định số 125/QĐ-UBND")
    change = check_status_change(cmd, {u.id: u for u in (a, b, c)}, today=TODAY)
    assert (change.kind, change.from_ids, change.to_ids) == (ChangeKind.MERGE, (a.id, b.id), (c.id,))
    assert change.effective_on == date(2019, 1, 1)


def test_a_change_without_a_date_takes_effect_today() -> None:
    a = unit()
    change = check_status_change(ChangeStatus(ChangeKind.DISSOLVE, (a.id,), (), None), {a.id: a}, today=TODAY)
    assert change.effective_on == TODAY


@pytest.mark.parametrize(
    ("kind", "sources", "targets", "field"),
    [
        (ChangeKind.MERGE, 2, 0, "target_id"),
        (ChangeKind.MERGE, 0, 1, "source_ids"),
        (ChangeKind.SPLIT, 1, 1, "successor_ids"),
        (ChangeKind.DISSOLVE, 1, 1, "id"),
    ],
)
def test_a_change_with_the_wrong_number_of_units_is_invalid(
    kind: ChangeKind, sources: int, targets: int, field: str
) -> None:
    units = [unit(code=f"U{n}") for n in range(sources + targets)]
    cmd = ChangeStatus(
        kind, tuple(u.id for u in units[:sources]), tuple(u.id for u in units[sources:]), TODAY
    )
    with pytest.raises(InvalidArgument) as err:
        check_status_change(cmd, {u.id: u for u in units}, today=TODAY)
    assert [f.field for f in err.value.fields] == [field]


def test_a_change_needs_active_existing_units_named_once_and_a_past_date() -> None:
    a, ended = unit(code="A1"), unit(code="B1", status=UnitStatus.DISSOLVED)
    known = {a.id: a, ended.id: ended}
    with pytest.raises(Conflict) as err:
        check_status_change(ChangeStatus(ChangeKind.MERGE, (ended.id,), (a.id,), TODAY), known, today=TODAY)
    assert err.value.code == "unit_not_active"
    with pytest.raises(NotFound):
        check_status_change(
            ChangeStatus(ChangeKind.MERGE, (uuid.uuid4(),), (a.id,), TODAY), known, today=TODAY
        )
    with pytest.raises(InvalidArgument) as twice:
        check_status_change(ChangeStatus(ChangeKind.MERGE, (a.id,), (a.id,), TODAY), known, today=TODAY)
    assert [f.field for f in twice.value.fields] == ["unit_ids"]
    with pytest.raises(InvalidArgument) as future:
        check_status_change(
            ChangeStatus(ChangeKind.DISSOLVE, (a.id,), (), date(2019, 9, 1)), known, today=TODAY
        )
    assert [f.field for f in future.value.fields] == ["effective_on"]


def test_a_split_checks_the_version_it_was_given() -> None:
    a, b, c = unit(code="A1", version=4), unit(code="B1"), unit(code="C1")
    known = {u.id: u for u in (a, b, c)}
    with pytest.raises(Conflict) as err:
        check_status_change(
            ChangeStatus(ChangeKind.SPLIT, (a.id,), (b.id, c.id), TODAY, expected_version=3),
            known,
            today=TODAY,
        )
    assert err.value.code == "stale_version"
    ok = check_status_change(
        ChangeStatus(ChangeKind.SPLIT, (a.id,), (b.id, c.id), TODAY, expected_version=4), known, today=TODAY
    )
    assert ok.to_ids == (b.id, c.id)


def test_a_row_is_read_as_the_offices_write_it() -> None:
    cmd = command_from_row(
        {
            "code": "thpt-01", "name": "Trường THPT Hùng Vương", "kind": "Nhà trường",
            "sub_kind": "TRƯỜNG TRUNG HỌC PHỔ THÔNG", "district_code": "001", "staff_count": "1.502",
            "head_name": "Lê Thị Hoa", "head_title": "Hiệu trưởng",
        },
        sub_kinds=SUB_KINDS,
    )  # fmt: skip
    assert (cmd.code, cmd.kind, cmd.sub_kind, cmd.staff_count) == ("THPT-01", "school", "high_school", 1502)
    by_code = command_from_row(
        {"code": "DN-01", "name": "Công ty Điện lực", "kind": "doanh nghiep", "sub_kind": "state_enterprise",
         "district_code": "002"},
        sub_kinds=SUB_KINDS,
    )  # fmt: skip
    assert (by_code.kind, by_code.sub_kind) == ("enterprise", "state_enterprise")


def test_a_bad_row_names_each_wrong_field_once() -> None:
    with pytest.raises(InvalidArgument) as err:
        command_from_row(
            {"code": "X", "name": "Chợ", "kind": "Cửa hàng", "sub_kind": "Siêu thị", "district_code": "001",
             "staff_count": "mười"},
            sub_kinds=SUB_KINDS,
        )  # fmt: skip
    assert sorted(f.field for f in err.value.fields) == ["code", "kind", "staff_count", "sub_kind"]


def test_a_filter_folds_the_query_and_binds_page_tokens_to_itself() -> None:
    where = unit_filter(kind="school", query="  Trường   THPT ")
    assert where.words == ("truong", "thpt")
    assert where.fingerprint() == {"kind": "school", "words": ("truong", "thpt")}
    assert unit_filter(kind="school").fingerprint() != where.fingerprint()
    with pytest.raises(InvalidArgument) as err:
        unit_filter(kind="shop", status="closed")
    assert [f.field for f in err.value.fields] == ["kind", "status"]
