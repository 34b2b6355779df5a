"""The bounds every input crosses at the edges of both doors, defined once.

- Text: no NUL character (PostgreSQL text cannot hold one) and no lone surrogate (not encodable as UTF-8),
  in any text a request carries: HTTP query and path parameters and JSON bodies, gRPC string fields at any
  depth (repeated, map keys and values, nested messages).
- Dates: years MIN_YEAR..MAX_YEAR (1900..2999). Nothing the province records lies outside, and date
  arithmetic (a previous period, a window) on a date inside stays inside Python's and PostgreSQL's ranges.
  A value that is exactly an ISO-8601 date or date-time (`2026-12-03`, `2026-12-03T08:00:00+07:00`) in an
  HTTP query, path or JSON body is checked; over gRPC, `convert.date_from_pb` and `from_timestamp` check.
- Database input errors (asyncpg's DataError family: a number past its column type, an untranslatable
  character, an invalid text representation, a datetime overflow, ...) and a stray OverflowError are the
  caller's bad input: `bad_input(exc)` turns them into InvalidArgument, which the doors answer 400 /
  INVALID_ARGUMENT and a consumer dead-letters as `invalid_event`.

Pure functions over plain values and protobuf messages; no transport is imported here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import asyncpg
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from d07.platform.errors import FieldProblem, InvalidArgument

MIN_YEAR = 1900
MAX_YEAR = 2999

_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
# Exactly an ISO-8601 calendar date, optionally with a time: what pydantic and fromisoformat read as a date.
_ISO_DATE = re.compile(r"^([+-]?\d{4,})-\d{2}-\d{2}(?:[T ][0-9:.,]+(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$")


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None when it can."""
    found = _BAD_TEXT.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character"
    return "contains a lone surrogate (not valid Unicode text)"


def year_in_range(year: int) -> bool:
    return MIN_YEAR <= year <= MAX_YEAR


def _range_reason() -> str:
    return f"a date between the years {MIN_YEAR} and {MAX_YEAR} is expected"


def date_problem(value: str) -> str | None:
    """Why an ISO-8601 date (or date-time) string is out of bounds; None for any other string."""
    match = _ISO_DATE.match(value)
    if match is None:
        return None
    return None if year_in_range(int(match.group(1))) else _range_reason()


def value_problem(value: str) -> str | None:
    """The first problem of a text value at the HTTP edge: bad text, or an ISO date out of bounds."""
    return text_problem(value) or date_problem(value)


def check_date(value: date | datetime, field: str) -> None:
    """InvalidArgument `date_out_of_range` naming `field` unless the year is within bounds."""
    if not year_in_range(value.year):
        raise out_of_range(field)


def out_of_range(field: str) -> InvalidArgument:
    return InvalidArgument(
        f"{field}: {_range_reason()}", code="date_out_of_range", fields=[FieldProblem(field, _range_reason())]
    )


def invalid_input(problems: list[FieldProblem]) -> InvalidArgument:
    """The error for the problems found at an edge: `date_out_of_range` when all are dates out of bounds,
    else `invalid_text`."""
    names = ", ".join(p.field for p in problems)
    if all(p.reason == _range_reason() for p in problems):
        return InvalidArgument(f"dates out of range: {names}", code="date_out_of_range", fields=problems)
    return InvalidArgument(f"text that cannot be stored: {names}", code="invalid_text", fields=problems)


# --- JSON bodies ------------------------------------------------------------------------------------------


def json_problems(value: Any, path: str = "body", limit: int = 10) -> list[FieldProblem]:
    """The problems of every string (keys included) in a parsed JSON document, by dotted path (at most
    `limit`)."""
    found: list[FieldProblem] = []
    for where, text in _json_strings(value, path):
        reason = value_problem(text)
        if reason is not None:
            found.append(FieldProblem(where, reason))
            if len(found) >= limit:
                break
    return found


