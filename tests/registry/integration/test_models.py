"""Movement models through the registry's two doors (the registry as a process, real PostgreSQL and broker).

The counting test uses its own period (1971-1975) so that no other data of the session can fall into it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import asyncpg
import grpc
import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from d07.common.v1 import common_pb2
from d07.platform.grpc import status_details
from d07.registry.v1 import models_pb2 as pb
from d07.registry.v1 import models_pb2_grpc as pb_grpc
from d07.registry.v1 import registry_pb2, registry_pb2_grpc
from tests.support.services import Platform
from tests.support.waiting import eventually

TOPIC = "d07.registry.models.v1"
PERIOD = (date(1971, 1, 1), date(1975, 12, 31))


def d(value: date) -> common_pb2.Date:
    return common_pb2.Date(year=value.year, month=value.month, day=value.day)


def meta(platform: Platform, role: str, unit_id: str | None = None) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {platform.token(role, unit_id=unit_id)}")]


@pytest.fixture
async def channel(platform: Platform) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(platform["registry"].target) as ch:
        yield ch


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform["registry"].url, timeout=10) as client:
        yield client


async def new_unit(channel: grpc.aio.Channel, platform: Platform, name: str, *, district: str = "001") -> str:
    """A unit created as admin through the registry's CreateUnit."""
    reply = await registry_pb2_grpc.RegistryServiceStub(channel).CreateUnit(
        registry_pb2.CreateUnitRequest(
            code=f"MH-{uuid.uuid4().hex[:8].upper()}", name=name, kind=registry_pb2.UNIT_KIND_SCHOOL,
            district_code=district,
        ),
        metadata=meta(platform, "admin"),
        timeout=5,
    )  # fmt: skip
    return str(reply.unit.id)


async def grpc_model(
    channel: grpc.aio.Channel,
    platform: Platform,
    name: str,
    *,
    unit_id: str = "",
    commune: str = "",
    area: str = "",
    kind: str = "self_managed_team",
    formed_on: date = date(1973, 5, 10),
    consolidated: bool = False,
    role: str = "admin",
    as_unit: str | None = None,
) -> pb.Model:
    request = pb.CreateModelRequest(
        name=name, kind=kind, formed_on=d(formed_on), description="Mô hình do Công an tỉnh hướng dẫn",
        formation=pb.MODEL_FORMATION_CONSOLIDATED if consolidated else pb.MODEL_FORMATION_BUILT,
    )  # fmt: skip
    if unit_id:
        request.unit.unit_id = unit_id
    else:
        request.community.commune_code = commune
        request.community.residential_area = area
    reply = await pb_grpc.ModelsServiceStub(channel).CreateModel(
        request, metadata=meta(platform, role, as_unit), timeout=5
    )
    return reply.model


async def http_model(
    http: httpx.AsyncClient,
    platform: Platform,
    name: str,
    host: dict[str, str],
    *,
    kind: str = "self_managed_team",
    formed_on: date = date(1973, 5, 10),
    formation: str = "built",
    role: str = "admin",
    as_unit: str | None = None,
) -> httpx.Response:
    body = {
        "name": name,
        "kind": kind,
        "host": host,
        "formation": formation,
        "formed_on": formed_on.isoformat(),
    }
    return await http.post("/v1/models", json=body, headers=platform.headers(role, unit_id=as_unit))


async def change_status(
    channel: grpc.aio.Channel, platform: Platform, model: pb.Model, status: int, on: date
) -> pb.Model:
    reply = await pb_grpc.ModelsServiceStub(channel).ChangeModelStatus(
        pb.ChangeModelStatusRequest(
            id=model.id, version=model.version, status=status, changed_on=d(on), note="Theo kết quả kiểm tra"
        ),
        metadata=meta(platform, "admin"),
        timeout=5,
    )
    return reply.model


async def all_pages(http: httpx.AsyncClient, platform: Platform, **params: Any) -> list[dict[str, Any]]:
    """Every model of a filtered list, following the cursors (small pages, so cursors are exercised)."""
    items: list[dict[str, Any]] = []
    token = ""
    while True:
        r = await http.get(
            "/v1/models",
            params={**params, "page_size": 2, "page_token": token},
            headers=platform.headers("auditor"),
        )
        assert r.status_code == 200, r.text
        items.extend(r.json()["items"])
        token = r.json()["next_page_token"]
        if not token:
            return items


