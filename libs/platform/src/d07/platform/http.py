"""The HTTP door of every service: one FastAPI app shape, built by `create_app`.

What every service gets from here, so that no service writes it again:
- `/healthz` (the process lives), `/readyz` (the shared `Readiness`: database, migrations, broker),
  `/metrics` (prometheus-client, default registry), `/docs` and `/openapi.json`; these need no token;
- a bearer token on every route of the service's routers (`authenticated`, the `Caller` parameter type),
  shown in the OpenAPI document as the `BearerAuth` scheme; `public_routers` (opt-in, rare) need none;
- RFC 9457 problem details (`application/problem+json`) for every error: domain errors, HTTP errors,
  request validation errors and unexpected exceptions (500 without the exception's text);
- a pure ASGI middleware for request ids, context variables, the request log line and the HTTP metrics
  labelled by route template.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from http import HTTPStatus
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote

import asyncpg
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import REGISTRY
from prometheus_client.exposition import choose_encoder
from pydantic import BaseModel
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route
from starlette.types import ASGIApp, Lifespan, Message, Receive, Scope, Send

from d07.platform import bounds, context
from d07.platform.auth import Principal, TokenVerifier, require_roles
from d07.platform.errors import (
    AlreadyExists,
    Conflict,
    DomainError,
    FieldProblem,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from d07.platform.logging import bound, get_logger
from d07.platform.metrics import HTTP_REQUESTS, HTTP_SECONDS
from d07.platform.proxies import FORWARDED_FOR, TrustedProxies, parse_networks
from d07.platform.readiness import Readiness

log = get_logger(__name__)

PROBLEM_TYPE_BASE = "https://d07.gov.vn/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
REQUEST_ID_HEADER = "x-request-id"
UNMATCHED_ROUTE = "<unmatched>"

# Each kind of domain error: its HTTP status and the code used when the error carries none of its own.
# Looked up along the exception's MRO, so a service's subclass of NotFound is still a 404.
DOMAIN_STATUS: dict[type[DomainError], tuple[int, str]] = {
    InvalidArgument: (400, "invalid_argument"),
    NotFound: (404, "not_found"),
    AlreadyExists: (409, "already_exists"),
    Conflict: (409, "conflict"),
    Unauthenticated: (401, "unauthenticated"),
    PermissionDenied: (403, "permission_denied"),
    Unavailable: (503, "unavailable"),
    DomainError: (400, "error"),
}
# Codes of HTTP errors raised by the framework (unknown path, wrong method, ...) or by a route.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    500: "internal",
    503: "unavailable",
}
# Methods outside this set are counted as "other": a client must not mint label values at will.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


# --- problem details (RFC 9457) ---------------------------------------------------------------------


class ProblemResponse(JSONResponse):
    """A problem details body: UTF-8 JSON (Vietnamese text stays readable) under its own media type."""

    media_type = PROBLEM_MEDIA_TYPE


class FieldProblemModel(BaseModel):
    field: str
    reason: str


class Problem(BaseModel):
    """The body of every error response (documented in the OpenAPI schema)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str
    request_id: str
    fields: list[FieldProblemModel] | None = None


