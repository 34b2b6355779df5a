"""Vietnamese text for machines and for people: search folding, numbers and dates as Vietnamese documents
print them. Pure functions, no I/O."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

# Letters that Unicode decomposition does not reduce to ASCII.
_EXTRA = str.maketrans({"đ": "d", "Đ": "d", "ð": "d"})


def fold(text: str) -> str:
    """Lower case without diacritics and with single spaces: what search compares.

    >>> fold("  Trường THPT  Chu Văn An ")
    'truong thpt chu van an'
    >>> fold("ĐẠI HỌC Đà Lạt")
    'dai hoc da lat'
    """
    decomposed = unicodedata.normalize("NFD", text.translate(_EXTRA))
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return " ".join(stripped.lower().split())


def vn_number(value: int | float, decimals: int = 0) -> str:
    """A number as Vietnamese documents print it: '.' between thousands, ',' before decimals.

    >>> vn_number(1454), vn_number(3200), vn_number(84.05, 1), vn_number(-1234567)
    ('1.454', '3.200', '84,1', '-1.234.567')
    """
    exact = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    text = f"{exact:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def vn_date(value: date | datetime) -> str:
    """A date as Vietnamese documents print it: day-month-year with two-digit day and month.

    >>> vn_date(date(2019, 8, 29))
    '29-08-2019'
    """
    return f"{value.day:02d}-{value.month:02d}-{value.year:04d}"
