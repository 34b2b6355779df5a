"""The audit API through the registry's doors (the registry as a process, the platform's AuditService and
GET /v1/audit-records): a change made through the API shows up with its old and new values, filtered by
object; only auditors and the admin read the trail."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest
from google.protobuf.json_format import MessageToDict

from d07.common.v1 import audit_pb2, audit_pb2_grpc, common_pb2
from d07.platform.convert import timestamp
from d07.registry.v1 import forces_pb2, forces_pb2_grpc, registry_pb2, registry_pb2_grpc
from tests.support.services import Platform


@pytest.fixture
async def channel(platform: Platform) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(platform["registry"].target) as ch:
        yield ch


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform["registry"].url, timeout=30) as client:
        yield client


async def a_guard(channel: grpc.aio.Channel, platform: Platform) -> tuple[str, str]:
    """A new unit and one of its guards (unit id, guard id), made by the admin."""
    unit = await registry_pb2_grpc.RegistryServiceStub(channel).CreateUnit(
        registry_pb2.CreateUnitRequest(
            code=f"KT-{uuid.uuid4().hex[:8].upper()}", name="Trường THCS Lê Lợi",
            kind=registry_pb2.UNIT_KIND_SCHOOL, district_code="001",
        ),
        metadata=platform.metadata("admin"), timeout=10,
    )  # fmt: skip
    guard = await forces_pb2_grpc.ForcesServiceStub(channel).RegisterGuard(
        forces_pb2.RegisterGuardRequest(
            unit_id=unit.unit.id, full_name="Phạm Văn Dũng", birth_year=1979, position="Bảo vệ"
        ),
        metadata=platform.metadata("admin"), timeout=10,
    )  # fmt: skip
    return unit.unit.id, guard.guard.id


async def test_an_update_through_the_api_is_read_back_with_old_and_new_values_on_both_doors(
    platform: Platform, channel: grpc.aio.Channel, http: httpx.AsyncClient
) -> None:
    started = datetime.now(UTC) - timedelta(seconds=5)
    unit_id, guard_id = await a_guard(channel, platform)
    r = await http.put(
        f"/v1/guards/{guard_id}",
        json={"version": 1, "full_name": "Phạm Văn Dũng", "birth_year": 1979, "position": "Tổ trưởng"},
        headers={**platform.headers("unit_officer", unit_id=unit_id), "X-Request-ID": "kiem-tra-1"},
    )
    assert r.status_code == 200, r.text

    # HTTP: the auditor filters by object and sees the update first, then the registration
    r = await http.get(
        "/v1/audit-records",
        params={"object_type": "guard", "object_id": guard_id, "from": started.isoformat()},
        headers=platform.headers("auditor"),
    )
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["action"] for i in items] == ["guard.update", "guard.register"]
    update = items[0]
    assert update["details"]["changes"] == {"position": {"old": "Bảo vệ", "new": "Tổ trưởng"}}
    assert update["details"]["version"] == 2
    assert update["actor"] == {"subject": "test-unit_officer", "roles": ["unit_officer"]}
    assert (update["unit_id"], update["request_id"]) == (unit_id, "kiem-tra-1")
    assert update["source"].startswith("127.0.0.1")
    assert r.json()["next_page_token"] == ""

    # gRPC: the same record, for the admin, filtered by object, action and time
    stub = audit_pb2_grpc.AuditServiceStub(channel)
    request = audit_pb2.ListAuditRecordsRequest(
        object_type="guard", object_id=guard_id, action="guard.update"
    )
    getattr(request, "from").CopyFrom(timestamp(started))
    reply = await stub.ListAuditRecords(request, metadata=platform.metadata("admin"), timeout=10)
    [record] = reply.records
    assert (record.action, record.object_id, record.unit_id) == ("guard.update", guard_id, unit_id)
    assert (record.actor.subject, list(record.actor.roles)) == ("test-unit_officer", ["unit_officer"])
    assert MessageToDict(record.details)["changes"] == {"position": {"old": "Bảo vệ", "new": "Tổ trưởng"}}
    assert record.request_id == "kiem-tra-1"
    assert reply.page.next_page_token == ""

    # paging over gRPC: one record a page, newest first
    page = await stub.ListAuditRecords(
        audit_pb2.ListAuditRecordsRequest(
            object_id=guard_id, page=common_pb2.PageRequest(page_size=1)
        ),
        metadata=platform.metadata("auditor"), timeout=10,
    )  # fmt: skip
    assert [x.action for x in page.records] == ["guard.update"]
    rest = await stub.ListAuditRecords(
        audit_pb2.ListAuditRecordsRequest(
            object_id=guard_id, page=common_pb2.PageRequest(page_size=1, page_token=page.page.next_page_token)
        ),
        metadata=platform.metadata("auditor"), timeout=10,
    )  # fmt: skip
    assert [x.action for x in rest.records] == ["guard.register"]


@pytest.mark.parametrize("role", ["unit_officer", "police"])
async def test_a_unit_officer_and_the_police_may_not_read_the_trail(
    platform: Platform, channel: grpc.aio.Channel, http: httpx.AsyncClient, role: str
) -> None:
    unit_id = str(uuid.uuid4())
    kw = {"unit_id": unit_id} if role == "unit_officer" else {}
    r = await http.get("/v1/audit-records", params={"unit_id": unit_id}, headers=platform.headers(role, **kw))
    assert (r.status_code, r.headers["content-type"], r.json()["code"]) == (
        403, "application/problem+json", "role_required",
    )  # fmt: skip
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await audit_pb2_grpc.AuditServiceStub(channel).ListAuditRecords(
            audit_pb2.ListAuditRecordsRequest(unit_id=unit_id),
            metadata=platform.metadata(role, **kw),
            timeout=10,
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_bad_filter_is_400_and_invalid_argument(
    platform: Platform, channel: grpc.aio.Channel, http: httpx.AsyncClient
) -> None:
    r = await http.get("/v1/audit-records", params={"from": "hôm qua"}, headers=platform.headers("auditor"))
    assert (r.status_code, r.json()["code"]) == (400, "invalid_time")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await audit_pb2_grpc.AuditServiceStub(channel).ListAuditRecords(
            audit_pb2.ListAuditRecordsRequest(unit_id="not-a-uuid"),
            metadata=platform.metadata("auditor"),
            timeout=10,
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
