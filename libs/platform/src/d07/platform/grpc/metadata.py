"""The metadata keys a d07 gRPC client sends and a d07 server reads (besides `authorization`)."""

from __future__ import annotations

REQUEST_ID_KEY = "x-request-id"
TRACEPARENT_KEY = "traceparent"
