"""The shared conversions (`d07.platform.convert`) and `ensure_version`: what every door and `messages.py`
relies on, checked without any process."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from d07.common.v1 import common_pb2
from d07.platform.auth import Principal
from d07.platform.convert import (
    EnumMap,
    actor,
    date_from_pb,
    date_to_pb,
    from_timestamp,
    optional_date_to_pb,
    optional_timestamp,
    parse_uuid,
    parse_uuids,
    require_date,
    timestamp,
)
from d07.platform.errors import Conflict, InvalidArgument, StaleVersion, ensure_version

# --- ids ----------------------------------------------------------------------------------------------


def test_parse_uuid_reads_a_uuid() -> None:
    value = uuid.uuid4()
    assert parse_uuid(str(value), "unit_id") == value


@pytest.mark.parametrize("bad", ["", "not-a-uuid", "1234", None, 42])
def test_parse_uuid_refusal_names_the_field(bad: object) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_uuid(bad, "unit_id", what="unit id")  # type: ignore[arg-type]
    error = caught.value
    assert error.code == "invalid_id"
    assert error.message == "not a valid unit id"
    assert [(f.field, f.reason) for f in error.fields] == [("unit_id", "a UUID is expected")]


def test_parse_uuid_defaults_name_an_id() -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_uuid("x")
    assert caught.value.message == "not a valid id"
    assert caught.value.fields[0].field == "id"


def test_parse_uuids_names_the_index_of_the_bad_one() -> None:
    good = [uuid.uuid4(), uuid.uuid4()]
    assert parse_uuids([str(u) for u in good], "guard_ids") == good
    with pytest.raises(InvalidArgument) as caught:
        parse_uuids([str(good[0]), "nope"], "guard_ids", what="guard id")
    assert caught.value.message == "not a valid guard id"
    assert caught.value.fields[0].field == "guard_ids[1]"


# --- timestamps and dates -----------------------------------------------------------------------------


def test_timestamp_round_trip_keeps_the_instant() -> None:
    at = datetime(2026, 12, 3, 10, 15, 30, 123456, tzinfo=UTC)
    ts = timestamp(at)
    assert isinstance(ts, Timestamp)
    assert from_timestamp(ts) == at
    assert from_timestamp(ts).tzinfo is UTC  # type: ignore[union-attr]


def test_timestamp_of_another_zone_is_the_same_instant() -> None:
    hanoi = datetime(2026, 12, 3, 17, 0, tzinfo=timezone(timedelta(hours=7)))
    assert from_timestamp(timestamp(hanoi)) == datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def test_unset_timestamps_are_none_both_ways() -> None:
    assert optional_timestamp(None) is None
    assert from_timestamp(Timestamp()) is None
    at = datetime(2020, 1, 1, tzinfo=UTC)
    assert optional_timestamp(at) == timestamp(at)


def test_dates_both_ways() -> None:
    day = date(2019, 8, 29)
    pb = date_to_pb(day)
    assert (pb.year, pb.month, pb.day) == (2019, 8, 29)
    assert date_from_pb(pb, "decided_on") == day
    assert optional_date_to_pb(None) is None
    assert optional_date_to_pb(day) == pb


def test_unset_date_is_none() -> None:
    assert date_from_pb(common_pb2.Date(), "decided_on") is None


def test_impossible_date_names_the_field() -> None:
    with pytest.raises(InvalidArgument) as caught:
        date_from_pb(common_pb2.Date(year=2019, month=2, day=30), "decided_on")
    assert caught.value.code == "invalid_date"
    assert [f.field for f in caught.value.fields] == ["decided_on"]


def test_require_date_refuses_an_unset_date_naming_the_field() -> None:
    assert require_date(date_to_pb(date(2019, 8, 29)), "decided_on") == date(2019, 8, 29)
    with pytest.raises(InvalidArgument) as caught:
        require_date(common_pb2.Date(), "decided_on")
    assert caught.value.code == "required"
    assert [(f.field, f.reason) for f in caught.value.fields] == [("decided_on", "a date is required")]
    with pytest.raises(InvalidArgument) as impossible:
        require_date(common_pb2.Date(year=2019, month=13, day=1), "decided_on")
    assert impossible.value.code == "invalid_date"


# --- actor --------------------------------------------------------------------------------------------


def test_actor_of_a_principal_has_its_subject_and_sorted_roles() -> None:
    got = actor(Principal(subject="csqlhc-1", roles=frozenset({"police", "admin"})))
    assert got.subject == "csqlhc-1"
    assert list(got.roles) == ["admin", "police"]


def test_actor_without_a_principal_is_the_system() -> None:
    got = actor(None)
    assert got.subject == "system"
    assert list(got.roles) == []


# --- EnumMap ------------------------------------------------------------------------------------------


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


COLOURS = EnumMap({Colour.RED: 1, Colour.GREEN: 2}, field="colour")


@pytest.mark.parametrize(("value", "number"), [(Colour.RED, 1), (Colour.GREEN, 2), (None, 0)])
def test_enum_map_both_ways(value: Colour | None, number: int) -> None:
    assert COLOURS.to_pb(value) == number
    assert COLOURS.from_pb(number) is value


def test_enum_map_refuses_an_unknown_number_naming_the_field() -> None:
    with pytest.raises(InvalidArgument) as caught:
        COLOURS.from_pb(7)
    error = caught.value
    assert error.code == "invalid_enum"
    assert error.message == "unknown colour"
    assert [(f.field, f.reason) for f in error.fields] == [("colour", "7 is not a known value")]


def test_enum_map_require_refuses_the_unspecified_value() -> None:
    assert COLOURS.require(2) is Colour.GREEN
    with pytest.raises(InvalidArgument) as caught:
        COLOURS.require(0)
    assert caught.value.code == "required"
    assert caught.value.fields[0].field == "colour"
    with pytest.raises(InvalidArgument, match="unknown colour"):
        COLOURS.require(9)


@pytest.mark.parametrize(("number", "value"), [(1, Colour.RED), (2, Colour.GREEN), (0, None), (7, None)])
def test_enum_map_lenient_gives_the_default_for_unset_or_unknown(number: int, value: Colour | None) -> None:
    # A consumer reading an event of a newer producer: an unknown number is not an error there.
    assert COLOURS.lenient(number, Colour.GREEN) is (value or Colour.GREEN)


def test_enum_map_with_another_unspecified_number() -> None:
    levels = EnumMap({Colour.RED: 0}, field="level", unspecified=-1)
    assert levels.from_pb(0) is Colour.RED
    assert levels.from_pb(-1) is None
    assert levels.to_pb(None) == -1


# --- ensure_version -----------------------------------------------------------------------------------


def test_ensure_version_passes_on_the_current_version() -> None:
    ensure_version(3, 3, what="violation", object_id="v-1")


def test_ensure_version_refuses_a_stale_one() -> None:
    object_id = uuid.uuid4()
    with pytest.raises(StaleVersion) as caught:
        ensure_version(2, 3, what="installation plan", object_id=object_id)
    error = caught.value
    assert isinstance(error, Conflict)
    assert error.code == "stale_version"
    assert error.message == "the installation plan is at version 3, not 2: read it again"
    assert (error.resource_type, error.resource_id) == ("installation_plan", str(object_id))
    assert [(f.field, f.reason) for f in error.fields] == [("version", "the current version is 3")]


def test_ensure_version_names_the_given_field() -> None:
    with pytest.raises(StaleVersion) as caught:
        ensure_version(4, 3, what="unit", field="unit.version")
    assert caught.value.fields[0].field == "unit.version"


@pytest.mark.parametrize("missing", [0, -1])
def test_ensure_version_requires_a_version(missing: int) -> None:
    with pytest.raises(InvalidArgument) as caught:
        ensure_version(missing, 1, what="unit", field="expected_version")
    assert caught.value.code == "version_required"
    assert caught.value.fields[0].field == "expected_version"
