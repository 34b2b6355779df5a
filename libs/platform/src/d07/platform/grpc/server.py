"""The gRPC server of every service: a grpc.aio server with health, reflection and one interceptor.

The interceptor does, for every call of every shape (unary or streaming, either side), the same things in
one place: request id and trace id into `d07.platform.context` and the structlog context, bearer-token
authentication, the `grpc_server_*` metrics, one log line per call, and the mapping of `DomainError` kinds
to status codes with google.rpc details (`d07.platform.grpc.errors`), and the request's protovalidate rules
(`d07.platform.grpc.validation`). Servicers stay thin: they read
`current_principal()` and raise domain errors.

grpc.aio runs every RPC in its own asyncio task (a copy of the server's context), so the context variables
set here belong to that one call and vanish with it; nothing has to be reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import grpc
import structlog
from google.protobuf.message import Message
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from d07.platform import bounds, context
from d07.platform.auth import Principal, TokenVerifier, bearer_token
from d07.platform.errors import DomainError, Unauthenticated
from d07.platform.grpc.errors import rich_status, status_code_for
from d07.platform.grpc.metadata import REQUEST_ID_KEY, TRACEPARENT_KEY
from d07.platform.grpc.validation import check_request
from d07.platform.metrics import GRPC_HANDLED, GRPC_SECONDS
from d07.platform.proxies import FORWARDED_FOR, Network, TrustedProxies
from d07.platform.readiness import Readiness

log = structlog.get_logger("d07.platform.grpc")

HEALTH_SERVICE = health.SERVICE_NAME
REFLECTION_SERVICE = reflection.SERVICE_NAME
# Probes (kubelet's native gRPC probe) and tools (grpcurl) carry no token. A caller that passes its own
# `public_methods` replaces this set, so it should start from it: `PUBLIC_BY_DEFAULT | {...}`.
PUBLIC_BY_DEFAULT = frozenset(
    {
        f"/{HEALTH_SERVICE}/Check",
        f"/{HEALTH_SERVICE}/Watch",
        f"/{REFLECTION_SERVICE}/ServerReflectionInfo",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    }
)
# Calls that probes and tools make all the time: counted, but logged at debug level only.
_QUIET_SERVICES = frozenset({HEALTH_SERVICE, REFLECTION_SERVICE, "grpc.reflection.v1.ServerReflection"})

# Public in grpcio-health-checking (`health.aio`) but missing from the type stubs.
AsyncHealthServicer: Any = health.aio.HealthServicer  # type: ignore[attr-defined]

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}")
_PEER = re.compile(r"^ipv[46]:\[?(.*?)\]?:\d+$")


def current_principal() -> Principal:
    """The caller of the call in hand, for servicers. Unauthenticated when the call carries none (a public
    method, or code running outside a call)."""
    who = context.principal.get()
    if who is None:
        raise Unauthenticated("this call carries no authenticated caller", code="missing_token")
    return who


# --- the server interceptor ---------------------------------------------------------------------------


def _metadata(ctx: grpc.aio.ServicerContext[Any, Any]) -> dict[str, str]:
    return {k: v for k, v in (ctx.invocation_metadata() or ()) if isinstance(v, str)}


def _request_id(value: str | None) -> str:
    """The caller's request id when it is sane (short, printable), else a new one: it lands in every log
    line of the call, so a client must not be able to stuff anything into it."""
    if value and len(value) <= 128 and value.isprintable():
        return value
    return uuid.uuid4().hex


def _client_address(peer: str) -> str:
    match = _PEER.match(peer)
    return match.group(1) if match else peer


@dataclass
class _Call:
    """What the interceptor learns about one call while it runs; logged and counted at its end."""

    service: str
    method: str
    public: bool
    started: float
    code: grpc.StatusCode = grpc.StatusCode.OK
    error: DomainError | None = None
    crashed: BaseException | None = None


class _ServerInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Wraps every method handler (all four shapes) in the same call scope."""

    def __init__(
        self, verifier: TokenVerifier, public_methods: frozenset[str], proxies: TrustedProxies | None = None
    ) -> None:
        self._verifier = verifier
        self._public = public_methods
        self._proxies = proxies or TrustedProxies()
        # Wrapped handlers by method: the servicer's handler of a method is the same object on every call, and
        # what is per call (metadata, token) is read inside the wrapper: one wrapper per method serves all.
        self._wrapped: dict[str, tuple[Any, Any]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None:  # unknown method: grpc answers UNIMPLEMENTED itself
            return None
        full = handler_call_details.method
        known = self._wrapped.get(full)
        if known is not None and known[0] is handler:
            return known[1]
        wrapped = self._wrap_handler(handler, full)
        self._wrapped[full] = (handler, wrapped)
        return wrapped

    def _wrap_handler(self, handler: Any, full: str) -> Any:
        service, _, method = full.lstrip("/").rpartition("/")
        public = full in self._public
        wrap = self._wrap
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                wrap(handler.unary_unary, service, method, public),
                handler.request_deserializer,
                handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                wrap(handler.unary_stream, service, method, public),
                handler.request_deserializer,
                handler.response_serializer,
            )
        if handler.stream_unary is not None:
            return grpc.stream_unary_rpc_method_handler(
                wrap(handler.stream_unary, service, method, public),
                handler.request_deserializer,
                handler.response_serializer,
            )
        return grpc.stream_stream_rpc_method_handler(
            wrap(handler.stream_stream, service, method, public),
            handler.request_deserializer,
            handler.response_serializer,
        )

    def _wrap(self, behavior: Any, service: str, method: str, public: bool) -> Any:
        """The same scope around a coroutine (unary response, or a streaming handler that writes with
        `context.write`) or an async generator (streaming response), keeping the shape grpc.aio checks."""
        if inspect.isasyncgenfunction(behavior):

            async def streaming(request: Any, ctx: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
                call = _Call(service=service, method=method, public=public, started=time.perf_counter())
                try:
                    self._enter(ctx, call)
                    _check_request(request)
                    check_request(request)  # the proto's buf.validate rules
                    async for response in behavior(request, ctx):
                        yield response
                except BaseException as exc:
                    await self._fail(ctx, call, exc)
                finally:
                    self._finish(ctx, call)

            return streaming

        async def unary(request: Any, ctx: grpc.aio.ServicerContext[Any, Any]) -> Any:
            call = _Call(service=service, method=method, public=public, started=time.perf_counter())
            try:
                self._enter(ctx, call)
                _check_request(request)
                check_request(request)  # the proto's buf.validate rules
                result = behavior(request, ctx)
                return await result if inspect.isawaitable(result) else result
            except BaseException as exc:
                await self._fail(ctx, call, exc)
            finally:
                self._finish(ctx, call)

        return unary

    def _enter(self, ctx: grpc.aio.ServicerContext[Any, Any], call: _Call) -> None:
        """Set the call's context; authenticate unless the method is public (Unauthenticated otherwise)."""
        md = _metadata(ctx)
        rid = _request_id(md.get(REQUEST_ID_KEY))
        trace = _TRACEPARENT.match(md.get(TRACEPARENT_KEY, ""))
        trace_id = trace.group(1) if trace and trace.group(1).strip("0") else ""
        context.request_id.set(rid)
        context.trace_id.set(trace_id)
        peer = _client_address(ctx.peer() or "")
        context.client_address.set(self._proxies.client(peer, md.get(FORWARDED_FOR)))
        context.principal.set(None)
        structlog.contextvars.bind_contextvars(request_id=rid, **({"trace_id": trace_id} if trace_id else {}))
        if not call.public:
            context.principal.set(self._verifier.verify(bearer_token(md.get("authorization"))))

    async def _fail(
        self, ctx: grpc.aio.ServicerContext[Any, Any], call: _Call, exc: BaseException
    ) -> NoReturn:
        """End the call with the status the exception stands for (always raises)."""
        if isinstance(exc, Exception) and not isinstance(exc, DomainError):
            bad = bounds.bad_input(exc)  # a database input error or an overflow: the caller's bad input
            if bad is not None:
                log.warning("bad_input", error=repr(exc)[:300], code=bad.code)
                exc = bad
        if isinstance(exc, DomainError):
            call.code, call.error = status_code_for(exc), exc
            status = rich_status(call.code, exc.message, reason=exc.code, error=exc)
            await ctx.abort(status.code, status.details, status.trailing_metadata)
        if isinstance(exc, grpc.aio.AbortError):  # the servicer aborted with a status of its own
            call.code = ctx.code() or grpc.StatusCode.UNKNOWN
            raise exc
        if not isinstance(exc, Exception):
            # The client went away (cancelled, or past its deadline) and grpc cancelled the call's task,
            # or a streaming response was closed early.
            call.code = grpc.StatusCode.CANCELLED
            remaining = ctx.time_remaining()
            if remaining is not None and remaining <= 0:
                call.code = grpc.StatusCode.DEADLINE_EXCEEDED
            raise exc
        chosen = ctx.code()
        if chosen not in (None, grpc.StatusCode.OK):
            # The servicer set a code before failing (the generated UNIMPLEMENTED stubs do): keep it.
            call.code = chosen
            raise exc
        call.code, call.crashed = grpc.StatusCode.INTERNAL, exc
        message = f"internal error (request id {context.request_id.get()})"
        status = rich_status(grpc.StatusCode.INTERNAL, message, reason="internal")
        await ctx.abort(status.code, status.details, status.trailing_metadata)

    def _finish(self, ctx: grpc.aio.ServicerContext[Any, Any], call: _Call) -> None:
        """Count the call and log one line for it."""
        seconds = time.perf_counter() - call.started
        if call.code is grpc.StatusCode.OK and call.error is None and call.crashed is None:
            call.code = ctx.code() or grpc.StatusCode.OK  # a servicer may set a code without raising
        GRPC_HANDLED.labels(
            grpc_service=call.service, grpc_method=call.method, grpc_code=call.code.name
        ).inc()
        GRPC_SECONDS.labels(grpc_service=call.service, grpc_method=call.method).observe(seconds)
        who = context.principal.get()
        fields: dict[str, Any] = {
            "grpc_service": call.service,
            "grpc_method": call.method,
            "grpc_code": call.code.name,
            "duration_ms": round(seconds * 1000, 2),
            "subject": who.subject if who is not None else None,
            "request_id": context.request_id.get(),
        }
        if call.error is not None:
            fields.update(reason=call.error.code, error=call.error.message)
            if call.error.resource_type:
                fields.update(resource_type=call.error.resource_type, resource_id=call.error.resource_id)
        if call.crashed is not None:
            log.error("grpc_call", **fields, exc_info=call.crashed)
        elif call.code in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED):
            log.warning("grpc_call", **fields)  # the attempt is on record
        elif call.service in _QUIET_SERVICES:
            log.debug("grpc_call", **fields)
        else:
            log.info("grpc_call", **fields)


