"""The HTTP door (d07.platform.http): auth, problem details, request ids, metrics by route, readiness.

Most tests drive the app in-process through httpx's ASGI transport; the outage test runs uvicorn for real on
a loopback port against a private PostgreSQL server that it stops and starts again.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import structlog
import uvicorn
from fastapi import APIRouter, FastAPI
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel, Field

from d07.platform import context
from d07.platform.auth import (
    ADMIN,
    AUDITOR,
    POLICE,
    UNIT_OFFICER,
    TokenVerifier,
    ensure_dev_keys,
    ensure_unit_access,
    issue_token,
    require_roles,
)
from d07.platform.db import all_migrations, create_pool, migrate
from d07.platform.devstack.broker import Broker
from d07.platform.devstack.postgres import Postgres
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
from d07.platform.http import Caller, create_app
from d07.platform.readiness import Readiness, broker_check, database_check
from tests.conftest import unique
from tests.platform.promtool import check_metrics
from tests.support.waiting import eventually

PROBLEM = "application/problem+json"
VIETNAMESE = "Không tìm thấy đơn vị Trường THPT Chu Văn An"
INTERNAL_TEXT = "row 17 of hunter2_internal_table is corrupt"
KINDS: dict[str, tuple[type[DomainError], int]] = {
    "invalid_argument": (InvalidArgument, 400),
    "not_found": (NotFound, 404),
    "already_exists": (AlreadyExists, 409),
    "conflict": (Conflict, 409),
    "unauthenticated": (Unauthenticated, 401),
    "permission_denied": (PermissionDenied, 403),
    "unavailable": (Unavailable, 503),
}


class ThingCreate(BaseModel):
    name: str = Field(min_length=1)
    count: int


def api_router() -> APIRouter:
    """Routes that exercise the mechanism; a service's routers look the same."""
    api = APIRouter(prefix="/v1")

    @api.get("/things/{thing_id}")
    async def get_thing(thing_id: str, caller: Caller) -> dict[str, object]:
        seen = context.principal.get()
        return {
            "id": thing_id,
            "subject": caller.subject,
            "principal_in_context": seen is not None and seen.subject == caller.subject,
            "request_id": context.request_id.get(),
            "trace_id": context.trace_id.get(),
            "client_address": context.client_address.get(),
        }

    @api.post("/things", status_code=201)
    async def create_thing(body: ThingCreate, caller: Caller) -> dict[str, object]:
        return {"name": body.name, "count": body.count}

    @api.get("/police-only")
    async def police_only(caller: Caller) -> dict[str, str]:
        require_roles(caller, ADMIN, POLICE)
        return {"ok": "yes"}

    @api.get("/units/{unit_id}")
    async def get_unit(unit_id: str, caller: Caller) -> dict[str, str]:
        ensure_unit_access(caller, unit_id)
        return {"unit_id": unit_id}

    @api.get("/errors/{kind}")
    async def fail(kind: str, caller: Caller) -> None:
        error, _ = KINDS[kind]
        fields = [FieldProblem("name", "không được để trống")] if error is InvalidArgument else []
        raise error(VIETNAMESE, code=f"test_{kind}", fields=fields)

    @api.get("/boom")
    async def boom(caller: Caller) -> None:
        raise RuntimeError(INTERNAL_TEXT)

    return api


def nested_router() -> APIRouter:
    """A router included in a router, each with its own prefix: the route template must stay whole."""
    outer = APIRouter(prefix="/v1/units/{unit_id}")
    inner = APIRouter(prefix="/guards")

    @inner.get("/{guard_id}")
    async def get_guard(unit_id: str, guard_id: str, caller: Caller) -> dict[str, str]:
        return {"unit_id": unit_id, "guard_id": guard_id}

    outer.include_router(inner)
    return outer