async def test_counts_equal_the_records_behind_them(
    platform: Platform, channel: grpc.aio.Channel, http: httpx.AsyncClient
) -> None:
    school = await new_unit(channel, platform, "Trường THPT Chu Văn An")
    company = await new_unit(channel, platform, "Công ty Cổ phần Xi măng Sơn Lâm")
    elsewhere = await new_unit(channel, platform, "Trường THCS Ba Khe", district="002")
    counted_units = [
        await grpc_model(channel, platform, "Trường học an toàn về ANTT Chu Văn An", unit_id=school,
                         kind="safe_school", formed_on=date(1972, 3, 1)),
        await grpc_model(channel, platform, "Tổ tự quản bảo vệ trường Chu Văn An", unit_id=school),
        await grpc_model(channel, platform, "Camera an ninh cổng nhà máy xi măng", unit_id=company,
                         kind="security_camera", formed_on=PERIOD[1], consolidated=True),
    ]  # fmt: skip
    # Built in the period and inactive since: still built in the period.
    await change_status(channel, platform, counted_units[1], pb.MODEL_STATUS_INACTIVE, date(1974, 6, 1))
    r = await http_model(
        http, platform, "Tổ tự quản về an ninh trật tự tổ dân phố số 3",
        {"commune_code": "00001", "residential_area": "Tổ dân phố số 3"}, formed_on=PERIOD[0],
    )  # fmt: skip
    assert r.status_code == 201, r.text
    first_day = r.json()
    counted_communities = [
        first_day["id"],
        (await grpc_model(channel, platform, "Khu dân cư an toàn phường Minh Khai", commune="00002",
                          kind="safe_residential_area", formed_on=date(1974, 2, 2))).id,
        (await grpc_model(channel, platform, "Dòng họ Nguyễn tự quản về ANTT", commune="00001",
                          kind="self_managed_clan", formed_on=date(1975, 7, 7))).id,
    ]  # fmt: skip
    # Built before the period and consolidated in it: counted once.
    old = await grpc_model(channel, platform, "Tổ liên gia an toàn PCCC", commune="00002",
                           kind="fire_safety_group", formed_on=date(1968, 1, 1))  # fmt: skip
    old = await change_status(channel, platform, old, pb.MODEL_STATUS_EFFECTIVE, date(1969, 1, 1))
    await change_status(channel, platform, old, pb.MODEL_STATUS_CONSOLIDATED, date(1972, 9, 2))
    counted_communities.append(old.id)
    not_counted = [
        await grpc_model(channel, platform, "Tổ trước kỳ", commune="00001", formed_on=date(1970, 12, 31)),
        await grpc_model(channel, platform, "Tổ tự quản sau kỳ", unit_id=school, formed_on=date(1976, 1, 1)),
        await grpc_model(channel, platform, "Tổ hiệu quả", commune="00001", formed_on=date(1969, 5, 5)),
    ]  # fmt: skip
    await change_status(channel, platform, not_counted[2], pb.MODEL_STATUS_EFFECTIVE, date(1972, 1, 1))
    other_district = [
        await grpc_model(channel, platform, "Tổ tự quản trường Ba Khe", unit_id=elsewhere),
        await grpc_model(channel, platform, "Tổ tự quản thị trấn Chợ Rã", commune="00009"),
    ]
    assert {m.district_code for m in other_district} == {"002"}

    stub = pb_grpc.ModelsServiceStub(channel)
    counts = await stub.CountModels(
        pb.CountModelsRequest(from_date=d(PERIOD[0]), to_date=d(PERIOD[1]), district_code="001"),
        metadata=meta(platform, "police"),
        timeout=5,
    )
    assert (counts.total, counts.in_units, counts.in_communities) == (7, 3, 4)
    province = await stub.CountModels(
        pb.CountModelsRequest(from_date=d(PERIOD[0]), to_date=d(PERIOD[1])),
        metadata=meta(platform, "auditor"),
    )
    assert (province.total, province.in_units, province.in_communities) == (9, 4, 5)
    r = await http.get(
        "/v1/model-counts",
        params={"from_date": PERIOD[0].isoformat(), "to_date": PERIOD[1].isoformat(), "district_code": "001"},
        headers=platform.headers("auditor"),
    )
    assert (r.json()["total"], r.json()["in_units"], r.json()["in_communities"]) == (7, 3, 4)

    # Each figure drills into exactly its records, through the list with the same filters.
    period = {"from_date": PERIOD[0].isoformat(), "to_date": PERIOD[1].isoformat(), "district_code": "001"}
    listed = await all_pages(http, platform, **period)
    assert {m["id"] for m in listed} == {m.id for m in counted_units} | set(counted_communities)
    in_units = await all_pages(http, platform, **period, host_type="unit")
    assert {m["id"] for m in in_units} == {m.id for m in counted_units}
    assert {m["host_name"] for m in in_units} == {"Trường THPT Chu Văn An", "Công ty Cổ phần Xi măng Sơn Lâm"}
    page = await stub.ListModels(
        pb.ListModelsRequest(
            from_date=d(PERIOD[0]), to_date=d(PERIOD[1]), district_code="001",
            host_type=pb.MODEL_HOST_TYPE_COMMUNITY, page=common_pb2.PageRequest(page_size=50),
        ),
        metadata=meta(platform, "police"),
        timeout=5,
    )  # fmt: skip
    assert {m.id for m in page.models} == set(counted_communities)
    assert not page.page.next_page_token
    community = next(m for m in page.models if m.id == first_day["id"])
    assert community.WhichOneof("host") == "community"
    assert community.host_name == "Tổ dân phố số 3, Phường Đức Thịnh"
    assert community.kind_label == "Tổ tự quản về an ninh trật tự"


