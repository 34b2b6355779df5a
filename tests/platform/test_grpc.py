"""The gRPC bootstrap against a real grpc.aio server on loopback, with real tokens signed by a test key.

The servicers here are test doubles: a small in-memory `RegistryService` that checks roles the way a real one
does, and a `Probe` service of raw-bytes methods of every shape (unary and streaming on either side) that
raises what a test asks for. What is under test is the mechanism around them: auth, error mapping, metrics,
logs, health, reflection and the client channel.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from d07.platform import context
from d07.platform.auth import (
    ADMIN,
    AUDITOR,
    DIC_OPERATOR,
    SERVICE,
    UNIT_OFFICER,
    TokenVerifier,
    ensure_dev_keys,
    ensure_unit_access,
    issue_token,
    require_roles,
)
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
from d07.platform.grpc import (
    PUBLIC_BY_DEFAULT,
    GrpcServer,
    build_server,
    client_channel,
    current_principal,
    status_details,
)
from d07.platform.readiness import Readiness
from d07.registry.v1 import registry_pb2 as pb
from d07.registry.v1 import registry_pb2_grpc as pb_grpc
from tests.conftest import ROOT, unique
from tests.support.waiting import eventually

REGISTRY_SERVICE = "d07.registry.v1.RegistryService"
PROBE = "d07.test.v1.Probe"
DISTRICTS = {"HN-BD", "HN-HK"}


# --- test doubles of servicers ------------------------------------------------------------------------


class FakeRegistry(pb_grpc.RegistryServiceServicer):
    """In memory; role and object checks as a real registry makes them. BatchGetUnits is left to the
    generated base class (UNIMPLEMENTED)."""

    def __init__(self) -> None:
        self.units: dict[str, pb.Unit] = {}

    async def CreateUnit(self, request: pb.CreateUnitRequest, context: Any) -> pb.CreateUnitResponse:
        require_roles(current_principal(), ADMIN, DIC_OPERATOR)
        if request.district_code not in DISTRICTS:
            raise InvalidArgument(
                "the unit's district is not a district of the province",
                code="unknown_district",
                fields=[FieldProblem("district_code", f"unknown district {request.district_code!r}")],
            )
        if any(u.code == request.code for u in self.units.values()):
            raise AlreadyExists(
                f"a unit with code {request.code} exists",
                code="unit_code_taken",
                resource_type="unit",
                resource_id=request.code,
            )
        unit = pb.Unit(id=str(uuid.uuid4()), code=request.code, name=request.name, version=1)
        self.units[unit.id] = unit
        return pb.CreateUnitResponse(unit=unit)

    async def GetUnit(self, request: pb.GetUnitRequest, context: Any) -> pb.GetUnitResponse:
        who = current_principal()
        unit = self.units.get(request.id)
        if unit is None:
            raise NotFound(
                "no such unit", code="unit_not_found", resource_type="unit", resource_id=request.id
            )
        ensure_unit_access(who, unit.id)
        return pb.GetUnitResponse(unit=unit)


def _error(kind: str) -> DomainError:
    errors: dict[str, DomainError] = {
        "invalid": InvalidArgument(
            "bad input", code="bad_input", fields=[FieldProblem("a.b", "must be set")]
        ),
        "not_found": NotFound("gone", code="thing_not_found", resource_type="thing", resource_id="t-1"),
        "exists": AlreadyExists("twice", code="thing_exists"),
        "conflict": Conflict("wrong state", code="wrong_state"),
        "stale": Conflict("changed meanwhile", code="stale_version"),
        "unauthenticated": Unauthenticated("who are you", code="bad_credentials"),
        "denied": PermissionDenied("not yours", code="other_unit", resource_type="unit", resource_id="u-9"),
        "unavailable": Unavailable("database down", code="database_unavailable"),
        "bare": DomainError("refused", code="refused"),
    }
    return errors[kind]


def _whoami() -> bytes:
    who = context.principal.get()
    return json.dumps(
        {
            "subject": who.subject if who is not None else None,
            "request_id": context.request_id.get(),
            "trace_id": context.trace_id.get(),
            "client_address": context.client_address.get(),
        }
    ).encode()


class Probe:
    """Raw-bytes methods of every shape; each authenticates like any non-public method."""

    async def whoami(self, request: bytes, ctx: Any) -> bytes:
        return _whoami()

    async def anonymous(self, request: bytes, ctx: Any) -> bytes:
        return _whoami()

    async def anonymous_principal(self, request: bytes, ctx: Any) -> bytes:
        return current_principal().subject.encode()

    async def fail(self, request: bytes, ctx: Any) -> bytes:
        raise _error(request.decode())

    async def boom(self, request: bytes, ctx: Any) -> bytes:
        raise RuntimeError("password=hunter2 at db.internal:5432")

    async def own_abort(self, request: bytes, ctx: Any) -> bytes:
        await ctx.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down")
        raise AssertionError("abort returned")

    async def set_code(self, request: bytes, ctx: Any) -> bytes:
        ctx.set_code(grpc.StatusCode.OUT_OF_RANGE)
        ctx.set_details("past the end")
        return b""

    async def slow(self, request: bytes, ctx: Any) -> bytes:
        await asyncio.sleep(30)
        return b"late"

    async def count(self, request: bytes, ctx: Any) -> AsyncIterator[bytes]:
        """unary-stream as an async generator: n items, then the error named after the colon (if any)."""
        n, _, kind = request.decode().partition(":")
        for i in range(int(n)):
            yield str(i).encode()
        if kind:
            raise _error(kind)

    async def write_count(self, request: bytes, ctx: Any) -> None:
        """unary-stream as a coroutine that writes with the context."""
        require_roles(current_principal(), ADMIN)
        for i in range(int(request.decode())):
            await ctx.write(str(i).encode())

    async def total(self, requests: AsyncIterator[bytes], ctx: Any) -> bytes:
        """stream-unary: the sum of the numbers sent."""
        total = 0
        async for r in requests:
            total += int(r.decode())
            if total < 0:
                raise InvalidArgument("negative total", code="negative", fields=[FieldProblem("n", "< 0")])
        return str(total).encode()

    async def echo(self, requests: AsyncIterator[bytes], ctx: Any) -> AsyncIterator[bytes]:
        """stream-stream: each message back, upper-cased; 'boom' crashes."""
        async for r in requests:
            if r == b"boom":
                raise RuntimeError("secret stream state")
            yield r.upper()


def probe_handler(probe: Probe) -> grpc.GenericRpcHandler:
    return grpc.method_handlers_generic_handler(
        PROBE,
        {
            "WhoAmI": grpc.unary_unary_rpc_method_handler(probe.whoami),
            "Anonymous": grpc.unary_unary_rpc_method_handler(probe.anonymous),
            "AnonymousPrincipal": grpc.unary_unary_rpc_method_handler(probe.anonymous_principal),
            "Fail": grpc.unary_unary_rpc_method_handler(probe.fail),
            "Boom": grpc.unary_unary_rpc_method_handler(probe.boom),
            "OwnAbort": grpc.unary_unary_rpc_method_handler(probe.own_abort),
            "SetCode": grpc.unary_unary_rpc_method_handler(probe.set_code),
            "Slow": grpc.unary_unary_rpc_method_handler(probe.slow),
            "Count": grpc.unary_stream_rpc_method_handler(probe.count),
            "WriteCount": grpc.unary_stream_rpc_method_handler(probe.write_count),
            "Total": grpc.stream_unary_rpc_method_handler(probe.total),
            "Echo": grpc.stream_stream_rpc_method_handler(probe.echo),
        },
    )


# --- fixtures -----------------------------------------------------------------------------------------


@dataclass
class Keys:
    private: bytes
    jwks: Path
    other_private: bytes  # a key the server does not trust, with the same key id

    def token(self, *roles: str, subject: str = "tester", unit_id: str | None = None, ttl: int = 600) -> str:
        return issue_token(self.private, roles=roles, subject=subject, unit_id=unit_id, ttl_seconds=ttl)


@dataclass
class Env:
    server: GrpcServer
    keys: Keys
    registry: FakeRegistry
    ready: dict[str, bool]
    target: str
    channel: grpc.aio.Channel

    def md(self, *roles: str, **kwargs: Any) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.keys.token(*roles, **kwargs)}"),)

    def unary(self, method: str) -> grpc.aio.UnaryUnaryMultiCallable:  # type: ignore[type-arg]
        return self.channel.unary_unary(f"/{PROBE}/{method}")

    def registry_stub(self) -> pb_grpc.RegistryServiceStub:
        return pb_grpc.RegistryServiceStub(self.channel)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    key, jwks = ensure_dev_keys(tmp_path_factory.mktemp("trusted"))
    other, _ = ensure_dev_keys(tmp_path_factory.mktemp("untrusted"))
    return Keys(private=key.read_bytes(), jwks=jwks, other_private=other.read_bytes())


@pytest.fixture(scope="module")
async def env(keys: Keys) -> AsyncIterator[Env]:
    verifier = TokenVerifier(issuer="d07-dev", audience="d07", jwks_file=str(keys.jwks))
    ready = {"database": True}

    async def database() -> str | None:
        return None if ready["database"] else "database unreachable"

    registry = FakeRegistry()

    def register(server: grpc.aio.Server) -> None:
        pb_grpc.add_RegistryServiceServicer_to_server(registry, server)
        server.add_generic_rpc_handlers((probe_handler(Probe()),))

    server = build_server(
        service_names=[REGISTRY_SERVICE],
        register=register,
        verifier=verifier,
        readiness=Readiness(checks={"database": database}),
        host="127.0.0.1",
        port=0,
        public_methods=PUBLIC_BY_DEFAULT | {f"/{PROBE}/Anonymous", f"{PROBE}/AnonymousPrincipal"},
        health_interval=0.05,
    )
    await server.start()
    target = f"127.0.0.1:{server.port}"
    channel = grpc.aio.insecure_channel(target)
    try:
        yield Env(server=server, keys=keys, registry=registry, ready=ready, target=target, channel=channel)
    finally:
        await channel.close()
        await server.stop(1.0)


async def call_error(awaitable: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await awaitable
    return info.value


def handled(method: str, code: str, service: str = PROBE) -> float:
    labels = {"grpc_service": service, "grpc_method": method, "grpc_code": code}
    return REGISTRY.get_sample_value("grpc_server_handled_total", labels) or 0.0


async def drain(stream: Any, into: list[bytes] | None = None) -> list[bytes]:
    """Read a response stream to its end, keeping what came before an error in `into`."""
    got = [] if into is None else into
    async for message in stream:
        got.append(message)
    return got


# --- authentication and authorisation -----------------------------------------------------------------


async def test_no_token_is_unauthenticated(env: Env) -> None:
    err = await call_error(env.registry_stub().GetUnit(pb.GetUnitRequest(id="x")))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    details = status_details(err)
    assert (details["reason"], details["domain"]) == ("missing_token", "d07")


async def test_malformed_authorization_is_unauthenticated(env: Env) -> None:
    token = env.keys.token(ADMIN)
    err = await call_error(
        env.registry_stub().GetUnit(
            pb.GetUnitRequest(id="x"), metadata=(("authorization", f"Basic {token}"),)
        )
    )
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_expired_token_is_unauthenticated(env: Env) -> None:
    md = env.md(ADMIN, ttl=-3600)
    err = await call_error(env.registry_stub().GetUnit(pb.GetUnitRequest(id="x"), metadata=md))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    assert status_details(err)["reason"] == "expired_token"


def call_lines(logs: list[dict[str, Any]], method: str) -> list[dict[str, Any]]:
    """The log lines of calls of `method` (other calls of the test server may log meanwhile)."""
    return [e for e in logs if e["event"] == "grpc_call" and e.get("grpc_method") == method]


async def test_token_of_an_untrusted_key_is_unauthenticated(env: Env) -> None:
    forged = issue_token(env.keys.other_private, roles=[ADMIN], subject="mallory")
    md = (("authorization", f"Bearer {forged}"),)
    with capture_logs() as logs:
        err = await call_error(env.registry_stub().GetUnit(pb.GetUnitRequest(id="x"), metadata=md))
        # The server logs the call as it finishes, which may be just after the client has its answer.
        await eventually(lambda: call_lines(logs, "GetUnit"), within=5, what="the call's log line")
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    assert status_details(err)["reason"] == "invalid_token"
    [line] = call_lines(logs, "GetUnit")
    assert (line["log_level"], line["grpc_code"], line["subject"]) == ("warning", "UNAUTHENTICATED", None)


async def test_wrong_role_is_permission_denied_and_logged(env: Env) -> None:
    request = pb.CreateUnitRequest(code=unique("U"), name="Trường THCS Lê Lợi", district_code="HN-BD")
    with capture_logs() as logs:
        err = await call_error(
            env.registry_stub().CreateUnit(request, metadata=env.md(AUDITOR, subject="aud-1"))
        )
        await eventually(lambda: call_lines(logs, "CreateUnit"), within=5, what="the call's log line")
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert status_details(err)["reason"] == "role_required"
    [line] = call_lines(logs, "CreateUnit")
    assert line["log_level"] == "warning"
    assert (line["subject"], line["grpc_method"], line["reason"]) == ("aud-1", "CreateUnit", "role_required")


async def test_unit_officer_reaches_its_own_unit_only(env: Env) -> None:
    stub = env.registry_stub()
    made = []
    for _ in range(2):
        request = pb.CreateUnitRequest(code=unique("U"), name="Công ty Sông Hồng", district_code="HN-HK")
        made.append((await stub.CreateUnit(request, metadata=env.md(ADMIN))).unit)
    own, other = made

    got = await stub.GetUnit(pb.GetUnitRequest(id=own.id), metadata=env.md(UNIT_OFFICER, unit_id=own.id))
    assert got.unit.code == own.code

    officer = env.md(UNIT_OFFICER, subject="officer-7", unit_id=own.id)
    with capture_logs() as logs:
        err = await call_error(stub.GetUnit(pb.GetUnitRequest(id=other.id), metadata=officer))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    details = status_details(err)
    assert (details["reason"], details["resource_type"], details["resource_name"]) == (
        "other_unit",
        "unit",
        other.id,
    )
    [line] = [e for e in logs if e["event"] == "grpc_call"]
    assert line["log_level"] == "warning"
    assert (line["subject"], line["resource_type"], line["resource_id"]) == ("officer-7", "unit", other.id)


async def test_the_right_role_is_served_and_logged_at_info(env: Env) -> None:
    request = pb.CreateUnitRequest(code=unique("U"), name="Trường Tiểu học Kim Đồng", district_code="HN-BD")
    with capture_logs() as logs:
        created = await env.registry_stub().CreateUnit(request, metadata=env.md(DIC_OPERATOR, subject="op-1"))
    assert created.unit.code == request.code
    assert created.unit.id in env.registry.units
    [line] = [e for e in logs if e["event"] == "grpc_call"]
    assert line["log_level"] == "info"
    assert (line["grpc_service"], line["grpc_method"], line["grpc_code"], line["subject"]) == (
        REGISTRY_SERVICE,
        "CreateUnit",
        "OK",
        "op-1",
    )
    assert isinstance(line["duration_ms"], float)
    assert line["request_id"]


async def test_public_method_needs_no_token_and_has_no_principal(env: Env) -> None:
    answer = json.loads(await env.unary("Anonymous")(b""))
    assert answer["subject"] is None
    assert answer["request_id"]
    # A public method may still carry a token, but the principal is only set where auth is required.
    err = await call_error(env.unary("AnonymousPrincipal")(b"", metadata=env.md(ADMIN)))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    assert status_details(err)["reason"] == "missing_token"


async def test_principal_does_not_leak_between_calls(env: Env) -> None:
    first = json.loads(await env.unary("WhoAmI")(b"", metadata=env.md(ADMIN, subject="first")))
    second = json.loads(await env.unary("Anonymous")(b""))
    assert (first["subject"], second["subject"]) == ("first", None)
    assert first["request_id"] != second["request_id"]


# --- error mapping ------------------------------------------------------------------------------------

KINDS = [
    ("invalid", grpc.StatusCode.INVALID_ARGUMENT, "bad_input"),
    ("not_found", grpc.StatusCode.NOT_FOUND, "thing_not_found"),
    ("exists", grpc.StatusCode.ALREADY_EXISTS, "thing_exists"),
    ("conflict", grpc.StatusCode.FAILED_PRECONDITION, "wrong_state"),
    ("stale", grpc.StatusCode.ABORTED, "stale_version"),
    ("unauthenticated", grpc.StatusCode.UNAUTHENTICATED, "bad_credentials"),
    ("denied", grpc.StatusCode.PERMISSION_DENIED, "other_unit"),
    ("unavailable", grpc.StatusCode.UNAVAILABLE, "database_unavailable"),
    ("bare", grpc.StatusCode.INVALID_ARGUMENT, "refused"),
]


@pytest.mark.parametrize(("kind", "code", "reason"), KINDS)
async def test_domain_error_kinds_map_to_codes_with_details(
    env: Env, kind: str, code: grpc.StatusCode, reason: str
) -> None:
    err = await call_error(env.unary("Fail")(kind.encode(), metadata=env.md(ADMIN)))
    assert err.code() == code
    expected = _error(kind)
    details = status_details(err)
    assert (details["code"], details["message"], details["reason"], details["domain"]) == (
        code.name,
        expected.message,
        reason,
        "d07",
    )
    assert err.details() == expected.message
    assert details["field_violations"] == [
        {"field": f.field, "description": f.reason} for f in expected.fields
    ]
    assert (details["resource_type"], details["resource_name"]) == (
        expected.resource_type,
        expected.resource_id,
    )


async def test_bad_district_names_the_field(env: Env) -> None:
    request = pb.CreateUnitRequest(code=unique("U"), name="Trường Mầm non Hoa Sen", district_code="XX-99")
    err = await call_error(env.registry_stub().CreateUnit(request, metadata=env.md(ADMIN)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = status_details(err)
    assert details["reason"] == "unknown_district"
    assert details["field_violations"] == [
        {"field": "district_code", "description": "unknown district 'XX-99'"}
    ]


async def test_field_problems_travel_as_documented_in_common_proto(env: Env) -> None:
    """common.proto documents the status details: a google.rpc.Status in grpc-status-details-bin holding an
    ErrorInfo (domain d07) and one standard google.rpc.BadRequest, never a d07.common.v1.FieldProblem.
    Decoded here with the generic google.rpc types only, as any client would, not with d07's helper."""
    documented = (ROOT / "proto" / "d07" / "common" / "v1" / "common.proto").read_text()
    assert "google.rpc.BadRequest" in documented
    assert "This message itself never travels in a gRPC status" in documented
    request = pb.CreateUnitRequest(code=unique("U"), name="Trường Tiểu học Kim Đồng", district_code="XX-98")
    err = await call_error(env.registry_stub().CreateUnit(request, metadata=env.md(ADMIN)))
    raw = dict(err.trailing_metadata() or ())["grpc-status-details-bin"]
    status = status_pb2.Status.FromString(raw)
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    types = [d.type_url for d in status.details]
    assert types == ["type.googleapis.com/google.rpc.ErrorInfo", "type.googleapis.com/google.rpc.BadRequest"]
    info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
    assert status.details[0].Unpack(info)
    assert status.details[1].Unpack(bad)
    assert (info.domain, info.reason) == ("d07", "unknown_district")
    assert [(v.field, v.description) for v in bad.field_violations] == [
        ("district_code", "unknown district 'XX-98'")
    ]


