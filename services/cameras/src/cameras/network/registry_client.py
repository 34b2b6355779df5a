"""The registry, asked over gRPC (with a deadline): do these units exist, which divisions are there."""

from __future__ import annotations

import time
from collections.abc import Sequence

import grpc

from d07.platform.errors import Unavailable
from d07.registry.v1 import registry_pb2, registry_pb2_grpc

# Divisions change by decree, rarely: a copy this old is still good; a new district shows within this time.
DIVISIONS_TTL_SECONDS = 600.0


class RegistryClient:
    def __init__(self, channel: grpc.aio.Channel, *, timeout: float) -> None:
        self._stub = registry_pb2_grpc.RegistryServiceStub(channel)
        self._timeout = timeout
        self._divisions: dict[str, frozenset[str]] | None = None
        self._divisions_at = 0.0

    async def missing_units(self, unit_ids: Sequence[str]) -> list[str]:
        """The ids among `unit_ids` that the registry does not know."""
        try:
            reply = await self._stub.BatchGetUnits(
                registry_pb2.BatchGetUnitsRequest(ids=list(unit_ids)), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as exc:
            raise Unavailable(
                f"the registry did not answer ({exc.code().name})", code="registry_unavailable"
            ) from exc
        return list(reply.missing_ids)

    async def divisions(self) -> dict[str, frozenset[str]]:
        """District code -> its commune codes, from a copy fetched on first use and refreshed after
        DIVISIONS_TTL_SECONDS; while the registry does not answer, a copy fetched before is still used."""
        fresh = time.monotonic() - self._divisions_at < DIVISIONS_TTL_SECONDS
        if self._divisions is not None and fresh:
            return self._divisions
        try:
            reply = await self._stub.ListDivisions(registry_pb2.ListDivisionsRequest(), timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            if self._divisions is not None:
                return self._divisions
            raise Unavailable(
                f"the registry did not answer ({exc.code().name})", code="registry_unavailable"
            ) from exc
        self._divisions = {d.code: frozenset(c.code for c in d.communes) for d in reply.districts}
        self._divisions_at = time.monotonic()
        return self._divisions
