"""Per-request context carried in contextvars: who calls, the request id, where from.

The HTTP middleware and the gRPC interceptor set these; handlers and the audit trail read them. Values are
task-local, so concurrent requests never see each other's.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from d07.platform.auth import Principal

request_id: ContextVar[str] = ContextVar("d07_request_id", default="")
trace_id: ContextVar[str] = ContextVar("d07_trace_id", default="")
client_address: ContextVar[str] = ContextVar("d07_client_address", default="")
principal: ContextVar[Principal | None] = ContextVar("d07_principal", default=None)