async def test_duplicate_code_is_already_exists(env: Env) -> None:
    request = pb.CreateUnitRequest(code=unique("U"), name="Bệnh viện Đa khoa", district_code="HN-BD")
    stub = env.registry_stub()
    await stub.CreateUnit(request, metadata=env.md(ADMIN))
    err = await call_error(stub.CreateUnit(request, metadata=env.md(ADMIN)))
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS
    details = status_details(err)
    assert (details["reason"], details["resource_type"], details["resource_name"]) == (
        "unit_code_taken",
        "unit",
        request.code,
    )


async def test_missing_unit_is_not_found(env: Env) -> None:
    missing = str(uuid.uuid4())
    err = await call_error(env.registry_stub().GetUnit(pb.GetUnitRequest(id=missing), metadata=env.md(ADMIN)))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert status_details(err)["resource_name"] == missing


async def test_unexpected_exception_is_internal_without_its_text(env: Env) -> None:
    before = handled("Boom", "INTERNAL")
    with capture_logs() as logs:
        err = await call_error(env.unary("Boom")(b"", metadata=env.md(ADMIN)))
    assert err.code() == grpc.StatusCode.INTERNAL
    details = status_details(err)
    assert details["reason"] == "internal"
    for text in (str(err.details()), details["message"], repr(details)):
        for secret in ("hunter2", "RuntimeError", "db.internal"):
            assert secret not in text
    [line] = [e for e in logs if e["event"] == "grpc_call"]
    assert (line["log_level"], line["grpc_code"]) == ("error", "INTERNAL")
    assert isinstance(line["exc_info"], RuntimeError)
    assert "hunter2" in str(line["exc_info"])
    assert line["request_id"] in str(err.details())
    assert handled("Boom", "INTERNAL") == before + 1


