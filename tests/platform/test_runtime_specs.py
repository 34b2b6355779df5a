"""What a service declares to the runtime: `ConsumerSpec` (topics, messages and handlers derived from one
table) and `Deps.extend` (the service's typed dependencies). No process, no database:
the pool is a stand-in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import asyncpg
import pytest

from d07.platform.auth import TokenVerifier
from d07.platform.events import ConsumedEvent
from d07.platform.runtime import ConsumerSpec, Deps
from d07.platform.settings import ServiceSettings
from d07.platform.uow import UnitOfWork
from d07.registry.v1 import registry_pb2 as pb


async def on_created(conn: asyncpg.Connection, event: ConsumedEvent) -> None: ...


async def on_updated(conn: asyncpg.Connection, event: ConsumedEvent) -> None: ...


async def on_district(conn: asyncpg.Connection, event: ConsumedEvent) -> None: ...


async def on_batch(conn: asyncpg.Connection, events: Sequence[ConsumedEvent]) -> None: ...


UNITS, DIVISIONS = "d07.test.units.v1", "d07.test.divisions.v1"


# --- ConsumerSpec -------------------------------------------------------------------------------------


def table_spec() -> ConsumerSpec:
    return ConsumerSpec(
        "registry-facts",
        table={
            UNITS: {pb.UnitCreated: on_created, pb.UnitUpdated: on_updated},
            # The same message class on a second topic: one decoder entry, one handler.
            DIVISIONS: {pb.District: on_district, pb.UnitUpdated: on_updated},
        },
    )


def test_a_table_gives_the_topics_in_order() -> None:
    assert table_spec().topics == [UNITS, DIVISIONS]


def test_a_table_gives_each_message_class_once() -> None:
    assert table_spec().messages == [pb.UnitCreated, pb.UnitUpdated, pb.District]


def test_a_table_gives_a_handler_per_event_type() -> None:
    assert table_spec().handlers == {
        "d07.registry.v1.UnitCreated": on_created,
        "d07.registry.v1.UnitUpdated": on_updated,
        "d07.registry.v1.District": on_district,
    }


def test_a_batch_handler_gives_its_own_topics_and_messages_and_no_table() -> None:
    spec = ConsumerSpec(
        "projection",
        batch_handler=on_batch,
        batch_topics=(UNITS, DIVISIONS),
        batch_messages=(pb.UnitCreated,),
    )
    assert spec.topics == [UNITS, DIVISIONS]
    assert spec.messages == [pb.UnitCreated]
    assert spec.handlers is None
    assert spec.batch_handler is on_batch


def test_both_a_table_and_a_batch_handler_are_refused() -> None:
    with pytest.raises(ValueError, match="either a handler table or a batch handler"):
        ConsumerSpec("both", table={UNITS: {pb.UnitCreated: on_created}}, batch_handler=on_batch)


def test_neither_a_table_nor_a_batch_handler_is_refused() -> None:
    with pytest.raises(ValueError, match="consumer neither"):
        ConsumerSpec("neither")


def test_one_message_class_with_two_handlers_is_refused() -> None:
    with pytest.raises(ValueError, match=r"d07.registry.v1.UnitUpdated has two handlers \(one on d07.test"):
        ConsumerSpec(
            "ambiguous",
            table={UNITS: {pb.UnitUpdated: on_updated}, DIVISIONS: {pb.UnitUpdated: on_created}},
        )


# --- Deps.extend --------------------------------------------------------------------------------------


class CamerasSettings(ServiceSettings):
    service: str = "cameras"
    offline_after_seconds: int = 300


class OtherSettings(ServiceSettings):
    service: str = "other"


@dataclass
class CamerasDeps(Deps):
    settings: CamerasSettings
    registry: Any = None
    cache: dict[str, int] = field(default_factory=dict)


def base_deps(settings: ServiceSettings) -> Deps:
    verifier = TokenVerifier(issuer="d07-dev", audience="d07", jwks_file="/nonexistent")
    return Deps(
        settings=settings, pool=cast(asyncpg.Pool, object()), verifier=verifier, source="/d07/cameras"
    )


def test_extend_builds_the_typed_subclass_with_the_base_fields() -> None:
    base = base_deps(CamerasSettings())
    client = object()
    deps = base.extend(CamerasDeps, registry=client)
    assert isinstance(deps, CamerasDeps)
    assert deps.settings is base.settings
    assert deps.settings.offline_after_seconds == 300
    assert (deps.pool, deps.verifier, deps.source) == (base.pool, base.verifier, base.source)
    assert deps.registry is client
    assert deps.cache == {}


def test_extend_refuses_settings_of_another_type() -> None:
    with pytest.raises(TypeError, match="CamerasDeps needs CamerasSettings, not OtherSettings"):
        base_deps(OtherSettings()).extend(CamerasDeps)


def test_extend_refuses_the_base_settings_class() -> None:
    with pytest.raises(TypeError, match="needs CamerasSettings, not ServiceSettings"):
        base_deps(ServiceSettings()).extend(CamerasDeps)


def test_a_unit_of_work_from_deps_carries_the_pool_and_source() -> None:
    base = base_deps(CamerasSettings())
    uow = base.uow(UnitOfWork)
    assert uow.source == "/d07/cameras"
    assert uow._pool is base.pool
