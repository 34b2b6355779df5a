"""Vietnamese folding and formats, cursor pagination: pure logic."""

from __future__ import annotations

import doctest
from datetime import date

import pytest

from d07.platform import pagination, text
from d07.platform.errors import InvalidArgument


def test_doctests() -> None:
    for module in (text,):
        failures, tried = doctest.testmod(module)
        assert tried > 0
        assert failures == 0


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Trường THPT Chu Văn An", "truong thpt chu van an"),
        ("TRƯỜNG thpt", "truong thpt"),
        ("Ủy ban nhân dân xã Đồng Tâm", "uy ban nhan dan xa dong tam"),
        ("Công ty TNHH Điện tử Quang Minh", "cong ty tnhh dien tu quang minh"),
        ("Nguyễn Thị Ngọc Ánh", "nguyen thi ngoc anh"),
    ],
)
def test_fold_removes_case_and_diacritics(raw: str, folded: str) -> None:
    assert text.fold(raw) == folded
    assert text.fold("truong thpt") in text.fold("Trường THPT Chu Văn An")


def test_vietnamese_numbers_and_dates() -> None:
    assert [text.vn_number(n) for n in (0, 61, 1454, 1730, 3200, 1502)] == [
        "0",
        "61",
        "1.454",
        "1.730",
        "3.200",
        "1.502",
    ]
    assert text.vn_number(84.046, 2) == "84,05"
    assert text.vn_date(date(2014, 8, 15)) == "15-08-2014"


def test_cursor_round_trip_and_refusals() -> None:
    filters = {"district": "001", "q": "truong"}
    token = pagination.encode_cursor(["truong thpt a", "2b6f..."], filters=filters)
    assert pagination.decode_cursor(token, filters=filters) == ["truong thpt a", "2b6f..."]
    assert pagination.decode_cursor("", filters=filters) is None
    with pytest.raises(InvalidArgument) as err:
        pagination.decode_cursor(token, filters={"district": "002", "q": "truong"})
    assert err.value.code == "page_token_mismatch"
    for garbage in ("abc", "!!!", pagination.encode_cursor([], filters=filters)[:-3] + "xyz"):
        with pytest.raises(InvalidArgument) as err:
            pagination.decode_cursor(garbage, filters=filters)
        assert err.value.fields[0].field == "page_token"


def test_page_size_bounds() -> None:
    assert pagination.page_size(0) == 50
    assert pagination.page_size(None) == 50
    assert pagination.page_size(10) == 10
    assert pagination.page_size(10_000) == 500
    with pytest.raises(InvalidArgument):
        pagination.page_size(-1)
