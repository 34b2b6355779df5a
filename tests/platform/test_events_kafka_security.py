"""The Kafka clients' security settings (d07.platform.events.kafka) and who may publish on a topic
(d07.platform.events.ownership).

The local broker (Tansu 0.6.0) has SASL (`--authentication`, SCRAM users made with `tansu user create`), but a
user can only be created over an authenticated connection and the bundled build keeps everything in memory
(its postgres storage is not compiled in), so no first user can ever exist: no client can log in to it. So
the SASL and TLS settings are tested as the arguments every client is built with, and against the plaintext
broker a client configured for SASL really attempts the handshake and is refused clearly.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from d07.platform.devstack.broker import Broker
from d07.platform.events import ConsumedEvent, make_headers, type_name
from d07.platform.events.kafka import KafkaSecurity, client_kwargs
from d07.platform.events.ownership import owner_source, wrong_source
from d07.platform.readiness import broker_check
from d07.registry.v1 import registry_pb2
from tests.platform.events_support import (
    WAIT,
    applied_count,
    make_runner,
    produce_raw,
    running,
    services,
    unit_event,
)
from tests.support.waiting import eventually

__all__ = ["services"]  # the fixture, imported for pytest

Services = Callable[[str], Awaitable[tuple[str, asyncpg.Pool]]]

ENV = ("SECURITY_PROTOCOL", "SASL_MECHANISM", "SASL_USERNAME", "SASL_PASSWORD", "SSL_CAFILE", "SSL_CERTFILE",
       "SSL_KEYFILE")  # fmt: skip


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(f"D07_KAFKA_{name}", raising=False)


def test_plaintext_is_the_default_and_adds_nothing() -> None:
    assert client_kwargs() == {}
    assert client_kwargs(KafkaSecurity(security_protocol="PLAINTEXT")) == {}


def test_sasl_plaintext_gives_scram_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("D07_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("D07_KAFKA_SASL_USERNAME", "reporting")
    monkeypatch.setenv("D07_KAFKA_SASL_PASSWORD", "s3cr3t-from-the-kafkauser")
    assert client_kwargs() == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "reporting",
        "sasl_plain_password": "s3cr3t-from-the-kafkauser",
    }
    # The password never shows in the settings' repr (logs).
    assert "s3cr3t" not in repr(KafkaSecurity())


def test_sasl_ssl_verifies_the_cluster_ca() -> None:
    kw = client_kwargs(
        KafkaSecurity(
            security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-256", sasl_username="awards",
            sasl_password="pw-1",  # noqa: S106 (a test value) ssl_cafile=certifi.where(),
        )
    )  # fmt: skip
    context = kw.pop("ssl_context")
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert kw == {
        "security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-256", "sasl_plain_username": "awards",
        "sasl_plain_password": "pw-1",
    }  # fmt: skip


def test_ssl_alone_has_no_sasl() -> None:
    kw = client_kwargs(KafkaSecurity(security_protocol="SSL"))
    assert set(kw) == {"security_protocol", "ssl_context"}
    assert kw["security_protocol"] == "SSL"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"security_protocol": "SASL_SSL", "sasl_password": "pw"}, "D07_KAFKA_SASL_USERNAME is required"),
        (
            {"security_protocol": "SASL_PLAINTEXT", "sasl_username": "u"},
            "D07_KAFKA_SASL_PASSWORD is required",
        ),
        ({"security_protocol": "SSL", "ssl_certfile": "/c.pem"}, "go together"),
        ({"ssl_cafile": "/ca.crt"}, "D07_KAFKA_SECURITY_PROTOCOL is PLAINTEXT"),
        ({"security_protocol": "TLS"}, "security_protocol"),
        ({"security_protocol": "SASL_SSL", "sasl_mechanism": "GSSAPI"}, "sasl_mechanism"),
    ],
)
def test_incomplete_settings_are_a_start_up_error(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        KafkaSecurity(**settings)  # type: ignore[arg-type]


async def test_a_sasl_client_against_the_plaintext_broker_fails_clearly(
    broker: Broker, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The readiness check (the same kwargs as every client) first passes on plaintext, then, configured for
    SASL, really offers SCRAM-SHA-512 and the broker refuses the mechanism: not ready, the reason logged."""
    await broker_check(broker.bootstrap)()
    monkeypatch.setenv("D07_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("D07_KAFKA_SASL_USERNAME", "reporting")
    monkeypatch.setenv("D07_KAFKA_SASL_PASSWORD", "pw")
    caplog.set_level(logging.ERROR, logger="aiokafka")
    with pytest.raises(Exception, match="Unable to bootstrap"):
        await asyncio.wait_for(broker_check(broker.bootstrap)(), 30)
    assert "UnsupportedSaslMechanismError" in caplog.text


def test_the_owner_of_a_topic_is_the_service_its_name_says() -> None:
    assert owner_source("d07.assessment.assessments.v1") == "/d07/assessment"
    assert owner_source("d07.cameras.violations.v12") == "/d07/cameras"
    assert owner_source("d07.assessment.assessments.v1.dlq") is None
    assert owner_source("orders") is None

    def event(topic: str, source: str) -> ConsumedEvent:
        return ConsumedEvent(
            id=uuid.uuid4(), type="t", source=source, subject="", time=datetime.now(UTC), topic=topic,
            partition=0, offset=0, key=None, headers={}, value=b"", message=None,
        )  # fmt: skip

    assert wrong_source(event("d07.assessment.assessments.v1", "/d07/assessment")) is None
    why = wrong_source(event("d07.assessment.assessments.v1", "/d07/outsider"))
    assert why is not None
    assert "/d07/outsider" in why
    assert "/d07/assessment" in why


async def test_an_event_from_the_wrong_producer_is_dead_lettered(broker: Broker, services: Services) -> None:
    """A valid CloudEvents event whose ce_source is not the topic's owner goes to <topic>.dlq with the reason
    wrong_source and is never handled; the owner's own event beside it is."""
    _, pool = await services("own")
    topic = f"d07.test{uuid.uuid4().hex[:8]}.units.v1"
    owner = topic.split(".")[1]
    forged, genuine = unit_event("u-1", 1, "forged"), unit_event("u-1", 2, "genuine")

    def headers(message: registry_pb2.UnitCreated, source: str) -> list[tuple[str, bytes]]:
        return make_headers(
            event_id=uuid.uuid4(), event_type=type_name(message), source=source, subject="u-1",
            time=datetime.now(UTC),
        )  # fmt: skip

    await produce_raw(
        broker.bootstrap,
        topic,
        [
            (b"u-1", forged.SerializeToString(), headers(forged, "/d07/outsider")),
            (b"u-1", genuine.SerializeToString(), headers(genuine, f"/d07/{owner}")),
        ],
    )
    runner = make_runner(
        pool, broker.bootstrap, group_id=f"{owner}.g", consumer_name=f"{owner}.g", topics=[topic]
    )
    async with running(runner):
        await eventually(lambda: _count(pool), within=WAIT, what="the genuine event applied")
        dead = await _read_one(broker.bootstrap, f"{topic}.dlq")
    names = await pool.fetch("SELECT name FROM applied")
    assert [r["name"] for r in names] == ["genuine"]
    assert dead["d07_dlq_reason"] == b"wrong_source"
    assert b"/d07/outsider" in dead["d07_dlq_detail"]
    assert dead["ce_source"] == b"/d07/outsider"


async def _count(pool: asyncpg.Pool) -> bool:
    return await applied_count(pool) >= 1


async def _read_one(bootstrap: str, topic: str) -> dict[str, bytes]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        async with asyncio.timeout(WAIT):
            while True:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    for r in batch:
                        return dict(r.headers)
    finally:
        await consumer.stop()