async def test_search_ignores_case_and_diacritics(
    platform: Platform, channel: grpc.aio.Channel, http: httpx.AsyncClient
) -> None:
    tag = uuid.uuid4().hex[:6]
    made = await grpc_model(
        channel, platform, f"Tổ tự quản về an ninh trật tự Đồng Tâm {tag}", commune="00003"
    )
    await grpc_model(
        channel, platform, f"Camera an ninh Đồng Tâm {tag}", commune="00003", kind="security_camera"
    )
    for q in (
        f"to tu quan ve an ninh trat tu dong tam {tag}",
        f"TỔ TỰ QUẢN VỀ AN NINH TRẬT TỰ ĐỒNG TÂM {tag}",
        f"dong tam {tag}",
    ):
        found = await all_pages(http, platform, q=q)
        assert made.id in {m["id"] for m in found}, q
    assert {
        m["name"] for m in await all_pages(http, platform, q=f"to tu quan ve an ninh trat tu dong tam {tag}")
    } == {made.name}
    reply = await pb_grpc.ModelsServiceStub(channel).ListModels(
        pb.ListModelsRequest(q=f"ĐỒNG tâm {tag}"), metadata=meta(platform, "auditor"), timeout=5
    )
    assert sorted(m.kind for m in reply.models) == ["security_camera", "self_managed_team"]


