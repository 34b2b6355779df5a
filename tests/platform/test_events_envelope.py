"""CloudEvents binary mode: headers out, the same event back in, and every way a record can be undecodable."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord

from d07.platform.events import (
    UndecodableEvent,
    cloudevents_decoder,
    make_headers,
    message_registry,
    type_name,
)
from d07.registry.v1 import registry_pb2

DECODE = cloudevents_decoder(message_registry([registry_pb2.UnitCreated, registry_pb2.UnitUpdated]))
WHEN = datetime(2025, 3, 1, 8, 30, 15, 123456, tzinfo=timezone(timedelta(hours=7)))


def record(headers: list[tuple[str, bytes]], value: bytes | None, key: bytes | None = b"unit-1") -> Any:
    return ConsumerRecord(
        topic="d07.registry.units.v1", partition=2, offset=41, timestamp=0, timestamp_type=0, key=key,
        value=value, checksum=None, serialized_key_size=0, serialized_value_size=0, headers=headers,
    )  # fmt: skip


def good(
    overrides: dict[str, bytes | None] | None = None,
) -> tuple[list[tuple[str, bytes]], bytes, uuid.UUID]:
    """A well-formed event's headers and value; `overrides` replaces headers (None removes one)."""
    message = registry_pb2.UnitCreated(unit=registry_pb2.Unit(id="unit-1", name="Trường THPT Chu Văn An"))
    event_id = uuid.uuid4()
    headers = make_headers(
        event_id=event_id, event_type=type_name(message), source="/d07/registry", subject="unit-1", time=WHEN,
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )  # fmt: skip
    as_dict = dict(headers)
    for name, value in (overrides or {}).items():
        if value is None:
            del as_dict[name]
        else:
            as_dict[name] = value
    return list(as_dict.items()), message.SerializeToString(), event_id


def test_headers_follow_cloudevents_binary_mode() -> None:
    headers, _, event_id = good()
    h = dict(headers)
    assert h["ce_specversion"] == b"1.0"
    assert h["ce_id"] == str(event_id).encode()
    assert h["ce_type"] == b"d07.registry.v1.UnitCreated"
    assert h["ce_source"] == b"/d07/registry"
    assert h["ce_subject"] == b"unit-1"
    assert h["ce_time"] == b"2025-03-01T01:30:15.123456Z"  # converted to UTC
    assert h["content-type"] == b"application/protobuf"
    assert h["traceparent"].startswith(b"00-0af7")
    no_trace = make_headers(event_id=event_id, event_type="x", source="s", subject="", time=WHEN)
    assert "traceparent" not in dict(no_trace)
    with pytest.raises(ValueError, match="timezone"):
        make_headers(event_id=event_id, event_type="x", source="s", subject="", time=datetime(2025, 1, 1))


def test_round_trip() -> None:
    headers, value, event_id = good()
    event = DECODE(record(headers, value))
    assert event.id == event_id
    assert event.type == "d07.registry.v1.UnitCreated"
    assert event.source == "/d07/registry"
    assert event.subject == "unit-1"
    assert event.time == WHEN
    assert event.time.tzinfo == UTC
    assert (event.topic, event.partition, event.offset, event.key) == (
        "d07.registry.units.v1",
        2,
        41,
        b"unit-1",
    )
    assert isinstance(event.message, registry_pb2.UnitCreated)
    assert event.message.unit.name == "Trường THPT Chu Văn An"
    assert event.value == value
    assert event.headers["ce_id"] == str(event_id).encode()


def test_type_name_of_instance_and_class() -> None:
    assert (
        type_name(registry_pb2.UnitUpdated)
        == type_name(registry_pb2.UnitUpdated())
        == "d07.registry.v1.UnitUpdated"
    )


@pytest.mark.parametrize(
    ("overrides", "value", "reason"),
    [
        ({"ce_id": None}, None, "missing_header"),
        ({"ce_type": None, "ce_source": None}, None, "missing_header"),
        ({"ce_specversion": b"0.3"}, None, "bad_specversion"),
        ({"ce_id": b"not-a-uuid"}, None, "bad_id"),
        ({"ce_time": b"yesterday"}, None, "bad_time"),
        ({"ce_time": b"2025-03-01T08:30:15"}, None, "bad_time"),
        ({"ce_type": b"d07.registry.v1.NoSuchEvent"}, None, "unknown_type"),
        ({"content-type": b"application/json"}, None, "bad_content_type"),
        ({"ce_source": b"\xff\xfe"}, None, "bad_header"),
        ({}, b'{"unit": "not protobuf"}', "bad_payload"),
    ],
)
def test_undecodable(overrides: dict[str, bytes | None], value: bytes | None, reason: str) -> None:
    headers, good_value, _ = good(overrides)
    with pytest.raises(UndecodableEvent) as caught:
        DECODE(record(headers, value if value is not None else good_value))
    assert caught.value.reason == reason
    assert caught.value.detail


def test_no_headers_at_all() -> None:
    with pytest.raises(UndecodableEvent) as caught:
        DECODE(record([], b"garbage"))
    assert caught.value.reason == "missing_header"
    assert "ce_id" in caught.value.detail