async def test_servicer_chosen_codes_are_kept(env: Env) -> None:
    err = await call_error(env.unary("OwnAbort")(b"", metadata=env.md(ADMIN)))
    assert (err.code(), err.details()) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down")
    err = await call_error(env.unary("SetCode")(b"", metadata=env.md(ADMIN)))
    assert (err.code(), err.details()) == (grpc.StatusCode.OUT_OF_RANGE, "past the end")
    # The generated base class sets UNIMPLEMENTED and raises NotImplementedError: not an INTERNAL.
    err = await call_error(
        env.registry_stub().BatchGetUnits(pb.BatchGetUnitsRequest(), metadata=env.md(ADMIN))
    )
    assert err.code() == grpc.StatusCode.UNIMPLEMENTED
    assert handled("OwnAbort", "RESOURCE_EXHAUSTED") >= 1
    assert handled("SetCode", "OUT_OF_RANGE") >= 1
    assert handled("BatchGetUnits", "UNIMPLEMENTED", REGISTRY_SERVICE) >= 1


# --- streaming shapes ---------------------------------------------------------------------------------


async def test_unary_stream_generator_streams_then_maps_the_error(env: Env) -> None:
    count = env.channel.unary_stream(f"/{PROBE}/Count")
    assert [m async for m in count(b"3", metadata=env.md(AUDITOR))] == [b"0", b"1", b"2"]

    got: list[bytes] = []
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await drain(count(b"2:not_found", metadata=env.md(AUDITOR)), got)
    assert got == [b"0", b"1"]
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert status_details(info.value)["reason"] == "thing_not_found"

    with pytest.raises(grpc.aio.AioRpcError) as info:
        await drain(count(b"2"))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_unary_stream_coroutine_writer_checks_roles(env: Env) -> None:
    write_count = env.channel.unary_stream(f"/{PROBE}/WriteCount")
    assert [m async for m in write_count(b"2", metadata=env.md(ADMIN))] == [b"0", b"1"]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await drain(write_count(b"2", metadata=env.md(AUDITOR)))
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_stream_unary(env: Env) -> None:
    total = env.channel.stream_unary(f"/{PROBE}/Total")

    async def numbers(*values: int) -> AsyncIterator[bytes]:
        for v in values:
            yield str(v).encode()

    assert await total(numbers(1, 2, 3), metadata=env.md(SERVICE)) == b"6"
    err = await call_error(total(numbers(1, -5), metadata=env.md(SERVICE)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert status_details(err)["field_violations"] == [{"field": "n", "description": "< 0"}]
    err = await call_error(total(numbers(1)))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_stream_stream(env: Env) -> None:
    echo = env.channel.stream_stream(f"/{PROBE}/Echo")

    def words(*values: bytes) -> Iterator[bytes]:
        return iter(values)

    assert [m async for m in echo(words(b"a", b"b"), metadata=env.md(SERVICE))] == [b"A", b"B"]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await drain(echo(words(b"a", b"boom"), metadata=env.md(SERVICE)))
    assert info.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in (info.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await drain(echo(words(b"a")))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


# --- request context ----------------------------------------------------------------------------------


async def test_request_id_and_trace_come_from_metadata(env: Env) -> None:
    trace_id = uuid.uuid4().hex
    md = (
        *env.md(ADMIN, subject="ctx"),
        ("x-request-id", "req-123"),
        ("traceparent", f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"),
    )
    answer = json.loads(await env.unary("WhoAmI")(b"", metadata=md))
    assert answer == {
        "subject": "ctx",
        "request_id": "req-123",
        "trace_id": trace_id,
        "client_address": "127.0.0.1",
    }

    garbage = (*env.md(ADMIN), ("x-request-id", "x" * 500), ("traceparent", "not-a-trace"))
    answer = json.loads(await env.unary("WhoAmI")(b"", metadata=garbage))
    assert len(answer["request_id"]) == 32  # a new one
    assert answer["trace_id"] == ""


# --- health and reflection ----------------------------------------------------------------------------


async def test_health_follows_readiness_without_auth(env: Env) -> None:
    health = health_pb2_grpc.HealthStub(env.channel)
    serving, not_serving = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING

    async def statuses() -> list[int]:
        return [
            (await health.Check(health_pb2.HealthCheckRequest(service=name))).status
            for name in ("", REGISTRY_SERVICE)
        ]

    assert await statuses() == [serving, serving]
    env.ready["database"] = False
    try:
        await eventually(
            statuses,
            until=lambda s: s == [not_serving, not_serving],
            within=10,
            interval=0.02,
            what="not serving",
        )
    finally:
        env.ready["database"] = True
    await eventually(
        statuses, until=lambda s: s == [serving, serving], within=10, interval=0.02, what="serving"
    )
    err = await call_error(health.Check(health_pb2.HealthCheckRequest(service="d07.nope.v1.Nothing")))
    assert err.code() == grpc.StatusCode.NOT_FOUND


async def test_reflection_lists_and_describes_the_service(env: Env) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(env.channel)
    requests = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol=REGISTRY_SERVICE),
    ]
    listed, described = [r async for r in stub.ServerReflectionInfo(iter(requests))]
    names = {s.name for s in listed.list_services_response.service}
    assert {REGISTRY_SERVICE, "grpc.health.v1.Health"} <= names
    files = [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in described.file_descriptor_response.file_descriptor_proto
    ]
    services = {f"{f.package}.{s.name}": [m.name for m in s.method] for f in files for s in f.service}
    assert {"CreateUnit", "GetUnit", "BatchGetUnits"} <= set(services[REGISTRY_SERVICE])


# --- metrics ------------------------------------------------------------------------------------------


async def test_metrics_count_calls_by_service_method_and_code(env: Env) -> None:
    seconds = {"grpc_service": PROBE, "grpc_method": "Fail"}
    ok_before, nf_before = handled("WhoAmI", "OK"), handled("Fail", "NOT_FOUND")
    unauth_before = handled("Fail", "UNAUTHENTICATED")
    count_before = REGISTRY.get_sample_value("grpc_server_handling_seconds_count", seconds) or 0.0
    for _ in range(3):
        await env.unary("WhoAmI")(b"", metadata=env.md(ADMIN))
    for _ in range(2):
        await call_error(env.unary("Fail")(b"not_found", metadata=env.md(ADMIN)))
    await call_error(env.unary("Fail")(b"not_found"))
    assert handled("WhoAmI", "OK") == ok_before + 3
    assert handled("Fail", "NOT_FOUND") == nf_before + 2
    assert handled("Fail", "UNAUTHENTICATED") == unauth_before + 1
    assert REGISTRY.get_sample_value("grpc_server_handling_seconds_count", seconds) == count_before + 3
    inf_bucket = REGISTRY.get_sample_value("grpc_server_handling_seconds_bucket", {**seconds, "le": "+Inf"})
    assert inf_bucket == count_before + 3
    assert (REGISTRY.get_sample_value("grpc_server_handling_seconds_sum", seconds) or 0.0) > 0.0


async def test_health_calls_are_counted_too(env: Env) -> None:
    before = handled("Check", "OK", "grpc.health.v1.Health")
    await health_pb2_grpc.HealthStub(env.channel).Check(health_pb2.HealthCheckRequest(service=""))
    assert handled("Check", "OK", "grpc.health.v1.Health") == before + 1


# --- the client channel -------------------------------------------------------------------------------


async def test_client_channel_adds_token_request_id_and_trace(env: Env) -> None:
    token = env.keys.token(SERVICE, subject="svc-cameras")
    trace_id = uuid.uuid4().hex
    async with client_channel(env.target, token=token) as channel:
        whoami = channel.unary_unary(f"/{PROBE}/WhoAmI")
        rid_token, trace_token = context.request_id.set("req-outer-1"), context.trace_id.set(trace_id)
        try:
            answer = json.loads(await whoami(b""))
        finally:
            context.request_id.reset(rid_token)
            context.trace_id.reset(trace_token)
        assert (answer["subject"], answer["request_id"], answer["trace_id"]) == (
            "svc-cameras",
            "req-outer-1",
            trace_id,
        )
        # Metadata the caller sets wins over the channel's.
        other = env.keys.token(ADMIN, subject="explicit")
        answer = json.loads(await whoami(b"", metadata=(("authorization", f"Bearer {other}"),)))
        assert answer["subject"] == "explicit"
        # Streaming shapes carry the token too.
        echo = channel.stream_stream(f"/{PROBE}/Echo")
        assert [m async for m in echo(iter([b"x"]))] == [b"X"]
        total = channel.stream_unary(f"/{PROBE}/Total")
        assert await total(iter([b"4", b"5"])) == b"9"
        count = channel.unary_stream(f"/{PROBE}/Count")
        assert [m async for m in count(b"1")] == [b"0"]


async def test_client_channel_token_function_is_called_per_call(env: Env) -> None:
    calls: list[str] = []

    def current() -> str:
        subject = f"svc-{len(calls)}"
        calls.append(subject)
        return env.keys.token(SERVICE, subject=subject)

    async with client_channel(env.target, token=current) as channel:
        whoami = channel.unary_unary(f"/{PROBE}/WhoAmI")
        subjects = [json.loads(await whoami(b""))["subject"] for _ in range(2)]
    assert subjects == ["svc-0", "svc-1"]


async def test_client_channel_without_token_is_unauthenticated(env: Env) -> None:
    async with client_channel(env.target, token=None) as channel:
        err = await call_error(channel.unary_unary(f"/{PROBE}/WhoAmI")(b""))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_client_channel_sets_a_default_deadline(env: Env) -> None:
    before = handled("Slow", "DEADLINE_EXCEEDED")
    async with client_channel(env.target, token=env.keys.token(SERVICE), default_timeout=0.3) as channel:
        slow = channel.unary_unary(f"/{PROBE}/Slow")
        err = await call_error(slow(b""))
        assert err.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        # An explicit timeout is the caller's and is kept (here: shorter still).
        err = await call_error(slow(b"", timeout=0.1))
        assert err.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    # The server sees its handler cancelled at the deadline and counts it so.
    await eventually(
        lambda: handled("Slow", "DEADLINE_EXCEEDED") == before + 2, within=10, interval=0.02, what="the count"
    )


# --- lifecycle ----------------------------------------------------------------------------------------


async def test_stop_reports_not_serving_first_then_frees_the_port(keys: Keys) -> None:
    server = build_server(
        service_names=[REGISTRY_SERVICE],
        register=lambda s: pb_grpc.add_RegistryServiceServicer_to_server(FakeRegistry(), s),
        verifier=TokenVerifier(issuer="d07-dev", audience="d07", jwks_file=str(keys.jwks)),
        readiness=None,
        host="127.0.0.1",
        port=0,
    )
    await server.start()
    assert server.port > 0
    target = f"127.0.0.1:{server.port}"
    async with grpc.aio.insecure_channel(target) as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=REGISTRY_SERVICE)
        )
        first = await watch.read()
        assert first.status == health_pb2.HealthCheckResponse.SERVING
        stopping = asyncio.create_task(server.stop(1.0))
        second = await watch.read()
        assert second.status == health_pb2.HealthCheckResponse.NOT_SERVING
        await stopping
    async with grpc.aio.insecure_channel(target) as channel:
        err = await call_error(
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        )
    assert err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def test_verified_tokens_are_remembered_until_their_expiry_only(keys: Keys) -> None:
    tokens = TokenVerifier(issuer="d07-dev", audience="d07", jwks_file=str(keys.jwks), cache_size=1)
    first, second = keys.token(SERVICE, subject="a"), keys.token(SERVICE, subject="b")
    seen = tokens.verify(first)
    assert tokens.verify(first) is seen  # remembered: not verified again
    assert tokens.verify(second).subject == "b"  # evicts the first (size 1)
    again = tokens.verify(first)
    assert again == seen
    assert again is not seen
    # Past its expiry but within the verifier's clock leeway: accepted, never remembered.
    late = keys.token(SERVICE, subject="late", ttl=-5)
    assert tokens.verify(late) is not tokens.verify(late)
    # A token that fails is not remembered either: it fails every time.
    forged = issue_token(keys.other_private, roles=[SERVICE], subject="mallory")
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            tokens.verify(forged)
