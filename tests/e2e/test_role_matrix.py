"""Every role on every operation, over both doors of the running services, with the expected outcome taken
from the service's one permissions table (`cameras.permissions.OPERATIONS`, which the handlers' role lists
come from): a role the table allows passes the door (any answer but 401/403: 200, 404 for an unknown object,
400/422 for a bad body), a role it does not allow is refused with 403 / PERMISSION_DENIED. A unit officer is
also tried on its own unit's objects and on another unit's. A wrongly allowed or wrongly denied case fails.

Requests carry what the protos mark required (random ids: the door decides before any object is looked up);
HTTP bodies are `{}`: a role the table refuses gets 403 before its body is validated. Roles that were wider
than written in registry and awards (camera_gateway reading units, rounds and awards) are shown refused at
the end, from the roles the READMEs write.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import pytest
from buf.validate import validate_pb2
from google.protobuf import message_factory

from cameras.permissions import OPERATIONS, Operation
from d07.awards.v1 import awards_pb2, awards_pb2_grpc
from d07.cameras.v1 import cameras_pb2, cameras_pb2_grpc, detections_pb2, violations_pb2
from d07.platform.auth import CAMERA_GATEWAY, ROLES, UNIT_OFFICER
from d07.registry.v1 import registry_pb2, registry_pb2_grpc
from tests.support.services import Platform

PACKAGE = "d07.cameras.v1"
FILES = {
    "CamerasService": cameras_pb2,
    "DetectionsService": detections_pb2,
    "ViolationsService": violations_pb2,
}
ALLOWED, DENIED = "allowed", "denied"


def expected(op: Operation, role: str) -> str:
    return ALLOWED if role in op.roles else DENIED


def _required(field: Any) -> bool:
    options = field.GetOptions()
    return bool(options.HasExtension(validate_pb2.field) and options.Extensions[validate_pb2.field].required)


def grpc_request(op: Operation) -> tuple[Any, Any]:
    """The method's descriptor and a request with every required field set (ids random)."""
    service, method = op.grpc.split("/")
    descriptor = FILES[service].DESCRIPTOR.services_by_name[service].methods_by_name[method]
    message = message_factory.GetMessageClass(descriptor.input_type)()
    for field in descriptor.input_type.fields:
        if _required(field):
            setattr(message, field.name, str(uuid.uuid4()))
    return descriptor, message


async def grpc_outcome(channel: grpc.aio.Channel, op: Operation, md: list[tuple[str, str]]) -> str:
    descriptor, request = grpc_request(op)
    path = f"/{PACKAGE}.{op.grpc}"
    reply_class = message_factory.GetMessageClass(descriptor.output_type)
    ser, de = type(request).SerializeToString, reply_class.FromString
    try:
        if descriptor.client_streaming:
            call = channel.stream_unary(path, request_serializer=ser, response_deserializer=de)
            await call(iter([request]), metadata=md, timeout=10)
        elif descriptor.server_streaming:
            stream = channel.unary_stream(path, request_serializer=ser, response_deserializer=de)(
                request, metadata=md, timeout=2
            )
            async for _ in stream:
                break
        else:
            await channel.unary_unary(path, request_serializer=ser, response_deserializer=de)(
                request, metadata=md, timeout=10
            )
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.PERMISSION_DENIED:
            return DENIED
        if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
            return "unauthenticated"
        if exc.code() == grpc.StatusCode.INTERNAL:
            return f"internal error: {exc.details()}"
    return ALLOWED


async def http_outcome(http: httpx.AsyncClient, op: Operation, headers: dict[str, str]) -> str:
    verb, path = op.http.split(" ", 1)
    path = path.replace("{id}", str(uuid.uuid4()))
    params = {"wait_seconds": "0"} if path.endswith("violation-activity") else None
    body = {} if verb in ("POST", "PUT") else None
    r = await http.request(verb, path, headers=headers, json=body, params=params)
    assert r.status_code < 500, r.text
    if r.status_code == 403:
        return DENIED
    if r.status_code == 401:
        return "unauthenticated"
    if r.status_code == 422 and expected(op, headers["x-role"]) == DENIED:
        return "validated before authorised"
    return ALLOWED


def headers_of(platform: Platform, role: str, unit_id: str | None = None) -> dict[str, str]:
    kw = {"unit_id": unit_id or str(uuid.uuid4())} if role == UNIT_OFFICER else {}
    return {**platform.headers(role, **kw), "x-role": role}


