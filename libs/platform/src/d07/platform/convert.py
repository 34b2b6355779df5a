"""Conversions between protobuf values and Python ones that every door and every `messages.py` needs.

Bad input becomes `InvalidArgument` naming the field, so a door maps it to 400 / INVALID_ARGUMENT.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from enum import Enum
from typing import Generic, TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from d07.common.v1 import common_pb2
from d07.platform.auth import Principal
from d07.platform.bounds import check_date, out_of_range, year_in_range
from d07.platform.errors import FieldProblem, InvalidArgument

E = TypeVar("E", bound=Enum)


def parse_uuid(value: str, field: str = "id", *, what: str = "id") -> uuid.UUID:
    """The UUID in `value`, or InvalidArgument `invalid_id` naming `field`."""
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise InvalidArgument(
            f"not a valid {what}", code="invalid_id", fields=[FieldProblem(field, "a UUID is expected")]
        ) from None


def parse_uuids(values: list[str] | tuple[str, ...], field: str, *, what: str = "id") -> list[uuid.UUID]:
    return [parse_uuid(v, f"{field}[{i}]", what=what) for i, v in enumerate(values)]


# The seconds of a Timestamp within the platform's years (a day of slack either side for time zones).
_SECONDS_MIN = int(datetime(1899, 12, 31, tzinfo=UTC).timestamp())
_SECONDS_MAX = int(datetime(3000, 1, 2, tzinfo=UTC).timestamp())


def timestamp(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def optional_timestamp(value: datetime | None) -> Timestamp | None:
    return None if value is None else timestamp(value)


def from_timestamp(value: Timestamp, field: str = "timestamp") -> datetime | None:
    """The aware datetime of a set timestamp; None for an unset one (zero); InvalidArgument
    `date_out_of_range` naming `field` outside the platform's years (`bounds.MIN_YEAR`..`MAX_YEAR`)."""
    if not (value.seconds or value.nanos):
        return None
    if not _SECONDS_MIN <= value.seconds <= _SECONDS_MAX:
        raise out_of_range(field)
    moment = value.ToDatetime(tzinfo=UTC)
    check_date(moment, field)
    return moment


def date_to_pb(value: date) -> common_pb2.Date:
    return common_pb2.Date(year=value.year, month=value.month, day=value.day)


def optional_date_to_pb(value: date | None) -> common_pb2.Date | None:
    return None if value is None else date_to_pb(value)


def date_from_pb(value: common_pb2.Date, field: str) -> date | None:
    """None for an unset date (all zero); InvalidArgument naming `field` for an impossible one."""
    if not (value.year or value.month or value.day):
        return None
    if not year_in_range(value.year):
        raise out_of_range(field)
    try:
        return date(value.year, value.month, value.day)
    except ValueError:
        raise InvalidArgument(
            "not a calendar date", code="invalid_date", fields=[FieldProblem(field, "not a calendar date")]
        ) from None


def actor(principal: Principal | None) -> common_pb2.Actor:
    """Who did it, as events and answers carry it; `system` for work no caller asked for."""
    if principal is None:
        return common_pb2.Actor(subject="system")
    return common_pb2.Actor(subject=principal.subject, roles=sorted(principal.roles))


class EnumMap(Generic[E]):
    """A domain enum and its protobuf numbers, both ways, from one table."""

    def __init__(self, table: Mapping[E, int], *, field: str, unspecified: int = 0) -> None:
        self.to_pb_table = dict(table)
        self.from_pb_table = {v: k for k, v in table.items()}
        self.field = field
        self.unspecified = unspecified

    def to_pb(self, value: E | None) -> int:
        return self.unspecified if value is None else self.to_pb_table[value]

    def from_pb(self, number: int) -> E | None:
        """The domain value; None for the unspecified number; InvalidArgument naming the field for another."""
        if number == self.unspecified:
            return None
        try:
            return self.from_pb_table[number]
        except KeyError:
            raise InvalidArgument(
                f"unknown {self.field}", code="invalid_enum",
                fields=[FieldProblem(self.field, f"{number} is not a known value")],
            ) from None  # fmt: skip

    def lenient(self, number: int, default: E) -> E:
        """The domain value, or `default` for the unspecified or an unknown number (a consumer reading an
        event from a newer producer)."""
        return self.from_pb_table.get(number, default)

    def require(self, number: int) -> E:
        """As `from_pb`, but the unspecified value is refused too."""
        value = self.from_pb(number)
        if value is None:
            raise InvalidArgument(
                f"{self.field} is required", code="required",
                fields=[FieldProblem(self.field, "a value is required")],
            )  # fmt: skip
        return value


def require_date(value: common_pb2.Date, field: str) -> date:
    """As `date_from_pb`, but an unset date is refused too (InvalidArgument `required` naming `field`)."""
    day = date_from_pb(value, field)
    if day is None:
        raise InvalidArgument(
            f"{field} is required", code="required", fields=[FieldProblem(field, "a date is required")]
        )
    return day
