"""The consumer of the registry's units (group `assessment.registry`) into the read copy."""

from __future__ import annotations

from assessment.known_units import messages, service
from assessment.known_units.repository import KnownUnitRepository
from d07.platform.db import Conn
from d07.platform.events.envelope import ConsumedEvent
from d07.platform.runtime import ConsumerSpec, HandlerTable
from d07.registry.v1 import registry_pb2


async def on_unit(conn: Conn, event: ConsumedEvent) -> None:
    msg = event.message
    assert isinstance(msg, registry_pb2.UnitCreated | registry_pb2.UnitUpdated)
    await service.keep_unit(KnownUnitRepository(conn), messages.snapshot_from_pb(msg.unit))


TABLE: HandlerTable = {
    messages.UNITS_TOPIC: {registry_pb2.UnitCreated: on_unit, registry_pb2.UnitUpdated: on_unit},
}
# Consumer group `assessment.registry`.
CONSUMER = ConsumerSpec(name="registry", table=TABLE)