async def test_a_unit_officer_reaches_only_its_own_unit(
    platform: Platform, channel: grpc.aio.Channel, http: httpx.AsyncClient
) -> None:
    mine = await new_unit(channel, platform, "Sở Tài chính tỉnh Sơn Lâm")
    other = await new_unit(channel, platform, "Ngân hàng Nông nghiệp chi nhánh Sơn Lâm")
    r = await http_model(
        http, platform, "Tổ tự quản Sở Tài chính", {"unit_id": mine}, role="unit_officer", as_unit=mine
    )
    assert r.status_code == 201, r.text
    own = r.json()
    theirs = await grpc_model(channel, platform, "Tổ bảo vệ ngân hàng", unit_id=other)
    community = await grpc_model(channel, platform, "Tổ tự quản khu phố 2", commune="00004")

    for host in ({"unit_id": other}, {"commune_code": "00004"}):
        r = await http_model(http, platform, "Mô hình lấn sân", host, role="unit_officer", as_unit=mine)
        assert r.status_code == 403, host
    stub = pb_grpc.ModelsServiceStub(channel)
    officer = meta(platform, "unit_officer", mine)
    for model_id in (theirs.id, community.id):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GetModel(pb.GetModelRequest(id=model_id), metadata=officer, timeout=5)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ChangeModelStatus(
            pb.ChangeModelStatusRequest(
                id=theirs.id,
                version=theirs.version,
                status=pb.MODEL_STATUS_INACTIVE,
                changed_on=d(date.today()),
            ),
            metadata=officer,
            timeout=5,
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # Moving its own model to another unit is writing another unit's model.
    r = await http.put(
        f"/v1/models/{own['id']}",
        json={"name": own["name"], "kind": own["kind"], "host": {"unit_id": other}, "formation": "built",
              "formed_on": own["formed_on"], "version": own["version"]},
        headers=platform.headers("unit_officer", unit_id=mine),
    )  # fmt: skip
    assert r.status_code == 403
    # Its list holds its own unit's models only; asking for another unit is refused.
    r = await http.get("/v1/models", headers=platform.headers("unit_officer", unit_id=mine))
    assert [m["id"] for m in r.json()["items"]] == [own["id"]]
    r = await http.get(
        "/v1/models", params={"unit_id": other}, headers=platform.headers("unit_officer", unit_id=mine)
    )
    assert r.status_code == 403
    # Province-wide readers read everything, and only admin writes community models.
    got = await stub.GetModel(
        pb.GetModelRequest(id=community.id), metadata=meta(platform, "police"), timeout=5
    )
    assert got.model.name == "Tổ tự quản khu phố 2"
    r = await http.get(f"/v1/models/{theirs.id}", headers=platform.headers("auditor"))
    assert r.status_code == 200
    r = await http_model(
        http, platform, "Kiểm toán không được ghi", {"commune_code": "00004"}, role="auditor"
    )
    assert r.status_code == 403


async def test_a_stale_version_is_refused(
    platform: Platform, channel: grpc.aio.Channel, http: httpx.AsyncClient
) -> None:
    unit = await new_unit(channel, platform, "Trường Đại học Sơn Lâm")
    model = await grpc_model(
        channel, platform, "Tổ tự quản ký túc xá", unit_id=unit, formed_on=date(2015, 9, 1)
    )
    stub = pb_grpc.ModelsServiceStub(channel)
    update = pb.UpdateModelRequest(
        id=model.id, version=model.version, name="Tổ tự quản về ANTT ký túc xá A", kind="self_managed_team",
        formation=pb.MODEL_FORMATION_CONSOLIDATED, formed_on=d(date(2015, 10, 1)),
        description="Củng cố sau sáp nhập khu ký túc xá",
    )  # fmt: skip
    update.unit.unit_id = unit
    officer = meta(platform, "unit_officer", unit)
    updated = (await stub.UpdateModel(update, metadata=officer, timeout=5)).model
    assert (updated.version, updated.name) == (2, "Tổ tự quản về ANTT ký túc xá A")
    # Nothing happened to it since its registration: its status follows the corrected formation.
    assert (updated.status, updated.status_on) == (pb.MODEL_STATUS_CONSOLIDATED, d(date(2015, 10, 1)))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.UpdateModel(update, metadata=officer, timeout=5)
    assert err.value.code() == grpc.StatusCode.ABORTED
    r = await http.post(
        f"/v1/models/{model.id}/status",
        json={"status": "effective", "changed_on": "2016-01-01", "version": 1},
        headers=platform.headers("unit_officer", unit_id=unit),
    )
    assert r.status_code == 409
    assert r.json()["code"] == "stale_version"
    r = await http.post(
        f"/v1/models/{model.id}/status",
        json={"status": "effective", "changed_on": "2016-01-01", "version": 2, "note": "Hoạt động hiệu quả"},
        headers=platform.headers("unit_officer", unit_id=unit),
    )
    assert (r.status_code, r.json()["status"], r.json()["version"]) == (200, "effective", 3)
    # A transition the lifecycle does not allow is a conflict of state, not of version.
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ChangeModelStatus(
            pb.ChangeModelStatusRequest(
                id=model.id, version=3, status=pb.MODEL_STATUS_BUILT, changed_on=d(date(2016, 2, 1))
            ),
            metadata=officer,
            timeout=5,
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    detail = (await http.get(f"/v1/models/{model.id}", headers=platform.headers("police"))).json()
    assert [(h["from_status"], h["to_status"], h["changed_on"]) for h in detail["history"]] == [
        (None, "consolidated", "2015-10-01"),
        ("consolidated", "effective", "2016-01-01"),
    ]
    assert detail["history"][1]["note"] == "Hoạt động hiệu quả"


@pytest.mark.parametrize(
    ("host", "field"),
    [
        ({"unit_id": str(uuid.uuid4())}, "host.unit_id"),
        ({"commune_code": "99999"}, "host.commune_code"),
        ({"unit_id": "không-phải-uuid"}, "host.unit_id"),
        ({}, "host"),
    ],
)
async def test_a_host_that_does_not_exist_is_invalid_with_the_field_named(
    platform: Platform, channel: grpc.aio.Channel, http: httpx.AsyncClient, host: dict[str, str], field: str
) -> None:
    r = await http_model(http, platform, "Tổ tự quản ma", host)
    assert r.status_code == 400
    assert [f["field"] for f in r.json()["fields"]] == [field]
    request = pb.CreateModelRequest(
        name="Tổ tự quản ma", kind="self_managed_team", formation=pb.MODEL_FORMATION_BUILT,
        formed_on=d(date(2018, 1, 1)),
    )  # fmt: skip
    if "unit_id" in host:
        request.unit.unit_id = host["unit_id"]
    elif "commune_code" in host:
        request.community.commune_code = host["commune_code"]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await pb_grpc.ModelsServiceStub(channel).CreateModel(
            request, metadata=meta(platform, "admin"), timeout=5
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v["field"] for v in status_details(err.value)["field_violations"]] == [field]


async def test_every_change_is_an_event_on_the_topic_and_an_audit_row(
    platform: Platform, channel: grpc.aio.Channel
) -> None:
    unit = await new_unit(channel, platform, "Công ty TNHH May mặc Việt Tiến")
    model = await grpc_model(
        channel, platform, "Tổ tự quản công nhân", unit_id=unit, formed_on=date(2017, 4, 4)
    )
    update = pb.UpdateModelRequest(
        id=model.id, version=1, name="Tổ công nhân tự quản về ANTT", kind="self_managed_team",
        formation=pb.MODEL_FORMATION_BUILT, formed_on=d(date(2017, 4, 4)),
    )  # fmt: skip
    update.unit.unit_id = unit
    stub = pb_grpc.ModelsServiceStub(channel)
    updated = (await stub.UpdateModel(update, metadata=meta(platform, "admin"), timeout=5)).model
    await change_status(channel, platform, updated, pb.MODEL_STATUS_EFFECTIVE, date(2018, 1, 1))

    consumer = AIOKafkaConsumer(TOPIC, bootstrap_servers=platform.bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    mine: list[tuple[str, Any]] = []

    async def read_more() -> list[tuple[str, Any]]:
        for batch in (await consumer.getmany(timeout_ms=500)).values():
            for record in batch:
                if record.key == model.id.encode():
                    mine.append((dict(record.headers)["ce_type"].decode(), record.value))
        return mine

    try:
        await eventually(
            read_more, until=lambda m: len(m) >= 3, within=30, interval=0, what="the model's events"
        )
    finally:
        await consumer.stop()
    assert [t for t, _ in mine] == [
        "d07.registry.v1.ModelCreated",
        "d07.registry.v1.ModelUpdated",
        "d07.registry.v1.ModelStatusChanged",
    ]
    created = pb.ModelCreated.FromString(mine[0][1])
    assert (created.model.name, created.model.unit.unit_id, created.actor.subject) == (
        "Tổ tự quản công nhân",
        unit,
        "test-admin",
    )
    changed = pb.ModelStatusChanged.FromString(mine[2][1])
    assert (changed.model.version, changed.change.to_status) == (3, pb.MODEL_STATUS_EFFECTIVE)

    conn = await asyncpg.connect(platform.database_url)
    try:
        rows = await conn.fetch(
            """SELECT action, actor, unit_id FROM registry.audit_log
                WHERE object_type = 'model' AND object_id = $1 ORDER BY id""",
            model.id,
        )
    finally:
        await conn.close()
    assert [(r["action"], r["actor"], str(r["unit_id"])) for r in rows] == [
        ("model.create", "test-admin", unit),
        ("model.update", "test-admin", unit),
        ("model.status", "test-admin", unit),
    ]


async def test_the_kinds_are_data_with_vietnamese_labels(platform: Platform, http: httpx.AsyncClient) -> None:
    r = await http.get("/v1/model-kinds", headers=platform.headers("unit_officer", unit_id=str(uuid.uuid4())))
    kinds = {k["code"]: k for k in r.json()}
    assert kinds["self_managed_team"]["label"] == "Tổ tự quản về an ninh trật tự"
    assert kinds["safe_school"]["host_types"] == ["unit"]
    assert kinds["safe_residential_area"]["host_types"] == ["community"]