def md_of(platform: Platform, role: str, unit_id: str | None = None) -> list[tuple[str, str]]:
    kw = {"unit_id": unit_id or str(uuid.uuid4())} if role == UNIT_OFFICER else {}
    return platform.metadata(role, **kw)


def _http_cases() -> list[Any]:
    cases = []
    for op in OPERATIONS:
        for role in sorted(ROLES):
            cases.append(pytest.param(op, role, id=f"{op.http}-{role}"))
    return cases


@pytest.fixture(scope="module")
async def cameras_channel(platform: Platform) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(platform["cameras"].target) as channel:
        yield channel


@pytest.mark.parametrize("role", sorted(ROLES))
async def test_cameras_grpc_every_role_on_every_operation(platform: Platform, role: str) -> None:
    """One test per role over every gRPC operation; the failures list every mismatch at once."""
    wrong = []
    async with grpc.aio.insecure_channel(platform["cameras"].target) as channel:
        for op in OPERATIONS:
            got = await grpc_outcome(channel, op, md_of(platform, role))
            if got != expected(op, role):
                wrong.append((op.grpc, f"expected {expected(op, role)}, got {got}"))
    assert wrong == []


@pytest.mark.parametrize(("op", "role"), _http_cases())
async def test_cameras_http_every_role_on_every_operation(
    platform: Platform, op: Operation, role: str
) -> None:
    async with httpx.AsyncClient(base_url=platform["cameras"].url, timeout=15) as http:
        got = await http_outcome(http, op, headers_of(platform, role))
    assert got == expected(op, role)


def test_the_table_covers_every_operation_of_both_doors(platform: Platform) -> None:
    """Nothing reachable escapes the table: every gRPC method of the cameras' services and every HTTP route
    of its OpenAPI (but the probes) has a row. The platform's own audit API, served beside every service's,
    is the platform's table (auditor and admin only: tests/platform/test_audit.py and
    tests/registry/integration/test_audit.py hold every role to it)."""
    methods = {
        f"{name}/{m.name}"
        for name, module in FILES.items()
        for m in module.DESCRIPTOR.services_by_name[name].methods
    }
    assert methods == {op.grpc for op in OPERATIONS}
    spec = httpx.get(f"{platform['cameras'].url}/openapi.json").json()
    routes = {
        f"{verb.upper()} {path}".replace("{camera_id}", "{id}")
        .replace("{violation_id}", "{id}")
        .replace("{plan_id}", "{id}")
        for path, item in spec["paths"].items()
        for verb in item
    } - {"GET /v1/audit-records"}
    assert routes == {op.http for op in OPERATIONS if op.http}


# --- a unit officer on its own unit's objects and on another unit's ------------------------------------


async def _unit(http: httpx.AsyncClient, platform: Platform) -> str:
    body = {
        "code": f"U-{uuid.uuid4().hex[:8].upper()}",
        "name": "Trường THCS Trần Phú",
        "kind": "school",
        "district_code": "001",
    }
    r = await http.post(f"{platform['registry'].url}/v1/units", json=body, headers=platform.headers("admin"))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _camera(http: httpx.AsyncClient, platform: Platform, unit_id: str) -> str:
    body = {
        "code": f"CAM-{random.randint(0, 99_999):05d}",
        "name": "Cổng trường",
        "latitude": 10.24,
        "longitude": 106.37,
        "unit_id": unit_id,
        "district_code": "001",
    }
    r = await http.post(f"{platform['cameras'].url}/v1/cameras", json=body, headers=platform.headers("admin"))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@pytest.fixture(scope="module")
async def two_units(platform: Platform) -> dict[str, str]:
    async with httpx.AsyncClient(timeout=30) as http:
        own, other = await _unit(http, platform), await _unit(http, platform)
        return {
            "own": own,
            "other": other,
            "own_camera": await _camera(http, platform, own),
            "other_camera": await _camera(http, platform, other),
        }


UNIT_SCOPED = [op for op in OPERATIONS if op.scope == "unit" and "{id}" in op.http and "Camera" in op.grpc]


