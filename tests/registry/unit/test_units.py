"""Pure rules of units: no I/O."""

from __future__ import annotations

import pytest

from d07.platform.errors import InvalidArgument
from registry.units.domain import CreateUnit, validate


def test_a_valid_unit_is_normalised() -> None:
    cmd = validate(
        CreateUnit(
            code=" thpt-cva ", name="  Trường   THPT Chu Văn An ", kind="school", district_code=" 001 "
        )
    )
    assert (cmd.code, cmd.name, cmd.district_code) == ("THPT-CVA", "Trường THPT Chu Văn An", "001")


def test_every_wrong_field_is_named() -> None:
    with pytest.raises(InvalidArgument) as err:
        validate(CreateUnit(code="x", name=" ", kind="shop", district_code=""))
    assert {f.field for f in err.value.fields} == {"code", "name", "kind", "district_code"}


def test_an_unknown_district_is_refused_when_districts_are_known() -> None:
    with pytest.raises(InvalidArgument) as err:
        validate(
            CreateUnit(code="UBND-01", name="Ủy ban nhân dân xã", kind="agency", district_code="999"),
            known_districts=frozenset({"001", "002"}),
        )
    assert [(f.field, f.reason) for f in err.value.fields] == [("district_code", "unknown district '999'")]