class Keys:
    def __init__(self, root: Path) -> None:
        key, jwks = ensure_dev_keys(root / "keys")
        other_key, _ = ensure_dev_keys(root / "other-keys")
        self.pem = key.read_bytes()
        self.other_pem = other_key.read_bytes()
        self.verifier = TokenVerifier(issuer="d07-dev", audience="d07", jwks_file=str(jwks))

    def token(self, *roles: str, unit_id: str | None = None) -> str:
        return issue_token(self.pem, roles=roles, subject=unique("user"), unit_id=unit_id)

    def headers(self, *roles: str, unit_id: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(*roles, unit_id=unit_id)}"}


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return Keys(tmp_path_factory.mktemp("http-auth"))


def build_app(keys: Keys, readiness: Readiness | None = None) -> FastAPI:
    async def fine() -> None:
        return None

    return create_app(
        title="test",
        service="test",
        verifier=keys.verifier,
        readiness=readiness or Readiness({"always": fine}),
        routers=[api_router(), nested_router()],
    )


@pytest.fixture(scope="module")
def app(keys: Keys) -> FastAPI:
    return build_app(keys)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://d07.test") as c:
        yield c


def assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"https://d07.gov.vn/problems/{code}"
    assert body["title"]
    assert body["detail"]
    assert body["instance"] == r.request.url.path
    assert body["request_id"] == r.headers["x-request-id"]
    return body  # type: ignore[no-any-return]


# --- auth ---------------------------------------------------------------------------------------------


async def test_operational_endpoints_need_no_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"always": "ok"}}
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert b"# TYPE http_requests_total counter" in metrics.content
    assert (await client.get("/docs")).status_code == 200


