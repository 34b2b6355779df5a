"""Handlers of the units read copy: the query, and keeping the copy from the registry's events."""

from __future__ import annotations

from assessment.known_units.domain import GetKnownUnit, KnownUnit, UnitSnapshot
from assessment.known_units.repository import KnownUnitRepository
from d07.platform.auth import Principal, ensure_unit_access
from d07.platform.convert import parse_uuid
from d07.platform.db import Conn
from d07.platform.errors import NotFound
from d07.platform.uow import UnitOfWork


class KnownUnitsUnitOfWork(UnitOfWork):
    units: KnownUnitRepository

    def bind(self, conn: Conn) -> None:
        self.units = KnownUnitRepository(conn)


async def get_known_unit(uow: KnownUnitsUnitOfWork, query: GetKnownUnit, principal: Principal) -> KnownUnit:
    """Province-wide readers read every unit; a unit officer its own one only."""
    uid = parse_uuid(query.unit_id, "unit_id", what="unit id")
    ensure_unit_access(principal, str(uid))
    async with uow:
        found = await uow.units.get(uid)
    if found is None:
        raise NotFound(
            f"no unit {uid} known to assessment", code="unit_not_found", resource_type="unit",
            resource_id=str(uid),
        )  # fmt: skip
    return found


async def keep_unit(units: KnownUnitRepository, snapshot: UnitSnapshot) -> None:
    """A unit created or updated in the registry (inside the consumer's transaction)."""
    await units.upsert(snapshot)