def _check_request(request: Any) -> None:
    """InvalidArgument naming the fields whose text the database cannot hold (NUL, lone surrogates), at any
    depth of a unary request message; a request stream is the servicer's to check."""
    if isinstance(request, Message):
        problems = bounds.message_problems(request)
        if problems:
            raise bounds.invalid_input(problems)


# --- the server ---------------------------------------------------------------------------------------


class GrpcServer:
    """A grpc.aio server plus the task that keeps its health status in step with `Readiness`."""

    def __init__(
        self,
        server: grpc.aio.Server,
        *,
        port: int,
        health_servicer: Any,
        service_names: list[str],
        readiness: Readiness | None,
        health_interval: float,
    ) -> None:
        self.server = server
        self.port = port
        self.health = health_servicer
        self._names = ["", *service_names]
        self._readiness = readiness
        self._interval = health_interval
        self._task: asyncio.Task[None] | None = None
        self._serving: bool | None = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        """Start serving, with a first health status set before the first call is taken."""
        await self.refresh_health()
        await self.server.start()
        self._task = asyncio.create_task(self._poll_health(), name="grpc-health")
        log.info("grpc_started", port=self.port, services=self._names[1:])

    async def stop(self, grace: float | None = 5.0) -> None:
        """NOT_SERVING first (so balancers drain), then stop taking calls; calls in flight get `grace`."""
        if self._task is not None:
            # Let a readiness check in hand finish (cancelled mid-way, the broker check's half-open Kafka
            # connection outlived its client and was reported at error level as unclosed).
            self._stopping.set()
            done, _ = await asyncio.wait({self._task}, timeout=self._interval + 3.0)
            if not done:
                self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        log.info("grpc_stopped", port=self.port)

    async def wait_for_termination(self) -> None:
        await self.server.wait_for_termination()

    async def refresh_health(self) -> bool:
        """Ask the readiness checks once and publish SERVING or NOT_SERVING for every service and ""."""
        ready = True if self._readiness is None else await self._readiness.ready()
        if ready != self._serving:
            status = (
                health_pb2.HealthCheckResponse.SERVING
                if ready
                else health_pb2.HealthCheckResponse.NOT_SERVING
            )
            for name in self._names:
                await self.health.set(name, status)
            if self._serving is not None:
                log.warning("grpc_health_changed", serving=ready)
            self._serving = ready
        return ready

    async def _poll_health(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)
            if self._stopping.is_set():
                return
            try:
                await self.refresh_health()
            except Exception:  # a broken check must not end the polling; report() already catches most
                log.exception("grpc_health_poll_failed")