def _json_strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            for key, sub in reversed(list(item.items())):
                if isinstance(key, str) and text_problem(key):
                    yield f"{where}.<key>", key
                stack.append((f"{where}.{key}", sub))
        elif isinstance(item, list):
            for i in range(len(item) - 1, -1, -1):
                stack.append((f"{where}[{i}]", item[i]))


# --- protobuf messages ------------------------------------------------------------------------------------

_STRING = FieldDescriptor.TYPE_STRING
_MESSAGE = FieldDescriptor.TYPE_MESSAGE


def message_problems(message: Message, limit: int = 10) -> list[FieldProblem]:
    """The bad text in every string field of `message` at any depth (repeated, maps, nested), named by
    their path (`unit.name`, `ids[2]`, `attributes[colour]`)."""
    found: list[FieldProblem] = []
    stack: list[tuple[str, Message]] = [("", message)]
    while stack and len(found) < limit:
        prefix, msg = stack.pop()
        for fd, value in msg.ListFields():
            name = f"{prefix}{fd.name}"
            if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
                key_fd, value_fd = (
                    fd.message_type.fields_by_name["key"],
                    fd.message_type.fields_by_name["value"],
                )
                for key, item in value.items():
                    where = f"{name}[{key}]"
                    if key_fd.type == _STRING:
                        _check_text(found, f"{name}.<key>", key)
                    if value_fd.type == _STRING:
                        _check_text(found, where, item)
                    elif value_fd.type == _MESSAGE:
                        stack.append((f"{where}.", item))
            elif _repeated(fd):
                for i, item in enumerate(value):
                    if fd.type == _STRING:
                        _check_text(found, f"{name}[{i}]", item)
                    elif fd.type == _MESSAGE:
                        stack.append((f"{name}[{i}].", item))
            elif fd.type == _STRING:
                _check_text(found, name, value)
            elif fd.type == _MESSAGE:
                stack.append((f"{name}.", value))
    return found[:limit]


def _repeated(fd: FieldDescriptor) -> bool:
    flag = getattr(fd, "is_repeated", None)  # protobuf 6 (`label` is gone from its upb descriptors)
    return bool(flag) if flag is not None else getattr(fd, "label", 0) == FieldDescriptor.LABEL_REPEATED


def _check_text(found: list[FieldProblem], field: str, value: str) -> None:
    reason = text_problem(value)
    if reason is not None:
        found.append(FieldProblem(field, reason))


# --- errors that are the caller's bad input ----------------------------------------------------------------

_SQLSTATE_CODES = {
    "22003": "out_of_range",  # numeric_value_out_of_range
    "22008": "out_of_range",  # datetime_field_overflow
    "22015": "out_of_range",  # interval_field_overflow
    "22001": "too_long",  # string_data_right_truncation
    "22021": "invalid_text",  # character_not_in_repertoire (a NUL in text)
    "22P05": "invalid_text",  # untranslatable_character
}


def bad_input(exc: BaseException) -> InvalidArgument | None:
    """The InvalidArgument that a database input error or an overflow stands for; None for anything else.

    The database's own message is not passed on (it may quote SQL); the code says what kind of value was
    refused.
    """
    if isinstance(exc, asyncpg.DataError):
        code = _SQLSTATE_CODES.get(getattr(exc, "sqlstate", "") or "", "invalid_value")
        if code == "invalid_value" and "out of" in str(exc) and "range" in str(exc):
            code = "out_of_range"  # asyncpg's own check of a parameter: "value out of int32 range"
        return InvalidArgument(_MESSAGES[code], code=code)
    if isinstance(exc, OverflowError):
        return InvalidArgument(_MESSAGES["out_of_range"], code="out_of_range")
    return None


_MESSAGES = {
    "out_of_range": "a number or a date in the request is out of the range it can take",
    "too_long": "a text in the request is longer than allowed",
    "invalid_text": "a text in the request contains characters that cannot be stored",
    "invalid_value": "a value in the request is not valid for its type",
}
