"""The registry's RegistryService (d07.registry.v1), one proto service over two aggregates: the units' calls
(registry.units.grpc) and the divisions' (registry.divisions.grpc), composed into one servicer."""

from __future__ import annotations

import grpc

from d07.registry.v1 import registry_pb2_grpc as pb_grpc
from registry.config import RegistryDeps
from registry.divisions.grpc import DivisionsServicer
from registry.units.grpc import UnitsServicer

SERVICE_NAME = "d07.registry.v1.RegistryService"


class RegistryServicer(UnitsServicer, DivisionsServicer):
    """Every call of RegistryService: each aggregate's part answers its own."""


def register(server: grpc.aio.Server, deps: RegistryDeps) -> None:
    pb_grpc.add_RegistryServiceServicer_to_server(RegistryServicer(deps), server)
