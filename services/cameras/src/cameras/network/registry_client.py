"""The registry, asked over gRPC (with a deadline) whether units exist."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from d07.platform.errors import Unavailable
from d07.registry.v1 import registry_pb2, registry_pb2_grpc


class RegistryClient:
    def __init__(self, channel: grpc.aio.Channel, *, timeout: float) -> None:
        self._stub = registry_pb2_grpc.RegistryServiceStub(channel)
        self._timeout = timeout

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
