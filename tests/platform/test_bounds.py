"""d07.platform.bounds: the text, number and date bounds of both doors, the conversions' date range, the
mapping of database input errors, and a consumer that dead-letters an event the database refuses."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

import asyncpg
import pytest
from google.protobuf import struct_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from d07.common.v1 import common_pb2
from d07.platform import bounds
from d07.platform.convert import date_from_pb, from_timestamp
from d07.platform.devstack.broker import Broker
from d07.platform.errors import InvalidArgument
from d07.platform.events import ConsumedEvent, ConsumerRunner, type_name
from d07.registry.v1 import forces_pb2, registry_pb2
from tests.conftest import unique
from tests.platform.events_support import WAIT, produce_raw, raw_headers, running, services, unit_event
from tests.platform.test_events_consumer import metric, read_topic
from tests.support.waiting import eventually

__all__ = ["services"]

Services = Callable[[str], Awaitable[tuple[str, asyncpg.Pool]]]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("Nguyễn Văn An", None),
        ("a\x00b", "contains a NUL character"),
        ("a\ud800b", "contains a lone surrogate (not valid Unicode text)"),
        ("\udfff", "contains a lone surrogate (not valid Unicode text)"),
        ("😀 emoji is fine", None),
    ],
)
def test_text_problems(value: str, problem: str | None) -> None:
    assert bounds.text_problem(value) == problem


@pytest.mark.parametrize(
    ("value", "refused"),
    [
        ("2026-12-03", False),
        ("1900-01-01", False),
        ("2999-12-31T23:59:59+07:00", False),
        ("1899-12-31", True),
        ("0001-01-01", True),
        ("0001-01-01T00:00:00+14:00", True),
        ("9000-12-31", True),
        ("3000-01-01 00:00:00Z", True),
        ("not-a-date", False),
        ("Nhà 0001-01-01 phố", False),  # free text that contains a date is not a date
    ],
)
def test_iso_dates_out_of_the_years_are_refused(value: str, refused: bool) -> None:
    assert (bounds.value_problem(value) is not None) is refused


def test_json_problems_name_each_field_by_its_path() -> None:
    document = {"name": "a\x00", "items": [{"at": "0001-01-01"}, {"ok": "x"}], "k\ud800": 1}
    found = {p.field: p.reason for p in bounds.json_problems(document)}
    assert set(found) == {"body.name", "body.items[0].at", "body.<key>"}
    assert bounds.invalid_input(bounds.json_problems({"at": "0001-01-01"})).code == "date_out_of_range"
    assert bounds.invalid_input(bounds.json_problems(document)).code == "invalid_text"


def test_message_problems_walk_repeated_maps_and_nested_messages() -> None:
    assert bounds.message_problems(forces_pb2.ListGuardsRequest(q="Nguyễn")) == []
    assert [p.field for p in bounds.message_problems(registry_pb2.ListUnitsRequest(query="a\x00"))] == [
        "query"
    ]
    batch = registry_pb2.BatchGetUnitsRequest(ids=["a", "b\x00"])
    assert [p.field for p in bounds.message_problems(batch)] == ["ids[1]"]
    nested = registry_pb2.ListUnitsRequest(page=common_pb2.PageRequest(page_token="\x00"))  # noqa: S106
    assert [p.field for p in bounds.message_problems(nested)] == ["page.page_token"]
    attributes = struct_pb2.Struct()
    attributes.update({"colour": "red\x00", "k\x00": 1})
    assert sorted(p.field for p in bounds.message_problems(attributes)) == [
        "fields.<key>",
        "fields[colour].string_value",
    ]


def test_protobuf_dates_and_timestamps_stay_within_the_years() -> None:
    assert date_from_pb(common_pb2.Date(year=2026, month=12, day=3), "day") == date(2026, 12, 3)
    for year in (1, 1899, 3000, 9999):
        with pytest.raises(InvalidArgument) as caught:
            date_from_pb(common_pb2.Date(year=year, month=1, day=1), "period.start")
        assert caught.value.code == "date_out_of_range"
        assert [f.field for f in caught.value.fields] == ["period.start"]
    year_one = Timestamp(seconds=int(datetime(1, 1, 1, tzinfo=UTC).timestamp()))
    far = Timestamp(seconds=2**40)
    for ts in (year_one, far):
        with pytest.raises(InvalidArgument) as caught:
            from_timestamp(ts, "observed_at")
        assert caught.value.code == "date_out_of_range"
    now = Timestamp()
    now.FromDatetime(datetime(2026, 12, 3, 8, tzinfo=UTC))
    assert from_timestamp(now) == datetime(2026, 12, 3, 8, tzinfo=UTC)


async def test_database_input_errors_are_the_callers_bad_input(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("CREATE TEMP TABLE t (n int, s text, d date)")
        cases = [
            ("INSERT INTO t (n) VALUES ($1)", 2**31, "out_of_range"),  # asyncpg's own int32 check
            ("INSERT INTO t (n) VALUES ($1::bigint)", 2**31, "out_of_range"),  # the server's
            ("INSERT INTO t (s) VALUES ($1)", "a\x00b", "invalid_text"),
            (
                "INSERT INTO t (s) VALUES ($1)",
                "a\ud800b",
                "invalid_value",
            ),  # not encodable: refused by asyncpg
            ("SELECT $1::text::int", "abc", "invalid_value"),
            ("SELECT $1::timestamp + interval '300000 years'", datetime(2026, 1, 1), "out_of_range"),
        ]
        for sql, arg, code in cases:
            with pytest.raises(asyncpg.DataError) as caught:
                await conn.execute(sql, arg)
            error = bounds.bad_input(caught.value)
            assert error is not None, (sql, caught.value)
            assert error.code == code, (sql, caught.value, error)
    finally:
        await conn.close()
    overflow = bounds.bad_input(OverflowError("date value out of range"))
    assert overflow is not None
    assert overflow.code == "out_of_range"
    assert bounds.bad_input(RuntimeError("a bug")) is None


async def test_an_event_the_database_refuses_is_dead_lettered_not_retried(
    broker: Broker, services: Services
) -> None:
    _, pool = await services("bounds")
    topic, consumer = unique("d07.test.units.v1"), unique("c")

    async def store(conn: asyncpg.Connection, event: ConsumedEvent) -> None:
        unit = event.message.unit  # type: ignore[attr-defined]
        await conn.execute(
            "INSERT INTO applied (event_id, key, seq, name) VALUES ($1, $2, $3, $4)",
            event.id, unit.id, unit.version, unit.name,
        )  # fmt: skip

    events = [
        unit_event("unit-1", 1, "first"),
        unit_event("unit-1", 2, "nul \x00 in it"),
        unit_event("unit-1", 3),
    ]
    await produce_raw(
        broker.bootstrap,
        topic,
        [(b"unit-1", e.SerializeToString(), raw_headers(uuid.uuid4(), e)) for e in events],
    )
    runner = ConsumerRunner(
        pool=pool, bootstrap=broker.bootstrap, group_id=unique("g"), consumer_name=consumer, topics=[topic],
        handlers={type_name(registry_pb2.UnitCreated): store}, messages=[registry_pb2.UnitCreated],
        session_timeout_ms=6000, max_backoff=1.0,
    )  # fmt: skip
    async with running(runner):
        await eventually(
            lambda: pool.fetchval("SELECT count(*) FROM applied"),
            until=lambda n: n == 2,
            what="the two good events",
            within=WAIT,
        )
        await asyncio.sleep(0.5)
    letters = await read_topic(broker.bootstrap, f"{topic}.dlq", 1)
    assert letters[0][2]["d07_dlq_reason"] == b"invalid_event"
    assert (
        metric("d07_events_dead_lettered_total", consumer=consumer, topic=topic, reason="invalid_event") == 1
    )
    assert metric("d07_consumer_retries_total", consumer=consumer) == 0