def problem(
    status: int,
    *,
    code: str,
    detail: str,
    instance: str,
    fields: Sequence[FieldProblem] = (),
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> ProblemResponse:
    """Build a problem response; `type` names the code so clients can tell problems apart."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + quote(code, safe="") if code else "about:blank",
        "title": _phrase(status),
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
        "request_id": context.request_id.get(),
    }
    if fields:
        body["fields"] = [{"field": f.field, "reason": f.reason} for f in fields]
    if extra:
        body.update(extra)
    return ProblemResponse(body, status_code=status, headers=headers)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _www_authenticate(code: str) -> str:
    # RFC 6750: no error attribute when no credentials came at all.
    if code == "missing_token":
        return 'Bearer realm="d07"'
    return f'Bearer realm="d07", error="invalid_token", error_description="{code}"'


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    status, default_code = next(DOMAIN_STATUS[k] for k in type(exc).__mro__ if k in DOMAIN_STATUS)
    code = exc.code if exc.code != "error" else default_code
    headers = None
    if isinstance(exc, Unauthenticated):
        headers = {"WWW-Authenticate": _www_authenticate(code)}
    elif isinstance(exc, PermissionDenied):
        caller = context.principal.get()
        log.warning(
            "permission_denied",
            subject=caller.subject if caller else None,
            roles=sorted(caller.roles) if caller else [],
            resource=f"{exc.resource_type}/{exc.resource_id}" if exc.resource_type else request.url.path,
            code=code,
            method=request.method,
        )
    return problem(
        status, code=code, detail=exc.message, instance=request.url.path, fields=exc.fields, headers=headers
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    headers = dict(exc.headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="d07"')
    detail = exc.detail if isinstance(exc.detail, str) else _phrase(status)
    return problem(
        status,
        code=HTTP_CODES.get(status, ""),
        detail=detail,
        instance=request.url.path,
        headers=headers or None,
    )


async def _bad_input(request: Request, exc: Exception) -> Response:
    """A database input error (asyncpg's DataError family) or an overflow from a route: the caller's input
    was out of bounds (400), never a 500."""
    error = bounds.bad_input(exc)
    assert error is not None
    log.warning("bad_input", error=repr(exc)[:300], code=error.code, path=request.url.path)
    return await _domain_error(request, error)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    # FastAPI decodes a JSON body before it resolves the route's dependencies: a body that is not JSON at all
    # is refused here, so the route's role list (`allowed`) is checked here first, as for any other bad body.
    roles = _route_roles(request)
    if roles is not None and any(err.get("type") == "json_invalid" for err in exc.errors()):
        try:
            _check_roles(request, roles)
        except DomainError as refused:
            return await _domain_error(request, refused)
    fields = [
        FieldProblem(".".join(str(p) for p in err.get("loc", ())), str(err.get("msg", "")))
        for err in exc.errors()
    ]
    names = ", ".join(f.field for f in fields)
    return problem(
        422,
        code="validation_failed",
        detail=f"the request is not valid: {names}",
        instance=request.url.path,
        fields=fields,
    )


# --- authentication -----------------------------------------------------------------------------------

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="BearerAuth",
    bearerFormat="JWT",
    description="A JWT of the province's identity provider; locally `make token ROLE=<role>`.",
)


async def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Verify `Authorization: Bearer`, remember the caller in `context.principal`, return it.

    Async on purpose: it runs in the request's task, so the context variable it sets is seen by the
    route, the audit trail and the request log line.
    """
    verifier: TokenVerifier = request.app.state.verifier
    principal = verifier.verify(credentials.credentials if credentials else "")
    context.principal.set(principal)
    return principal


Caller = Annotated[Principal, Depends(authenticated)]


def client_address(request: Request) -> str:
    """The real client's address, to key a rate limit on: the connection's peer, or, when the peer is a
    trusted proxy (D07_TRUSTED_PROXIES), the client it forwarded (`X-Forwarded-For`). Never a header an
    untrusted client wrote."""
    return context.client_address.get() or (request.client.host if request.client else "")


def allowed(*roles: str) -> Any:
    """A route dependency (`@api.post(..., dependencies=[allowed(*WRITERS)])`): a caller holding none of
    `roles` gets 403 before its body is validated, instead of 422 for a body it may not send at all.

    FastAPI resolves a route's dependencies before it reports the body's validation errors (fastapi/routing.py
    `get_request_handler` → `solve_dependencies`, which runs the dependencies and collects body errors
    without raising them); a body that is not JSON is refused before that, so `_validation_error` checks the
    same list then. The list is the handler's own constant: the handler's check stays the authority."""
    wanted = tuple(roles)

    async def roles_first(caller: Caller) -> None:
        require_roles(caller, *wanted)

    roles_first.d07_roles = wanted  # type: ignore[attr-defined]
    return Depends(roles_first)


def _route_roles(request: Request) -> tuple[str, ...] | None:
    route = request.scope.get("route")
    for dependency in getattr(route, "dependencies", ()):
        roles = getattr(getattr(dependency, "dependency", None), "d07_roles", None)
        if roles is not None:
            return tuple(roles)
    return None


def _check_roles(request: Request, roles: tuple[str, ...]) -> None:
    verifier: TokenVerifier = request.app.state.verifier
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    principal = verifier.verify(token.strip() if scheme.lower() == "bearer" else "")
    context.principal.set(principal)
    require_roles(principal, *roles)


# --- the request middleware ---------------------------------------------------------------------------


def route_template(scope: Scope, static_paths: frozenset[str] = frozenset()) -> str:
    """The template of the route that matched (`/v1/units/{unit_id}`), never the raw path.

    FastAPI 0.16x includes routers lazily: for a router included in a router, `scope["route"].path` is
    only the innermost part, while the effective route context it records holds the full template. That
    context is preferred when present; `scope["route"]` is Starlette's own contract and the fallback.
    FastAPI records neither for its plain routes (`/docs`, `/openapi.json`): those have no parameters,
    so a path found in `static_paths` is its own template.
    """
    effective = (scope.get("fastapi") or {}).get("effective_route_context")
    template = getattr(effective, "path_format", None)
    if isinstance(template, str) and template:
        return template
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if isinstance(template, str) and template:
        return template
    path = scope.get("path", "")
    return path if path in static_paths else UNMATCHED_ROUTE


def _request_id(headers: Headers) -> str:
    given = headers.get(REQUEST_ID_HEADER, "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex


def _trace_id(headers: Headers) -> str:
    match = _TRACEPARENT.match(headers.get("traceparent", "").strip())
    if match is None or match.group(1) == "0" * 32:
        return ""
    return match.group(1)


class RequestMiddleware:
    """Request id, context variables, the request log line and the HTTP metrics, around every request.

    A pure ASGI middleware rather than BaseHTTPMiddleware: no extra task per request, and the context
    variables it sets are the ones the route sees. It is also the last line of defence: an exception that
    no handler took becomes a 500 problem (logged with its traceback), carrying the request id.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        static_paths: frozenset[str] = frozenset(),
        proxies: TrustedProxies | None = None,
    ) -> None:
        self.app = app
        self.static_paths = static_paths
        self.proxies = proxies or TrustedProxies()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = Headers(scope=scope)
        request_id = _request_id(headers)
        trace_id = _trace_id(headers)
        client = scope.get("client")
        tokens = (
            context.request_id.set(request_id),
            context.trace_id.set(trace_id),
            context.client_address.set(self._client(headers, client[0] if client else "")),
            context.principal.set(None),
        )
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            with bound(request_id=request_id, **({"trace_id": trace_id} if trace_id else {})):
                try:
                    await self.app(scope, receive, send_with_id)
                except Exception:
                    log.exception("unhandled_error", method=scope["method"], path=scope["path"])
                    if response_started:
                        raise
                    response = problem(
                        500,
                        code="internal",
                        detail="an unexpected error occurred; quote the request id when reporting it",
                        instance=scope["path"],
                    )
                    await response(scope, receive, send_with_id)
                finally:
                    self._observe(scope, status, time.perf_counter() - started)
        finally:
            context.principal.reset(tokens[3])
            context.client_address.reset(tokens[2])
            context.trace_id.reset(tokens[1])
            context.request_id.reset(tokens[0])

    def _client(self, headers: Headers, peer: str) -> str:
        forwarded = headers.getlist(FORWARDED_FOR)
        return self.proxies.client(peer, ",".join(forwarded) if forwarded else None)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
        route = route_template(scope, self.static_paths)
        HTTP_REQUESTS.labels(method, route, str(status)).inc()
        HTTP_SECONDS.labels(method, route).observe(seconds)
        caller = context.principal.get()
        log.info(
            "http_request",
            method=scope["method"],
            route=route,
            path=scope["path"],
            status=status,
            duration_ms=round(seconds * 1000, 3),
            subject=caller.subject if caller else None,
            client=context.client_address.get(),
        )


# --- the bounds of input (d07.platform.bounds) ----------------------------------------------------------

_JSON_TYPE = re.compile(r"^application/(?:[\w.+-]+\+)?json\b", re.IGNORECASE)


class InputBoundsMiddleware:
    """Refuses text the database cannot hold and dates out of the platform's years before any route runs:
    400 `invalid_text` / `date_out_of_range` naming the field (`path`, `query.<name>`, `body.<path>`).

    Checks the path, every query parameter (name and value) and, for a JSON body, every string in it (the
    body is read here and handed on to the route unchanged).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int = 32 * 1024 * 1024,
        per_item_bodies: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.per_item_bodies = per_item_bodies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        receive = self._bounded(receive)
        problems = _url_problems(scope)
        per_item = scope.get("path", "") in self.per_item_bodies
        if not problems and not per_item and _JSON_TYPE.match(headers.get("content-type", "")):
            try:
                messages, body = await _read_body(receive)
            except StarletteHTTPException:
                await self._too_large(scope, receive, send)
                return
            problems = _body_problems(body)
            receive = _replay(messages, receive)
        if problems:
            error = bounds.invalid_input(problems)
            response = problem(
                400, code=error.code, detail=error.message, instance=scope.get("path", ""), fields=problems
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _bounded(self, receive: Receive) -> Receive:
        """`receive`, raising 413 (an HTTPException: the app answers it as a problem) once the body passes
        the limit, for a body sent without a length or longer than it said."""
        seen = 0
        limit = self.max_body_bytes

        async def bounded() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise StarletteHTTPException(413, f"the request body is larger than {limit} bytes")
            return message

        return bounded

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"the request body is larger than {self.max_body_bytes} bytes"
        response = problem(413, code="payload_too_large", detail=detail, instance=scope.get("path", ""))
        await response(scope, receive, send)


def _url_problems(scope: Scope) -> list[FieldProblem]:
    found: list[FieldProblem] = []
    for segment in str(scope.get("path", "")).split("/"):
        reason = bounds.value_problem(segment)
        if reason is not None:
            found.append(FieldProblem("path", reason))
            break
    # As Starlette reads the query (so the values checked are the values the route gets).
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        reason = bounds.text_problem(name) or bounds.value_problem(value)
        if reason is not None:
            found.append(FieldProblem(f"query.{name.replace(chr(0), '')}", reason))
    return found


async def _read_body(receive: Receive) -> tuple[list[Message], bytes]:
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return messages, b"".join(chunks)


def _body_problems(body: bytes) -> list[FieldProblem]:
    if not body:
        return []
    try:
        document = json.loads(body)
    except ValueError:  # not JSON (or not UTF-8): the route's own validation answers 422
        return []
    return bounds.json_problems(document)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


# --- the app ------------------------------------------------------------------------------------------


def create_app(
    *,
    title: str,
    service: str,
    verifier: TokenVerifier,
    readiness: Readiness,
    routers: Sequence[APIRouter],
    public_routers: Sequence[APIRouter] = (),
    version: str = "0.1.0",
    lifespan: Lifespan[FastAPI] | None = None,
    trusted_proxies: Sequence[str] = (),
    max_body_bytes: int = 32 * 1024 * 1024,
    per_item_bodies: Sequence[str] = (),
) -> FastAPI:
    """The service's FastAPI app: its routers behind bearer auth, plus the operational endpoints.

    `per_item_bodies` are paths whose JSON body is a batch the route checks item by item (refusing a bad
    item by its index and keeping the good ones): the edge leaves their body's text to the route.

    `public_routers` are served without a token: only for what is public by nature (for example the
    verification of a printed certificate's code). Their routes must reveal nothing but public facts and
    should limit their own rate.
    """
    app = FastAPI(title=title, version=version, lifespan=lifespan)
    app.state.service = service
    app.state.verifier = verifier
    app.state.readiness = readiness

    handlers: dict[type[Exception], Callable[[Request, Exception], Awaitable[Response]]] = {
        DomainError: _domain_error,
        StarletteHTTPException: _http_error,
        RequestValidationError: _validation_error,
        asyncpg.DataError: _bad_input,
        OverflowError: _bad_input,
    }
    for exc_type, handler in handlers.items():
        app.add_exception_handler(exc_type, handler)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> Response:
        report = await readiness.report()
        failing = {name: state for name, state in report.items() if state != "ok"}
        if not failing:
            return JSONResponse({"status": "ready", "checks": report})
        detail = "; ".join(f"{name}: {state}" for name, state in failing.items())
        return problem(
            503,
            code="not_ready",
            detail=f"not ready: {detail}",
            instance=request.url.path,
            extra={"failing": sorted(failing), "checks": report},
        )

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encoder(REGISTRY), media_type=content_type)

    for router in routers:
        app.include_router(router, dependencies=[Depends(authenticated)])
    for router in public_routers:
        app.include_router(router)
    static_paths = frozenset(
        r.path
        for r in app.routes
        if isinstance(r, Route) and not isinstance(r, APIRoute) and not r.param_convertors
    )
    app.add_middleware(
        InputBoundsMiddleware, max_body_bytes=max_body_bytes, per_item_bodies=frozenset(per_item_bodies)
    )
    proxies = TrustedProxies(parse_networks(trusted_proxies))
    app.add_middleware(RequestMiddleware, static_paths=static_paths, proxies=proxies)
    _document_problems(app)
    return app


# --- the errors in the OpenAPI document -----------------------------------------------------------------

# What the platform itself may answer on any route (bounds, unknown ids, conflicts, validation, the last line
# of defence, a dependency down), and on a route behind a token.
ERRORS_ANYWHERE: dict[int, str] = {
    400: "Bad input (a value out of bounds, text that cannot be stored, a broken rule)",
    404: "No such object",
    409: "Conflict: the object exists, changed (stale version) or is in the wrong state",
    413: "The request body is too large",
    422: "The request does not match its schema",
    500: "Unexpected error (quote the request id)",
    503: "A dependency (database, broker, peer service) cannot answer now",
}
ERRORS_AUTHENTICATED: dict[int, str] = {
    401: "No valid bearer token",
    403: "Not allowed for this caller",
}


def _problem_response(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}}}


def _document_problems(app: FastAPI) -> None:
    """Every operation of the document lists the errors the platform can answer, each as
    `application/problem+json` with the `Problem` schema (and any error a route declares itself, 429 say,
    gets that media type and schema too): the document tells what the server does."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = generate()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem_schema.pop("$defs", {}))
        schemas["Problem"] = problem_schema
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                if not isinstance(operation, dict) or "responses" not in operation:
                    continue
                responses = operation["responses"]
                wanted = dict(ERRORS_ANYWHERE)
                if operation.get("security"):
                    wanted.update(ERRORS_AUTHENTICATED)
                for code, response in list(responses.items()):
                    if code[:1] in ("4", "5") and int(code) not in wanted:
                        wanted[int(code)] = response.get("description") or _phrase(int(code))
                for code, description in wanted.items():
                    responses[str(code)] = _problem_response(description)
                operation["responses"] = dict(sorted(responses.items()))
        # FastAPI's own 422 body (HTTPValidationError, ValidationError) is never served: gone with its uses.
        validation = schemas.pop("HTTPValidationError", None)
        if validation is not None and '"#/components/schemas/HTTPValidationError"' in json.dumps(document):
            schemas["HTTPValidationError"] = validation
        elif '"#/components/schemas/ValidationError"' not in json.dumps(document):
            schemas.pop("ValidationError", None)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
