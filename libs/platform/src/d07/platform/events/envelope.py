"""CloudEvents 1.0 in Kafka binary mode: the attributes travel as `ce_*` headers, the value is the protobuf.

Producing side: `make_headers(...)` gives the header list for one event. Consuming side: a `Decoder` turns a
Kafka record into a `ConsumedEvent`, or raises `UndecodableEvent` with a short reason code that the consumer
runner puts on the dead-letter message. `cloudevents_decoder(registry)` is the decoder every service uses:
the registry maps the full protobuf name (`ce_type`) to the message class.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from google.protobuf.message import DecodeError, Message

SPECVERSION = "1.0"
CONTENT_TYPE = "application/protobuf"
# Attributes a record must carry to be decoded; ce_subject is optional in CloudEvents and defaults to "".
REQUIRED_HEADERS = ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time")


def type_name(message: Message | type[Message]) -> str:
    """The full protobuf name (`d07.registry.v1.UnitCreated`), used as `ce_type` and as the registry key."""
    return str(message.DESCRIPTOR.full_name)


def format_time(time: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, as CloudEvents wants; a naive datetime is refused (its zone is a guess)."""
    if time.tzinfo is None:
        raise ValueError("ce_time needs a timezone-aware datetime")
    return time.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def make_headers(
    *,
    event_id: uuid.UUID,
    event_type: str,
    source: str,
    subject: str,
    time: datetime,
    traceparent: str | None = None,
) -> list[tuple[str, bytes]]:
    """The Kafka headers of one event (CloudEvents binary mode)."""
    headers = [
        ("ce_specversion", SPECVERSION.encode()),
        ("ce_id", str(event_id).encode()),
        ("ce_source", source.encode()),
        ("ce_type", event_type.encode()),
        ("ce_time", format_time(time).encode()),
        ("ce_subject", subject.encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]
    if traceparent:
        headers.append(("traceparent", traceparent.encode()))
    return headers


@dataclass
class ConsumedEvent:
    """One decoded event with where it came from (topic, partition, offset) and its raw parts."""

    id: uuid.UUID
    type: str
    source: str
    subject: str
    time: datetime
    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: dict[str, bytes]
    value: bytes
    message: Message | None


class UndecodableEvent(Exception):
    """A record that can never be decoded, however often it is read: it goes to the dead-letter topic.

    `reason` is a short snake_case code (missing_header, bad_header, bad_specversion, bad_id, bad_time,
    bad_content_type, unknown_type, bad_payload) that becomes the `d07_dlq_reason` header and a metric label;
    `detail` is for a person.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


# A decoder turns one aiokafka ConsumerRecord into a ConsumedEvent or raises UndecodableEvent.
Decoder = Callable[[Any], ConsumedEvent]


def _text(headers: Mapping[str, bytes], name: str) -> str:
    try:
        return headers[name].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UndecodableEvent("bad_header", f"header {name} is not UTF-8") from exc


def _parse_time(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UndecodableEvent("bad_time", f"ce_time {text!r} is not RFC 3339") from exc
    if parsed.tzinfo is None:
        raise UndecodableEvent("bad_time", f"ce_time {text!r} has no offset")
    return parsed.astimezone(UTC)


def header_dict(raw: Iterable[tuple[str, bytes | None]] | None) -> dict[str, bytes]:
    """Kafka headers as a dict (a repeated name keeps its last value, as CloudEvents readers do)."""
    return {name: value or b"" for name, value in (raw or ())}


def decode_record(record: Any, registry: Mapping[str, type[Message]]) -> ConsumedEvent:
    """Decode a CloudEvents binary-mode record whose value is a protobuf message named by `ce_type`."""
    headers = header_dict(record.headers)
    missing = [name for name in REQUIRED_HEADERS if name not in headers]
    if missing:
        raise UndecodableEvent("missing_header", f"missing {', '.join(missing)}")
    specversion = _text(headers, "ce_specversion")
    if specversion != SPECVERSION:
        raise UndecodableEvent("bad_specversion", f"ce_specversion {specversion!r}, expected {SPECVERSION}")
    raw_id = _text(headers, "ce_id")
    try:
        event_id = uuid.UUID(raw_id)
    except ValueError as exc:
        raise UndecodableEvent("bad_id", f"ce_id {raw_id!r} is not a UUID") from exc
    content_type = headers.get("content-type")
    if content_type is not None and content_type != CONTENT_TYPE.encode():
        raise UndecodableEvent("bad_content_type", f"content-type {content_type!r}, expected {CONTENT_TYPE}")
    event_type = _text(headers, "ce_type")
    cls = registry.get(event_type)
    if cls is None:
        raise UndecodableEvent("unknown_type", f"no message class registered for ce_type {event_type!r}")
    value = record.value if record.value is not None else b""
    try:
        message = cls.FromString(value)
    except (DecodeError, ValueError) as exc:
        raise UndecodableEvent("bad_payload", f"value is not a valid {event_type}: {exc}") from exc
    return ConsumedEvent(
        id=event_id,
        type=event_type,
        source=_text(headers, "ce_source"),
        subject=_text(headers, "ce_subject") if "ce_subject" in headers else "",
        time=_parse_time(_text(headers, "ce_time")),
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        headers=headers,
        value=value,
        message=message,
    )


def message_registry(messages: Iterable[type[Message]]) -> dict[str, type[Message]]:
    """`{full name: class}` for the message classes a consumer understands."""
    return {type_name(cls): cls for cls in messages}


def cloudevents_decoder(registry: Mapping[str, type[Message]]) -> Decoder:
    """The decoder of the platform's events for the message types in `registry` (see `message_registry`)."""
    return partial(decode_record, registry=dict(registry))