def build_server(
    *,
    service_names: list[str],
    register: Callable[[grpc.aio.Server], None],
    verifier: TokenVerifier,
    readiness: Readiness | None,
    host: str,
    port: int,
    public_methods: Iterable[str] = PUBLIC_BY_DEFAULT,
    health_interval: float = 2.0,
    trusted_proxies: Sequence[Network] = (),
    max_receive_bytes: int = 4 * 1024 * 1024,
    max_metadata_bytes: int = 32 * 1024,
) -> GrpcServer:
    """A grpc.aio server (not started) with the servicers `register` adds, the health service (status per
    full service name and for ""), reflection for those services, and the d07 interceptor. Port 0 binds an
    ephemeral port (`GrpcServer.port` tells which). `public_methods` are full method names
    (`/package.Service/Method`) that need no token."""
    public = frozenset(m if m.startswith("/") else f"/{m}" for m in public_methods)
    server = grpc.aio.server(
        interceptors=[_ServerInterceptor(verifier, public, TrustedProxies(trusted_proxies))],
        # Two servers on one port would split the traffic silently: fail at bind instead.
        # A message or metadata past the limits is refused (RESOURCE_EXHAUSTED) before it reaches a servicer.
        options=[
            ("grpc.so_reuseport", 0),
            ("grpc.max_receive_message_length", max_receive_bytes),
            ("grpc.max_metadata_size", max_metadata_bytes),
        ],
    )
    register(server)
    health_servicer = AsyncHealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection([*service_names, HEALTH_SERVICE, REFLECTION_SERVICE], server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if not bound:
        raise OSError(f"cannot bind gRPC to {host}:{port}")
    return GrpcServer(
        server,
        port=bound,
        health_servicer=health_servicer,
        service_names=list(service_names),
        readiness=readiness,
        health_interval=health_interval,
    )