@pytest.mark.parametrize("whose", ["own", "other"])
@pytest.mark.parametrize("op", UNIT_SCOPED, ids=[op.grpc for op in UNIT_SCOPED])
async def test_a_unit_officer_on_its_own_and_another_units_camera(
    platform: Platform, two_units: dict[str, str], op: Operation, whose: str
) -> None:
    assert UNIT_OFFICER in op.roles
    want = ALLOWED if whose == "own" else DENIED
    camera = two_units[f"{whose}_camera"]
    unit = two_units["own"]
    async with httpx.AsyncClient(base_url=platform["cameras"].url, timeout=15) as http:
        verb, path = op.http.split(" ", 1)
        r = await http.request(
            verb, path.replace("{id}", camera), headers=headers_of(platform, UNIT_OFFICER, unit)
        )
    assert r.status_code == 200 if want == ALLOWED else r.status_code == 403, r.text
    descriptor, request = grpc_request(op)
    field = "camera_id" if "camera_id" in descriptor.input_type.fields_by_name else "id"
    setattr(request, field, camera)
    if "from_date" in descriptor.input_type.fields_by_name:
        request.from_date.year, request.from_date.month, request.from_date.day = 2026, 1, 1
        request.to_date.year, request.to_date.month, request.to_date.day = 2026, 1, 2
    async with grpc.aio.insecure_channel(platform["cameras"].target) as channel:
        reply_class = message_factory.GetMessageClass(descriptor.output_type)
        call = channel.unary_unary(
            f"/{PACKAGE}.{op.grpc}",
            request_serializer=type(request).SerializeToString,
            response_deserializer=reply_class.FromString,
        )
        try:
            await call(request, metadata=md_of(platform, UNIT_OFFICER, unit), timeout=10)
            got = ALLOWED
        except grpc.aio.AioRpcError as exc:
            got = DENIED if exc.code() == grpc.StatusCode.PERMISSION_DENIED else exc.code().name
    assert got == want


@pytest.mark.parametrize("whose", ["own", "other"])
async def test_a_unit_officer_lists_only_its_own_units_cameras(
    platform: Platform, two_units: dict[str, str], whose: str
) -> None:
    unit = two_units["own"]
    async with httpx.AsyncClient(base_url=platform["cameras"].url, timeout=15) as http:
        r = await http.get(
            "/v1/cameras",
            params={"unit_id": two_units[whose]},
            headers=headers_of(platform, UNIT_OFFICER, unit),
        )
    if whose == "own":
        assert r.status_code == 200, r.text
        assert {c["id"] for c in r.json()["items"]} == {two_units["own_camera"]}
    else:
        assert r.status_code == 403, r.text
    async with grpc.aio.insecure_channel(platform["cameras"].target) as channel:
        stub = cameras_pb2_grpc.CamerasServiceStub(channel)
        request = cameras_pb2.ListCamerasRequest(unit_id=two_units[whose])
        if whose == "own":
            reply = await stub.ListCameras(request, metadata=md_of(platform, UNIT_OFFICER, unit), timeout=10)
            assert {c.id for c in reply.cameras} == {two_units["own_camera"]}
        else:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.ListCameras(request, metadata=md_of(platform, UNIT_OFFICER, unit), timeout=10)
            assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


# --- roles wider than written (registry, awards): the README says who; a camera gateway is not one -------


async def test_camera_gateway_may_not_batch_get_units(platform: Platform) -> None:
    async with grpc.aio.insecure_channel(platform["registry"].target) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await registry_pb2_grpc.RegistryServiceStub(channel).BatchGetUnits(
                registry_pb2.BatchGetUnitsRequest(ids=[str(uuid.uuid4())]),
                metadata=md_of(platform, CAMERA_GATEWAY),
                timeout=10,
            )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize("method", ["GetRound", "ListAwards"])
async def test_camera_gateway_may_not_read_award_rounds_over_grpc(platform: Platform, method: str) -> None:
    request: Any = (
        awards_pb2.GetRoundRequest(id=str(uuid.uuid4()))
        if method == "GetRound"
        else awards_pb2.ListAwardsRequest(round_id=str(uuid.uuid4()))
    )
    async with grpc.aio.insecure_channel(platform["awards"].target) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await getattr(awards_pb2_grpc.AwardsServiceStub(channel), method)(
                request, metadata=md_of(platform, CAMERA_GATEWAY), timeout=10
            )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize("path", ["/v1/award-rounds/{id}", "/v1/award-rounds/{id}/awards"])
async def test_camera_gateway_may_not_read_award_rounds_over_http(platform: Platform, path: str) -> None:
    async with httpx.AsyncClient(base_url=platform["awards"].url, timeout=15) as http:
        r = await http.get(path.replace("{id}", str(uuid.uuid4())), headers=platform.headers(CAMERA_GATEWAY))
    assert r.status_code == 403, r.text
