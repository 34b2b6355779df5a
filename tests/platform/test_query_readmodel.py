"""The repositories' SQL building blocks (`d07.platform.db.query`) and the HTTP doors' `ReadModel`, without a
database: what they build is checked as text and values."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import date

import pytest

from d07.platform.db.query import Where, from_row, from_rows, like_pattern
from d07.platform.readmodel import ReadModel

# --- Where --------------------------------------------------------------------------------------------


def test_an_empty_where_is_true() -> None:
    where = Where()
    assert where.sql() == "TRUE"
    assert where.args == []


def test_conditions_are_numbered_in_order_and_anded() -> None:
    where = Where()
    where.add("u.district_code = {}", "HN-BD")
    where.add("u.name ILIKE {} OR u.code ILIKE {}", "%a%", "%b%")
    assert where.sql() == "(u.district_code = $1) AND (u.name ILIKE $2 OR u.code ILIKE $3)"
    assert where.args == ["HN-BD", "%a%", "%b%"]


def test_leading_args_keep_their_numbers() -> None:
    round_id = uuid.uuid4()
    where = Where(round_id, 2026)
    where.add("a.status = {}", "submitted")
    assert where.sql() == "(a.status = $3)"
    assert where.args == [round_id, 2026, "submitted"]


def test_param_numbers_a_value_outside_the_conditions() -> None:
    where = Where("first")
    where.add("x = {}", 1)
    limit = where.param(50)
    assert limit == "$3"
    assert where.args == ["first", 1, 50]
    assert where.sql() == "(x = $2)"


@pytest.mark.parametrize("unset", [None, "", 0, False, (), [], set(), frozenset()])
def test_add_if_skips_an_unset_filter(unset: object) -> None:
    where = Where()
    where.add_if(unset, "u.kind = {}")
    assert where.sql() == "TRUE"
    assert where.args == []


@pytest.mark.parametrize("value", ["school", 2019, True, ["a"], uuid.UUID(int=1), date(2019, 8, 29)])
def test_add_if_keeps_a_set_filter(value: object) -> None:
    where = Where(7)
    where.add_if(value, "u.kind = {}")
    assert where.sql() == "(u.kind = $2)"
    assert where.args == [7, value]


# --- like_pattern -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("Ba Đình", "%Ba Đình%"),
        ("50%", "%50\\%%"),
        ("a_b", "%a\\_b%"),
        ("c:\\temp", "%c:\\\\temp%"),
        ("", "%%"),
    ],
)
def test_like_pattern_escapes_wildcards_and_the_escape(text: str, pattern: str) -> None:
    assert like_pattern(text) == pattern


# --- from_row -----------------------------------------------------------------------------------------


@dataclass
class Unit:
    id: uuid.UUID
    code: str
    name: str
    staff_count: int = 0
    tags: list[str] = field(default_factory=list)
    derived: str = field(init=False, default="computed")


def test_a_zero_or_false_filter_goes_through_add() -> None:
    where = Where()
    where.add("u.in_scope = {}", False)
    where.add("u.staff_count = {}", 0)
    assert where.sql() == "(u.in_scope = $1) AND (u.staff_count = $2)"
    assert where.args == [False, 0]


def test_from_row_takes_the_columns_of_the_fields() -> None:
    uid = uuid.uuid4()
    row = {"id": uid, "code": "U1", "name": "Trường A", "staff_count": 12, "tags": ["x"], "extra": "ignored"}
    assert from_row(Unit, row) == Unit(uid, "U1", "Trường A", 12, ["x"])


def test_from_row_leaves_missing_columns_to_the_defaults() -> None:
    uid = uuid.uuid4()
    unit = from_row(Unit, {"id": uid, "code": "U1", "name": "A"})
    assert (unit.staff_count, unit.tags, unit.derived) == (0, [], "computed")


def test_from_row_overrides_win_over_columns() -> None:
    uid = uuid.uuid4()
    row = {"id": uid, "code": "u1", "name": "A", "staff_count": 3}
    unit = from_row(Unit, row, code="U1", tags=["given"])
    assert (unit.code, unit.staff_count, unit.tags) == ("U1", 3, ["given"])


def test_from_row_skips_fields_outside_init() -> None:
    unit = from_row(Unit, {"id": uuid.uuid4(), "code": "U", "name": "A", "derived": "from the row"})
    assert unit.derived == "computed"


def test_from_row_without_a_required_column_fails() -> None:
    with pytest.raises(TypeError):
        from_row(Unit, {"id": uuid.uuid4(), "code": "U"})


def test_from_rows_maps_each_row() -> None:
    rows = [{"id": uuid.UUID(int=n), "code": f"U{n}", "name": "A"} for n in range(3)]
    assert [u.code for u in from_rows(Unit, rows)] == ["U0", "U1", "U2"]


# --- ReadModel ----------------------------------------------------------------------------------------


class Kind(enum.Enum):
    SCHOOL = "school"
    HOSPITAL = "hospital"


@dataclass
class DomainUnit:
    id: uuid.UUID
    code: str
    kind: Kind
    founded: date
    internal_note: str = "not served"


class UnitRead(ReadModel):
    id: uuid.UUID
    code: str
    kind: Kind
    founded: date


def test_read_model_reads_a_domain_object_by_attributes() -> None:
    uid = uuid.UUID("12345678-1234-5678-1234-567812345678")
    body = UnitRead.model_validate(DomainUnit(uid, "U1", Kind.HOSPITAL, date(2019, 8, 29)))
    assert body.model_dump(mode="json") == {
        "id": "12345678-1234-5678-1234-567812345678",
        "code": "U1",
        "kind": "hospital",
        "founded": "2019-08-29",
    }
    assert body.model_dump_json() == (
        '{"id":"12345678-1234-5678-1234-567812345678","code":"U1","kind":"hospital","founded":"2019-08-29"}'
    )


def test_read_model_refuses_an_object_missing_a_field() -> None:
    @dataclass
    class Partial:
        id: uuid.UUID

    with pytest.raises(ValueError, match="code"):
        UnitRead.model_validate(Partial(uuid.uuid4()))
