"""The gRPC door of every service and the channel services call each other with.

- `d07.platform.grpc.server`: the grpc.aio server (health, reflection, the one interceptor), `build_server`,
  `GrpcServer`, `current_principal`;
- `d07.platform.grpc.errors`: domain errors to status codes with google.rpc details, and back
  (`status_details`);
- `d07.platform.grpc.client`: `client_channel` and its outgoing interceptors;
- `d07.platform.grpc.metadata`: the metadata keys both sides agree on.

Everything public is importable from here, as before the split.
"""

from d07.platform.grpc.client import client_channel
from d07.platform.grpc.errors import DETAILS_KEY, ERROR_DOMAIN, rich_status, status_code_for, status_details
from d07.platform.grpc.metadata import REQUEST_ID_KEY, TRACEPARENT_KEY
from d07.platform.grpc.server import (
    HEALTH_SERVICE,
    PUBLIC_BY_DEFAULT,
    REFLECTION_SERVICE,
    AsyncHealthServicer,
    GrpcServer,
    build_server,
    current_principal,
)

__all__ = [
    "DETAILS_KEY",
    "ERROR_DOMAIN",
    "HEALTH_SERVICE",
    "PUBLIC_BY_DEFAULT",
    "REFLECTION_SERVICE",
    "REQUEST_ID_KEY",
    "TRACEPARENT_KEY",
    "AsyncHealthServicer",
    "GrpcServer",
    "build_server",
    "client_channel",
    "current_principal",
    "rich_status",
    "status_code_for",
    "status_details",
]
