"""The client side: the channel a service calls a peer with, and the interceptors that give every outgoing
call what a d07 server expects."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import grpc

from d07.platform import context
from d07.platform.grpc.metadata import REQUEST_ID_KEY, TRACEPARENT_KEY


class _Outgoing:
    """Adds to every outgoing call what a d07 server expects: the bearer token, the request id and trace of
    the call in hand, and a deadline when the caller set none (a call to a peer never waits forever)."""

    def __init__(self, token: str | Callable[[], str] | None, default_timeout: float) -> None:
        self._token = token
        self._timeout = default_timeout

    def details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        md = grpc.aio.Metadata(*(tuple(details.metadata) if details.metadata else ()))
        token = self._token() if callable(self._token) else self._token
        if token and "authorization" not in md:
            md.add("authorization", f"Bearer {token}")
        rid = context.request_id.get()
        if rid and REQUEST_ID_KEY not in md:
            md.add(REQUEST_ID_KEY, rid)
        trace_id = context.trace_id.get()
        if trace_id and TRACEPARENT_KEY not in md:
            md.add(TRACEPARENT_KEY, f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01")
        timeout = details.timeout if details.timeout is not None else self._timeout
        return grpc.aio.ClientCallDetails(
            details.method, timeout, md, details.credentials, details.wait_for_ready
        )


# grpc.aio files each interceptor under its first matching shape, so each shape needs its own object.
class _UnaryUnary(_Outgoing, grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[type-arg]
    async def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await continuation(self.details(client_call_details), request)


class _UnaryStream(_Outgoing, grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[type-arg]
    async def intercept_unary_stream(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await continuation(self.details(client_call_details), request)


class _StreamUnary(_Outgoing, grpc.aio.StreamUnaryClientInterceptor):  # type: ignore[type-arg]
    async def intercept_stream_unary(
        self, continuation: Any, client_call_details: Any, request_iterator: Any
    ) -> Any:
        return await continuation(self.details(client_call_details), request_iterator)


class _StreamStream(_Outgoing, grpc.aio.StreamStreamClientInterceptor):  # type: ignore[type-arg]
    async def intercept_stream_stream(
        self, continuation: Any, client_call_details: Any, request_iterator: Any
    ) -> Any:
        return await continuation(self.details(client_call_details), request_iterator)


def client_channel(
    target: str,
    *,
    token: str | Callable[[], str] | None,
    default_timeout: float = 5.0,
    credentials: grpc.ChannelCredentials | None = None,
) -> grpc.aio.Channel:
    """A channel to a peer service. `token` is the service's own bearer token, or a function returning the
    current one (called per call, so a refreshed token is used at once). Plaintext unless `credentials`
    are given (TLS, when the network does not provide it)."""
    interceptors: list[Any] = [
        shape(token, default_timeout) for shape in (_UnaryUnary, _UnaryStream, _StreamUnary, _StreamStream)
    ]
    if credentials is not None:
        return grpc.aio.secure_channel(target, credentials, interceptors=interceptors)
    return grpc.aio.insecure_channel(target, interceptors=interceptors)