async def test_openapi_shows_the_bearer_scheme_on_api_routes(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    assert doc["components"]["securitySchemes"]["BearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": doc["components"]["securitySchemes"]["BearerAuth"]["description"],
    }
    get_thing = doc["paths"]["/v1/things/{thing_id}"]["get"]
    assert {"BearerAuth": []} in get_thing["security"]
    assert PROBLEM in get_thing["responses"]["401"]["content"]
    assert "/v1/units/{unit_id}/guards/{guard_id}" in doc["paths"]
    assert "/healthz" not in doc["paths"]


async def test_no_token_is_401_with_www_authenticate(client: httpx.AsyncClient) -> None:
    r = await client.get("/v1/things/x")
    assert_problem(r, 401, "missing_token")
    assert r.headers["www-authenticate"] == 'Bearer realm="d07"'
    basic = await client.get("/v1/things/x", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_problem(basic, 401, "missing_token")


@pytest.mark.parametrize(
    ("make_token", "code"),
    [
        (lambda k: "not-a-jwt", "invalid_token"),
        (lambda k: issue_token(k.other_pem, roles=[POLICE], subject="mallory"), "invalid_token"),
        (lambda k: issue_token(k.pem, roles=[POLICE], subject="late", ttl_seconds=-3600), "expired_token"),
        (
            lambda k: issue_token(k.pem, roles=[POLICE], subject="elsewhere", audience="other"),
            "invalid_token",
        ),
    ],
    ids=["garbage", "foreign-key", "expired", "wrong-audience"],
)
async def test_a_bad_token_is_401(
    client: httpx.AsyncClient, keys: Keys, make_token: Callable[[Keys], str], code: str
) -> None:
    token = make_token(keys)
    r = await client.get("/v1/things/x", headers={"Authorization": f"Bearer {token}"})
    assert_problem(r, 401, code)
    assert r.headers["www-authenticate"].startswith('Bearer realm="d07", error="invalid_token"')


async def test_the_right_token_reaches_the_route_with_the_caller_in_context(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    token = keys.token(POLICE)
    r = await client.get("/v1/things/t1", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == "t1"
    assert body["subject"].startswith("user_")
    assert body["principal_in_context"] is True
    assert body["client_address"] == "10.1.2.3"
    # The middleware leaves nothing behind in the caller's context.
    assert context.request_id.get() == ""
    assert context.principal.get() is None


async def test_a_wrong_role_is_403_and_logged(client: httpx.AsyncClient, keys: Keys) -> None:
    assert (await client.get("/v1/police-only", headers=keys.headers(POLICE))).status_code == 200
    with structlog.testing.capture_logs() as logs:
        r = await client.get("/v1/police-only", headers=keys.headers(AUDITOR))
    assert_problem(r, 403, "role_required")
    denied = [e for e in logs if e["event"] == "permission_denied"]
    assert len(denied) == 1
    assert denied[0]["log_level"] == "warning"
    assert denied[0]["subject"].startswith("user_")
    assert denied[0]["resource"] == "/v1/police-only"


async def test_a_unit_officer_reaches_only_its_own_unit(client: httpx.AsyncClient, keys: Keys) -> None:
    own, other = unique("unit"), unique("unit")
    headers = keys.headers(UNIT_OFFICER, unit_id=own)
    assert (await client.get(f"/v1/units/{own}", headers=headers)).json() == {"unit_id": own}
    with structlog.testing.capture_logs() as logs:
        r = await client.get(f"/v1/units/{other}", headers=headers)
    assert_problem(r, 403, "other_unit")
    denied = next(e for e in logs if e["event"] == "permission_denied")
    assert denied["resource"] == f"unit/{other}"


# --- problem details ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_each_domain_error_kind_is_its_status_and_problem(
    client: httpx.AsyncClient, keys: Keys, kind: str
) -> None:
    _, status = KINDS[kind]
    r = await client.get(f"/v1/errors/{kind}", headers=keys.headers(ADMIN))
    body = assert_problem(r, status, f"test_{kind}")
    assert body["detail"] == VIETNAMESE
    assert VIETNAMESE.encode() in r.content  # UTF-8 text, not \u escapes
    if kind == "invalid_argument":
        assert body["fields"] == [{"field": "name", "reason": "không được để trống"}]
    else:
        assert "fields" not in body
    if kind == "unauthenticated":
        assert r.headers["www-authenticate"].startswith("Bearer")


async def test_a_validation_error_names_the_fields(client: httpx.AsyncClient, keys: Keys) -> None:
    r = await client.post("/v1/things", json={"name": "", "count": "many"}, headers=keys.headers(ADMIN))
    body = assert_problem(r, 422, "validation_failed")
    fields = {f["field"]: f["reason"] for f in body["fields"]}  # type: ignore[attr-defined]
    assert set(fields) == {"body.name", "body.count"}
    assert all(fields.values())
    ok = await client.post("/v1/things", json={"name": "Tổ bảo vệ", "count": 3}, headers=keys.headers(ADMIN))
    assert ok.status_code == 201
    assert ok.json() == {"name": "Tổ bảo vệ", "count": 3}


async def test_an_unknown_path_and_a_wrong_method_are_problems(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(f"/{unique('nowhere')}"), 404, "not_found")
    r = await client.delete("/healthz")
    assert_problem(r, 405, "method_not_allowed")
    assert "GET" in r.headers["allow"]


async def test_an_unexpected_exception_is_500_without_its_text(client: httpx.AsyncClient, keys: Keys) -> None:
    rendered: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.format_exc_info,
    ]
    with structlog.testing.capture_logs(processors=rendered) as logs:
        r = await client.get("/v1/boom", headers={**keys.headers(ADMIN), "X-Request-ID": "req-boom-1"})
    body = assert_problem(r, 500, "internal")
    assert body["request_id"] == "req-boom-1"
    assert "hunter2" not in r.text
    assert "RuntimeError" not in r.text
    errors = [e for e in logs if e["event"] == "unhandled_error"]
    assert len(errors) == 1
    assert errors[0]["log_level"] == "error"
    assert errors[0]["request_id"] == "req-boom-1"
    assert f"RuntimeError: {INTERNAL_TEXT}" in errors[0]["exception"]  # the traceback is in the log
    assert "Traceback" in errors[0]["exception"]
    done = [e for e in logs if e["event"] == "http_request"]
    assert [(e["route"], e["status"]) for e in done] == [("/v1/boom", 500)]


# --- request ids, context, the log line ---------------------------------------------------------------


async def test_a_given_request_id_is_echoed_and_bound(client: httpx.AsyncClient, keys: Keys) -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    headers = {
        **keys.headers(POLICE),
        "X-Request-ID": "req-42",
        "traceparent": f"00-{trace}-00f067aa0ba902b7-01",
    }
    with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        r = await client.get("/v1/things/t2", headers=headers)
    assert r.headers["x-request-id"] == "req-42"
    assert r.json()["request_id"] == "req-42"
    assert r.json()["trace_id"] == trace
    line = next(e for e in logs if e["event"] == "http_request")
    assert line["request_id"] == "req-42"
    assert line["trace_id"] == trace
    assert line["method"] == "GET"
    assert line["route"] == "/v1/things/{thing_id}"
    assert line["path"] == "/v1/things/t2"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0
    assert line["subject"] == r.json()["subject"]


async def test_a_missing_or_unsafe_request_id_is_replaced(client: httpx.AsyncClient, keys: Keys) -> None:
    generated = await client.get("/v1/things/t3", headers=keys.headers(POLICE))
    rid = generated.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    assert generated.json()["request_id"] == rid
    again = await client.get("/v1/things/t3", headers=keys.headers(POLICE))
    assert again.headers["x-request-id"] != rid
    unsafe = await client.get("/healthz", headers={"X-Request-ID": "a b\tc" + "x" * 200})
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe.headers["x-request-id"])


# --- metrics ------------------------------------------------------------------------------------------


def samples(exposition: str) -> Iterator[tuple[str, dict[str, str], float]]:
    for family in text_string_to_metric_families(exposition):
        for s in family.samples:
            yield s.name, s.labels, s.value


def value(exposition: str, name: str, **labels: str) -> float:
    return sum(v for n, lab, v in samples(exposition) if n == name and lab == labels)


async def test_metrics_are_labelled_by_route_template(client: httpx.AsyncClient, keys: Keys) -> None:
    first, second, guard, nowhere = unique("abc"), unique("def"), unique("g"), unique("nowhere")
    before = (await client.get("/metrics")).text
    headers = keys.headers(POLICE)
    for thing in (first, second):
        assert (await client.get(f"/v1/things/{thing}", headers=headers)).status_code == 200
    assert (await client.get(f"/v1/units/u1/guards/{guard}", headers=headers)).status_code == 200
    assert (await client.get(f"/{nowhere}")).status_code == 404
    assert (await client.get("/openapi.json")).status_code == 200
    after = (await client.get("/metrics")).text

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("http_requests_total", method="GET", route="/v1/things/{thing_id}", status="200") == 2
    assert grew("http_request_duration_seconds_count", method="GET", route="/v1/things/{thing_id}") == 2
    nested = "/v1/units/{unit_id}/guards/{guard_id}"
    assert grew("http_requests_total", method="GET", route=nested, status="200") == 1
    assert grew("http_requests_total", method="GET", route="<unmatched>", status="404") == 1
    assert grew("http_requests_total", method="GET", route="/metrics", status="200") == 1
    assert grew("http_requests_total", method="GET", route="/openapi.json", status="200") == 1
    for raw in (first, second, guard, nowhere, "u1"):
        assert all(raw not in v for _, labels, _ in samples(after) for v in labels.values())
        assert raw not in after


async def test_metrics_pass_promtool(client: httpx.AsyncClient, keys: Keys) -> None:
    await client.get("/v1/things/p1", headers=keys.headers(POLICE))
    await client.get("/v1/boom", headers=keys.headers(POLICE))
    await client.get("/v1/things/p1")
    exposition = (await client.get("/metrics")).content
    rc, out = await check_metrics(exposition)
    assert rc == 0, out
    # The linter does find faults: a camelCase name is a lint finding.
    rc, out = await check_metrics(b"# HELP fooBar x\n# TYPE fooBar counter\nfooBar 1\n")
    assert rc != 0
    assert "snake_case" in out


# --- readiness ----------------------------------------------------------------------------------------


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Run the app in uvicorn on a free loopback port of this event loop; yield its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: server.started or task.done(), within=5, interval=0.01, what="uvicorn")
        assert server.started, "uvicorn did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_readyz_follows_a_database_outage_without_a_rebuild(
    keys: Keys, broker: Broker, tmp_path: Path
) -> None:
    pg = Postgres(tmp_path / "data")  # a server of its own, since this test stops it
    try:
        await asyncio.to_thread(pg.start)
        schema = unique("http")
        migrations = all_migrations(schema, None)
        pool = await create_pool(pg.dsn("postgres"), schema=schema, min_size=1, max_size=2)
        try:
            async with pool.acquire() as conn:
                await migrate(conn, schema=schema, migrations=migrations)
            readiness = Readiness(
                {
                    "database": database_check(pool, schema=schema, migrations=migrations),
                    "broker": broker_check(broker.bootstrap),
                }
            )
            async with serving(build_app(keys, readiness)) as base, httpx.AsyncClient(base_url=base) as http:
                ready = await http.get("/readyz")
                assert ready.status_code == 200, ready.text
                assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}

                await asyncio.to_thread(pg.stop)
                down = await http.get("/readyz")
                body = assert_problem(down, 503, "not_ready")
                assert body["failing"] == ["database"]
                assert "database" in str(body["detail"])
                assert body["checks"]["broker"] == "ok"  # type: ignore[index]
                assert (await http.get("/healthz")).status_code == 200

                await asyncio.to_thread(pg.start)
                again = await eventually(
                    lambda: http.get("/readyz"),
                    until=lambda r: r.status_code == 200,
                    within=30,
                    interval=0.2,
                    what="ready again after the database restarted",
                )
                assert again.json()["checks"] == {"database": "ok", "broker": "ok"}
        finally:
            await pool.close()
    finally:
        await asyncio.to_thread(pg.stop)


