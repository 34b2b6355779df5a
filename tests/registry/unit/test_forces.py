"""Pure rules of security forces and guards: no I/O."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime

import pytest
from openpyxl import Workbook

from d07.platform.errors import Conflict, InvalidArgument
from d07.platform.errors import ensure_version as check_version
from registry.forces.domain import (
    GUARD_HEADERS,
    GUARD_REQUIRED,
    ForceDetails,
    Guard,
    GuardDetails,
    GuardStatus,
    check_leave,
    parse_date,
    parse_guard_rows,
    validate_force,
    validate_guard,
)
from registry.tabular import read_table

TODAY = date(2024, 6, 1)
UNIT_A, UNIT_B = uuid.uuid4(), uuid.uuid4()


def guard(**overrides: object) -> Guard:
    values: dict[str, object] = dict(
        id=uuid.uuid4(), unit_id=UNIT_A, full_name="Lê Thị Hồng", birth_year=1990, position="", phone="",
        status=GuardStatus.ACTIVE, joined_on=date(2015, 3, 1), left_on=None, version=3,
        created_at=datetime(2024, 1, 1, tzinfo=UTC), updated_at=datetime(2024, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    values.update(overrides)
    return Guard(**values)  # type: ignore[arg-type]


def test_a_valid_guard_is_normalised_and_its_name_folds_for_search() -> None:
    details = validate_guard(
        GuardDetails("  Nguyễn   Văn An ", 1985, " Tổ  trưởng ", "0912.345-678", date(2010, 5, 2)),
        today=TODAY,
    )
    assert (details.full_name, details.position, details.phone) == (
        "Nguyễn Văn An",
        "Tổ trưởng",
        "0912345678",
    )
    assert details.search_name == "nguyen van an"
    assert GuardDetails("ĐỖ ĐỨC Đạt", 1980).search_name == "do duc dat"


def test_every_wrong_field_of_a_guard_is_named() -> None:
    with pytest.raises(InvalidArgument) as err:
        validate_guard(GuardDetails(" ", 2015, "x" * 101, "12ab", date(2024, 7, 1)), today=TODAY)
    assert {f.field for f in err.value.fields} == {
        "full_name",
        "birth_year",
        "position",
        "phone",
        "joined_on",
    }
    with pytest.raises(InvalidArgument) as err:
        validate_guard(GuardDetails("Phạm Minh Tuấn", 1929), today=TODAY)
    assert [f.field for f in err.value.fields] == ["birth_year"]
    with pytest.raises(InvalidArgument) as err:  # joined before the age of 16
        validate_guard(GuardDetails("Phạm Minh Tuấn", 2000, joined_on=date(2010, 1, 1)), today=TODAY)
    assert [f.field for f in err.value.fields] == ["joined_on"]
    assert validate_guard(GuardDetails("Phạm Minh Tuấn", TODAY.year - 16), today=TODAY).birth_year == 2008


def test_a_force_needs_a_past_date_and_a_sensible_size() -> None:
    ok = validate_force(
        ForceDetails(date(2014, 8, 15), 12, " Trần  Văn Hùng ", "+84 912 345 678"), today=TODAY
    )
    assert (ok.leader_name, ok.leader_phone) == ("Trần Văn Hùng", "+84912345678")
    with pytest.raises(InvalidArgument) as err:
        validate_force(ForceDetails(None, -1, "", "0"), today=TODAY)
    assert {f.field for f in err.value.fields} == {"established_on", "planned_size", "leader_phone"}
    with pytest.raises(InvalidArgument) as err:
        validate_force(ForceDetails(date(2024, 6, 2), 0), today=TODAY)
    assert [f.field for f in err.value.fields] == ["established_on"]


def test_a_guard_leaves_once_and_not_before_joining() -> None:
    assert check_leave(guard(), date(2024, 5, 31), today=TODAY) == date(2024, 5, 31)
    with pytest.raises(InvalidArgument) as err:
        check_leave(guard(), date(2015, 2, 28), today=TODAY)
    assert err.value.fields[0].field == "left_on"
    with pytest.raises(InvalidArgument):
        check_leave(guard(), None, today=TODAY)
    with pytest.raises(Conflict) as conflict:
        check_leave(guard(status=GuardStatus.LEFT, left_on=date(2020, 1, 1)), date(2024, 1, 1), today=TODAY)
    assert conflict.value.code == "guard_already_left"


def test_a_stale_version_is_a_conflict_and_a_missing_one_is_invalid() -> None:
    check_version(3, 3, what="guard", object_id=UNIT_A)
    with pytest.raises(Conflict) as err:
        check_version(2, 3, what="guard", object_id=UNIT_A)
    assert err.value.code == "stale_version"
    with pytest.raises(InvalidArgument):
        check_version(0, 3, what="guard", object_id=UNIT_A)


def test_dates_are_read_as_tables_write_them() -> None:
    expected = date(2014, 8, 15)
    for text in ("15/08/2014", "15-08-2014", "15.08.2014", "2014-08-15", "2014-08-15 00:00:00", "15/8/2014"):
        assert parse_date(text) == expected, text
    assert parse_date("31/02/2014") is None
    assert parse_date("tháng 8") is None


def test_every_problem_of_a_file_is_named_by_line_and_header() -> None:
    csv_text = (
        "Mã đơn vị,Họ và tên,Năm sinh,Chức vụ,Số điện thoại,Ngày vào làm\n"
        "dn-a,Nguyễn Văn An,1985,Tổ trưởng,0912345678,01/03/2015\n"  # 2: fine (code in lower case)
        "DN-X,Trần Thị Bích,1990,,,\n"  # 3: unknown unit
        "DN-A,,19x0,,,\n"  # 4: no name, bad year
        "DN-B,Lê Văn Cường,1970,,,\n"  # 5: another unit than the officer's
        "DN-A,Phạm Thị Dung,1992,,,30/02/2020\n"  # 6: no such date
        "DN-A,NGUYỄN VĂN AN,1985,,,\n"  # 7: line 2 again
        "DN-A,Hoàng Văn Em,1975,,,\n"  # 8: registered before
    )
    rows = read_table("bao-ve.csv", csv_text.encode(), GUARD_HEADERS, required=GUARD_REQUIRED)
    existing = uuid.uuid4()
    guards, problems = parse_guard_rows(
        rows,
        units_by_code={"DN-A": UNIT_A, "DN-B": UNIT_B},
        allowed_unit=UNIT_A,
        registered={(UNIT_A, "hoang van em", 1975): existing},
        today=TODAY,
    )
    assert [(g.line, g.unit_id, g.details.full_name) for g in guards] == [(2, UNIT_A, "Nguyễn Văn An")]
    assert guards[0].details.joined_on == date(2015, 3, 1)
    assert [(p.line, p.field) for p in problems] == [
        (3, "Mã đơn vị"),
        (4, "Năm sinh"),
        (4, "Họ và tên"),
        (5, "Mã đơn vị"),
        (6, "Ngày vào làm"),
        (7, "Họ và tên"),
        (8, "Họ và tên"),
    ]
    reasons = {(p.line, p.field): p.reason for p in problems}
    assert reasons[(3, "Mã đơn vị")] == "unknown unit code 'DN-X'"
    assert reasons[(7, "Họ và tên")] == "the same guard as line 2"
    assert str(existing) in reasons[(8, "Họ và tên")]
    # an admin (no unit bound) may import every unit's guards: line 5 is fine then
    _, problems = parse_guard_rows(
        rows, units_by_code={"DN-A": UNIT_A, "DN-B": UNIT_B}, allowed_unit=None, registered={}, today=TODAY
    )
    assert 5 not in {p.line for p in problems}


def test_an_xlsx_table_with_number_and_date_cells_reads_like_text() -> None:
    book = Workbook()
    book.active.append(["MÃ ĐƠN VỊ", "Họ và tên", "Năm sinh", "Điện thoại", "Ngày vào làm"])
    book.active.append(["DN-A", "Vũ Thị Lan", 1988, "0912 345 678", datetime(2016, 3, 1)])
    out = io.BytesIO()
    book.save(out)
    rows = read_table("bao-ve.xlsx", out.getvalue(), GUARD_HEADERS, required=GUARD_REQUIRED)
    guards, problems = parse_guard_rows(
        rows, units_by_code={"DN-A": UNIT_A}, allowed_unit=None, registered={}, today=TODAY
    )
    assert problems == []
    assert guards[0].details == GuardDetails("Vũ Thị Lan", 1988, "", "0912345678", date(2016, 3, 1))