async def test_readyz_names_pending_migrations(keys: Keys, database_url: str, tmp_path: Path) -> None:
    schema = unique("http")
    (tmp_path / "0001_things.sql").write_text("CREATE TABLE things (id text PRIMARY KEY);", encoding="utf-8")
    wanted = all_migrations(schema, tmp_path)
    pool = await create_pool(database_url, schema=schema, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await migrate(conn, schema=schema, migrations=all_migrations(schema, None))
        app = build_app(keys, Readiness({"database": database_check(pool, schema=schema, migrations=wanted)}))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://d07.test"
        ) as http:
            body = assert_problem(await http.get("/readyz"), 503, "not_ready")
            assert body["failing"] == ["database"]
            assert f"migrations not applied: {schema}/0001_things.sql" in str(body["detail"])
            async with pool.acquire() as conn:
                await migrate(conn, schema=schema, migrations=wanted)
            assert (await http.get("/readyz")).status_code == 200
    finally:
        await pool.close()


# --- public routers -----------------------------------------------------------------------------------


async def test_a_public_router_needs_no_token_while_the_others_still_do(keys: Keys) -> None:
    public = APIRouter(prefix="/v1/public")

    @public.get("/codes/{code}")
    async def check_code(code: str) -> dict[str, object]:
        return {"code": code, "caller": context.principal.get()}

    async def fine() -> None:
        return None

    app = create_app(
        title="test",
        service="test",
        verifier=keys.verifier,
        readiness=Readiness({"always": fine}),
        routers=[api_router()],
        public_routers=[public],
    )
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://d07.test") as c:
        r = await c.get("/v1/public/codes/ABCD")
        assert r.status_code == 200
        assert r.json() == {"code": "ABCD", "caller": None}
        assert_problem(await c.get("/v1/things/x"), 401, "missing_token")
        doc = (await c.get("/openapi.json")).json()
        assert "security" not in doc["paths"]["/v1/public/codes/{code}"]["get"]
        assert {"BearerAuth": []} in doc["paths"]["/v1/things/{thing_id}"]["get"]["security"]
        exposition = (await c.get("/metrics")).text
    route = "/v1/public/codes/{code}"
    assert value(exposition, "http_requests_total", method="GET", route=route, status="200") >= 1
