"""Units through the registry's public APIs (the registry as a process, real PostgreSQL and broker)."""

from __future__ import annotations

import io
import json
import random
import string
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import grpc
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from openpyxl import Workbook

from d07.common.v1 import common_pb2
from d07.platform.grpc import status_details
from d07.registry.v1 import registry_pb2 as pb
from d07.registry.v1 import registry_pb2_grpc as pb_grpc
from tests.support.services import Platform
from tests.support.waiting import eventually

TOPIC = "d07.registry.units.v1"
HEADERS = [
    "Mã đơn vị", "Tên đơn vị", "Loại hình", "Phân loại", "Mã quận/huyện", "Mã xã/phường", "Địa chỉ",
    "Cơ quan chủ quản", "Thủ trưởng", "Chức vụ", "Số điện thoại", "Email", "Số cán bộ nhân viên",
]  # fmt: skip


def tag() -> str:
    """A word no other test uses, to find this test's units by name."""
    return "".join(random.choices(string.ascii_lowercase, k=10))


def code(prefix: str = "U") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10].upper()}"


def md(platform: Platform, role: str = "admin", **kw: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {platform.token(role, **kw)}")]


@pytest.fixture
async def stub(platform: Platform) -> AsyncIterator[pb_grpc.RegistryServiceStub]:
    async with grpc.aio.insecure_channel(platform["registry"].target) as channel:
        yield pb_grpc.RegistryServiceStub(channel)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=60) as client:
        yield client


@pytest.fixture
async def db(platform: Platform) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(platform.database_url)
    try:
        yield conn
    finally:
        await conn.close()


async def create(
    stub: pb_grpc.RegistryServiceStub,
    platform: Platform,
    name: str,
    *,
    kind: int = pb.UNIT_KIND_SCHOOL,
    **kw: Any,
) -> pb.Unit:
    request = pb.CreateUnitRequest(
        code=kw.pop("code", code()), name=name, kind=kind, district_code="001", **kw
    )
    return (await stub.CreateUnit(request, metadata=md(platform), timeout=5)).unit


async def audit_actions(db: asyncpg.Connection, object_id: str) -> list[str]:
    rows = await db.fetch("SELECT action FROM registry.audit_log WHERE object_id = $1 ORDER BY id", object_id)
    return [r["action"] for r in rows]


async def list_all(
    stub: pb_grpc.RegistryServiceStub, platform: Platform, request: pb.ListUnitsRequest, page_size: int
) -> list[pb.Unit]:
    found: list[pb.Unit] = []
    token = ""
    while True:
        request.page.CopyFrom(common_pb2.PageRequest(page_size=page_size, page_token=token))
        reply = await stub.ListUnits(request, metadata=md(platform, "auditor"), timeout=5)
        found += reply.units
        token = reply.page.next_page_token
        if not token:
            return found


async def events_of(
    bootstrap: str, subjects: set[str], *, want: int, seconds: float = 60.0
) -> list[tuple[str, str, bytes]]:
    """(ce_type, ce_subject, value) of the events on the units topic about `subjects`, read from the start of
    every partition (no consumer group) until `want` of them are seen (fails when the time is up first)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    found: list[tuple[str, str, bytes]] = []

    async def partitions_now() -> set[int] | None:
        await consumer.topics()
        return consumer.partitions_for_topic(TOPIC)

    async def read_more() -> list[tuple[str, str, bytes]]:
        for records in (await consumer.getmany(timeout_ms=500)).values():
            for record in records:
                headers = {k: v.decode() for k, v in record.headers}
                if headers.get("ce_subject") in subjects:
                    found.append((headers["ce_type"], headers["ce_subject"], record.value or b""))
        return found

    try:
        partitions = await eventually(partitions_now, within=seconds, interval=0.2, what=f"{TOPIC} to appear")
        consumer.assign([TopicPartition(TOPIC, p) for p in partitions])
        await consumer.seek_to_beginning()
        return await eventually(
            read_more, until=lambda seen: len(seen) >= want, within=seconds, interval=0, what=f"{want} events"
        )
    finally:
        await consumer.stop()


# --- create, read, authorise ---------------------------------------------------------------------------


async def test_a_unit_with_full_details_created_over_http_is_read_over_grpc(
    platform: Platform, http: httpx.AsyncClient, stub: pb_grpc.RegistryServiceStub, db: asyncpg.Connection
) -> None:
    body = {
        "code": code("THPT"), "name": "Trường THPT Chu Văn An", "kind": "school", "sub_kind": "high_school",
        "district_code": "001", "commune_code": "00002", "address": "Số 12 đường Nguyễn Trãi",
        "parent_name": "Sở Giáo dục và Đào tạo", "head": {"name": "Nguyễn Văn Bình", "title": "Hiệu trưởng"},
        "contact": {"phone": "0209 3870 123", "email": "THPT.CVA@sonlam.edu.vn"}, "staff_count": 86,
    }  # fmt: skip
    r = await http.post(f"{platform['registry'].url}/v1/units", json=body, headers=platform.headers("admin"))
    assert r.status_code == 201, r.text
    created = r.json()
    assert (created["in_scope"], created["sub_kind_label"]) == (True, "Trường trung học phổ thông")
    unit = (
        await stub.GetUnit(pb.GetUnitRequest(id=created["id"]), metadata=md(platform, "police"), timeout=5)
    ).unit
    assert (unit.code, unit.name, unit.sub_kind, unit.commune_code) == (
        body["code"], "Trường THPT Chu Văn An", "high_school", "00002",
    )  # fmt: skip
    assert (unit.head.name, unit.head.title, unit.contact.email) == (
        "Nguyễn Văn Bình", "Hiệu trưởng", "thpt.cva@sonlam.edu.vn",
    )  # fmt: skip
    assert unit.HasField("staff_count")
    assert unit.staff_count == 86
    assert (unit.parent_name, unit.in_scope, unit.status, unit.version) == (
        "Sở Giáo dục và Đào tạo", True, pb.UNIT_STATUS_ACTIVE, 1,
    )  # fmt: skip
    assert await audit_actions(db, created["id"]) == ["unit.create"]
    [(ce_type, _, value)] = await events_of(platform.bootstrap, {created["id"]}, want=1)
    assert ce_type == "d07.registry.v1.UnitCreated"
    assert pb.UnitCreated.FromString(value).unit.head.name == "Nguyễn Văn Bình"


async def test_a_duplicate_code_is_already_exists_over_both_doors(
    platform: Platform, http: httpx.AsyncClient, stub: pb_grpc.RegistryServiceStub
) -> None:
    taken = (await create(stub, platform, "Công ty Điện lực Sơn Lâm", kind=pb.UNIT_KIND_ENTERPRISE)).code
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await create(stub, platform, "Công ty Cấp nước", kind=pb.UNIT_KIND_ENTERPRISE, code=taken)
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    body = {"code": taken, "name": "Công ty Cấp nước", "kind": "enterprise", "district_code": "001"}
    r = await http.post(f"{platform['registry'].url}/v1/units", json=body, headers=platform.headers("admin"))
    assert (r.status_code, r.json()["code"]) == (409, "unit_code_taken")


async def test_an_unknown_district_or_a_sub_kind_of_another_kind_is_invalid_with_the_field_named(
    platform: Platform, http: httpx.AsyncClient, stub: pb_grpc.RegistryServiceStub
) -> None:
    body = {"code": code(), "name": "Ủy ban nhân dân xã Nam Mẫu", "kind": "agency", "district_code": "999"}
    r = await http.post(f"{platform['registry'].url}/v1/units", json=body, headers=platform.headers("admin"))
    assert r.status_code == 400
    assert [f["field"] for f in r.json()["fields"]] == ["district_code"]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await create(
            stub, platform, "Ủy ban nhân dân xã Nam Mẫu", kind=pb.UNIT_KIND_AGENCY, sub_kind="primary"
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v["field"] for v in status_details(err.value)["field_violations"]] == ["sub_kind"]


async def test_a_unit_officer_reads_its_own_unit_only_and_the_attempt_is_logged(
    platform: Platform, http: httpx.AsyncClient, stub: pb_grpc.RegistryServiceStub
) -> None:
    own = await create(stub, platform, "Trường THCS Kim Đồng", sub_kind="lower_secondary")
    other = await create(stub, platform, "Trường THCS Lê Lợi", sub_kind="lower_secondary")
    officer = md(platform, "unit_officer", unit_id=own.id)
    got = await stub.GetUnit(pb.GetUnitRequest(id=own.id), metadata=officer, timeout=5)
    assert got.unit.id == own.id
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetUnit(pb.GetUnitRequest(id=other.id), metadata=officer, timeout=5)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    r = await http.get(
        f"{platform['registry'].url}/v1/units/{other.id}",
        headers=platform.headers("unit_officer", unit_id=own.id),
    )
    assert r.status_code == 403
    listed = await stub.ListUnits(pb.ListUnitsRequest(query="truong thcs"), metadata=officer, timeout=5)
    assert [u.id for u in listed.units] == [own.id]
    log = platform["registry"].log
    assert log is not None
    denied = [
        line
        for line in (parsed(x) for x in log.read_text().splitlines() if x.startswith("{"))
        if line.get("grpc_code") == "PERMISSION_DENIED" and line.get("resource_id") == other.id
    ]
    assert denied, "the denied attempt is not in the log"
    assert denied[0]["level"] == "warning"


def parsed(text: str) -> dict[str, Any]:
    """A JSON log line; {} for the last line while the service is still writing it."""
    try:
        line: dict[str, Any] = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return line


# --- updates ---------------------------------------------------------------------------------------


async def test_an_update_needs_the_current_version_and_every_change_is_audited(
    platform: Platform, http: httpx.AsyncClient, stub: pb_grpc.RegistryServiceStub, db: asyncpg.Connection
) -> None:
    unit = await create(stub, platform, "Công ty TNHH May Sơn Lâm", kind=pb.UNIT_KIND_ENTERPRISE)
    request = pb.UpdateUnitRequest(
        id=unit.id, expected_version=1, name="Công ty Cổ phần May Sơn Lâm", sub_kind="private_enterprise",
        staff_count=420, head=pb.UnitHead(name="Trần Thị Lan", title="Giám đốc"),
    )  # fmt: skip
    request.update_mask.paths.extend(["name", "sub_kind", "staff_count", "head"])
    updated = (await stub.UpdateUnit(request, metadata=md(platform), timeout=5)).unit
    assert (updated.name, updated.sub_kind, updated.staff_count, updated.version) == (
        "Công ty Cổ phần May Sơn Lâm", "private_enterprise", 420, 2,
    )  # fmt: skip
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.UpdateUnit(request, metadata=md(platform), timeout=5)  # still says version 1
    assert err.value.code() == grpc.StatusCode.ABORTED
    r = await http.patch(
        f"{platform['registry'].url}/v1/units/{unit.id}",
        json={"version": 1, "address": "Khu công nghiệp Thanh Bình"},
        headers=platform.headers("admin"),
    )
    assert (r.status_code, r.json()["code"]) == (409, "stale_version")
    r = await http.patch(
        f"{platform['registry'].url}/v1/units/{unit.id}",
        json={"version": 2, "address": "Khu công nghiệp Thanh Bình", "staff_count": None},
        headers=platform.headers("admin"),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["address"], r.json()["staff_count"], r.json()["version"]) == (
        "Khu công nghiệp Thanh Bình", None, 3,
    )  # fmt: skip
    assert await audit_actions(db, unit.id) == ["unit.create", "unit.update", "unit.update"]
    events = await events_of(platform.bootstrap, {unit.id}, want=3)
    assert [t for t, _, _ in events] == ["d07.registry.v1.UnitCreated"] + ["d07.registry.v1.UnitUpdated"] * 2
    assert [pb.UnitUpdated.FromString(v).unit.version for _, _, v in events[1:]] == [2, 3]


async def test_a_unit_officer_keeps_contact_details_of_its_own_unit_only(
    platform: Platform, stub: pb_grpc.RegistryServiceStub
) -> None:
    own = await create(stub, platform, "Trường Tiểu học Hoa Sen", sub_kind="primary")
    other = await create(stub, platform, "Trường Tiểu học Họa Mi", sub_kind="primary")
    officer = md(platform, "unit_officer", unit_id=own.id)
    request = pb.UpdateUnitRequest(
        id=own.id, expected_version=1, contact=pb.UnitContact(phone="0209 3811 222")
    )
    request.update_mask.paths.append("contact.phone")
    assert (await stub.UpdateUnit(request, metadata=officer, timeout=5)).unit.contact.phone == "0209 3811 222"
    for target, mask in ((own.id, "sub_kind"), (other.id, "contact.phone")):
        denied = pb.UpdateUnitRequest(id=target, expected_version=2 if target == own.id else 1)
        denied.sub_kind = "high_school"
        denied.contact.phone = "0209 3811 333"
        denied.update_mask.paths.append(mask)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.UpdateUnit(denied, metadata=officer, timeout=5)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    unchanged = (await stub.GetUnit(pb.GetUnitRequest(id=own.id), metadata=officer, timeout=5)).unit
    assert (unchanged.sub_kind, unchanged.version) == ("primary", 2)


# --- lists -----------------------------------------------------------------------------------------


async def test_search_ignores_case_and_diacritics(
    platform: Platform, http: httpx.AsyncClient, stub: pb_grpc.RegistryServiceStub
) -> None:
    word = tag()
    school = await create(
        stub, platform, f"Trường THPT Chuyên Hùng Vương {word.upper()}", sub_kind="high_school"
    )
    await create(stub, platform, f"Trường THCS Hùng Vương {word}", sub_kind="lower_secondary")
    found = await stub.ListUnits(
        pb.ListUnitsRequest(query=f"truong thpt {word}"), metadata=md(platform, "auditor"), timeout=5
    )
    assert [u.id for u in found.units] == [school.id]
    r = await http.get(
        f"{platform['registry'].url}/v1/units",
        params={"q": f"HUNG vuong {word}", "kind": "school", "district": "001"},
        headers=platform.headers("auditor"),
    )
    assert r.status_code == 200
    assert sorted(u["name"] for u in r.json()["items"]) == sorted(
        [f"Trường THCS Hùng Vương {word}", f"Trường THPT Chuyên Hùng Vương {word.upper()}"]
    )


async def test_pagination_walks_every_unit_exactly_once_in_name_order(
    platform: Platform, http: httpx.AsyncClient, stub: pb_grpc.RegistryServiceStub
) -> None:
    word = tag()
    names = [
        f"{prefix} {word} {n:02d}" for n in range(11) for prefix in ("Trường Mầm non Ánh Dương", "Đội Thuế")
    ]
    created = [await create(stub, platform, name, kind=pb.UNIT_KIND_AGENCY) for name in names]
    walked = await list_all(stub, platform, pb.ListUnitsRequest(query=word), page_size=4)
    assert sorted(u.id for u in walked) == sorted(u.id for u in created)
    assert len({u.id for u in walked}) == len(walked) == 22
    assert [u.name for u in walked][:2] == [f"Đội Thuế {word} 00", f"Đội Thuế {word} 01"]  # "doi" < "truong"
    r = await http.get(
        f"{platform['registry'].url}/v1/units",
        params={"q": word, "page_size": 20},
        headers=platform.headers("auditor"),
    )
    first = r.json()
    assert len(first["items"]) == 20
    assert first["next_page_token"]
    r = await http.get(
        f"{platform['registry'].url}/v1/units",
        params={"q": word, "kind": "school", "page_token": first["next_page_token"]},
        headers=platform.headers("auditor"),
    )
    assert (r.status_code, r.json()["code"]) == (400, "page_token_mismatch")


# --- merges, splits, dissolutions ------------------------------------------------------------------


async def test_a_merge_ends_the_sources_records_the_history_and_announces_it(
    platform: Platform, stub: pb_grpc.RegistryServiceStub, db: asyncpg.Connection
) -> None:
    a = await create(stub, platform, "Trường THCS Xuân Lạc", sub_kind="lower_secondary")
    b = await create(stub, platform, "Trường THCS Xuân Phong", sub_kind="lower_secondary")
    c = await create(stub, platform, "Trường THCS Xuân Lạc - Xuân Phong", sub_kind="lower_secondary")
    request = pb.MergeUnitsRequest(
        source_ids=[a.id, b.id], target_id=c.id, decision="Quyết định số 125/QĐ-UBND",
        effective_on=common_pb2.Date(year=2019, month=8, day=1),
    )  # fmt: skip
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.MergeUnits(request, metadata=md(platform, "police"), timeout=5)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    reply = await stub.MergeUnits(request, metadata=md(platform), timeout=5)
    assert [(u.id, u.status, u.version) for u in reply.sources] == [
        (a.id, pb.UNIT_STATUS_MERGED, 2), (b.id, pb.UNIT_STATUS_MERGED, 2),
    ]  # fmt: skip
    after = await stub.BatchGetUnits(
        pb.BatchGetUnitsRequest(ids=[a.id, b.id, c.id]), metadata=md(platform), timeout=5
    )
    assert {u.id: u.status for u in after.units} == {
        a.id: pb.UNIT_STATUS_MERGED, b.id: pb.UNIT_STATUS_MERGED, c.id: pb.UNIT_STATUS_ACTIVE,
    }  # fmt: skip
    for unit_id in (a.id, c.id):
        history = await stub.ListUnitStatusChanges(
            pb.ListUnitStatusChangesRequest(id=unit_id), metadata=md(platform, "auditor"), timeout=5
        )
        [change] = history.changes
        assert (change.kind, list(change.from_unit_ids), list(change.to_unit_ids), change.decision) == (
            pb.UNIT_STATUS_CHANGE_KIND_MERGE, [a.id, b.id], [c.id], "Quyết định số 125/QĐ-UBND",
        )  # fmt: skip
        assert (change.effective_on.year, change.effective_on.month, change.effective_on.day) == (2019, 8, 1)
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await stub.MergeUnits(request, metadata=md(platform), timeout=5)
    assert again.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert await audit_actions(db, a.id) == ["unit.create", "unit.merge"]
    assert await audit_actions(db, c.id) == ["unit.create", "unit.merge"]
    events = await events_of(platform.bootstrap, {a.id}, want=2)
    updated = pb.UnitUpdated.FromString(events[-1][2])
    assert events[-1][0] == "d07.registry.v1.UnitUpdated"
    assert (updated.unit.status, updated.status_change.kind) == (
        pb.UNIT_STATUS_MERGED,
        pb.UNIT_STATUS_CHANGE_KIND_MERGE,
    )
    assert list(updated.status_change.to_unit_ids) == [c.id]


async def test_a_split_and_a_dissolution_end_the_unit_over_http(
    platform: Platform, http: httpx.AsyncClient, stub: pb_grpc.RegistryServiceStub, db: asyncpg.Connection
) -> None:
    whole = await create(stub, platform, "Hợp tác xã Nông nghiệp Thanh Bình", kind=pb.UNIT_KIND_ENTERPRISE)
    east = await create(stub, platform, "Hợp tác xã Thanh Bình Đông", kind=pb.UNIT_KIND_ENTERPRISE)
    west = await create(stub, platform, "Hợp tác xã Thanh Bình Tây", kind=pb.UNIT_KIND_ENTERPRISE)
    url, admin = platform["registry"].url, platform.headers("admin")
    r = await http.post(
        f"{url}/v1/units/{whole.id}:split", json={"successor_ids": [east.id], "version": 1}, headers=admin
    )
    assert r.status_code == 422  # one successor is not a split
    r = await http.post(
        f"{url}/v1/units/{whole.id}:split",
        json={"successor_ids": [east.id, west.id], "version": 1},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["change"]["kind"], r.json()["units"][0]["status"]) == ("split", "dissolved")
    r = await http.post(
        f"{url}/v1/units/{east.id}:dissolve", json={"version": 7, "note": "Giải thể"}, headers=admin
    )
    assert (r.status_code, r.json()["code"]) == (409, "stale_version")
    r = await http.post(
        f"{url}/v1/units/{east.id}:dissolve", json={"version": 1, "note": "Giải thể"}, headers=admin
    )
    assert r.status_code == 200
    r = await http.get(f"{url}/v1/units/{east.id}/status-changes", headers=platform.headers("auditor"))
    history = r.json()
    assert [(h["kind"], h["from_unit_ids"]) for h in history] == [
        ("split", [whole.id]),
        ("dissolve", [east.id]),
    ]
    assert await audit_actions(db, east.id) == ["unit.create", "unit.split", "unit.dissolve"]


# --- scope ---------------------------------------------------------------------------------------------


async def test_in_scope_follows_the_rules_data(
    platform: Platform, stub: pb_grpc.RegistryServiceStub, db: asyncpg.Connection
) -> None:
    word = tag()
    kindergarten = await create(stub, platform, f"Trường Mầm non Hoa Hồng {word}", sub_kind="kindergarten")
    high_school = await create(stub, platform, f"Trường THPT Ngô Quyền {word}", sub_kind="high_school")
    small_coop = await create(
        stub,
        platform,
        f"Hợp tác xã Dịch vụ {word}",
        kind=pb.UNIT_KIND_ENTERPRISE,
        sub_kind="cooperative",
        staff_count=6,
    )
    assert (kindergarten.in_scope, high_school.in_scope, small_coop.in_scope) == (False, True, True)
    out = await stub.ListUnits(
        pb.ListUnitsRequest(query=word, in_scope=False), metadata=md(platform), timeout=5
    )
    assert [u.id for u in out.units] == [kindergarten.id]
    rule = f"test_{word}"
    await db.execute(
        """INSERT INTO registry.unit_scope_rules (code, sub_kind, staff_below, reason)
           VALUES ($1, 'cooperative', 10, 'Hợp tác xã dưới 10 lao động')""",
        rule,
    )
    try:
        reply = await stub.ListUnitSubKinds(
            pb.ListUnitSubKindsRequest(), metadata=md(platform, "auditor"), timeout=5
        )
        assert rule in {r.code for r in reply.scope_rules}
        got = await stub.GetUnit(pb.GetUnitRequest(id=small_coop.id), metadata=md(platform), timeout=5)
        assert got.unit.in_scope is False
        out = await stub.ListUnits(
            pb.ListUnitsRequest(query=word, in_scope=False), metadata=md(platform), timeout=5
        )
        assert sorted(u.id for u in out.units) == sorted([kindergarten.id, small_coop.id])
    finally:
        await db.execute("DELETE FROM registry.unit_scope_rules WHERE code = $1", rule)
    got = await stub.GetUnit(pb.GetUnitRequest(id=small_coop.id), metadata=md(platform), timeout=5)
    assert got.unit.in_scope is True


async def test_sub_kinds_and_scope_rules_are_listed_with_vietnamese_labels(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    r = await http.get(
        f"{platform['registry'].url}/v1/unit-sub-kinds",
        headers=platform.headers("unit_officer", unit_id=str(uuid.uuid4())),
    )
    assert r.status_code == 200
    labels = {s["code"]: (s["kind"], s["label"]) for s in r.json()["sub_kinds"]}
    assert labels["fdi_enterprise"] == ("enterprise", "Doanh nghiệp có vốn đầu tư nước ngoài")
    assert labels["kindergarten"] == ("school", "Trường mầm non")
    out_of_scope = {rule["sub_kind"] for rule in r.json()["scope_rules"]}
    assert {"small_enterprise", "micro_enterprise", "primary", "kindergarten"} <= out_of_scope


# --- import --------------------------------------------------------------------------------------------


def units_file(word: str, n: int, *, bad_line: int | None = None) -> bytes:
    """An XLSX file of `n` units as an office keeps it; the unit on `bad_line` has an unknown district."""
    kinds = [
        ("Nhà trường", "Trường trung học phổ thông", "Trường THPT"),
        ("Doanh nghiệp", "Doanh nghiệp nhà nước", "Công ty"),
        ("Cơ quan", "Cơ quan nhà nước", "Phòng Tài chính"),
        ("Nhà trường", "Trường tiểu học", "Trường Tiểu học"),
    ]
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for i in range(n):
        kind, sub_kind, prefix = kinds[i % len(kinds)]
        line = i + 2
        sheet.append([
            f"{word.upper()}-{i:04d}", f"{prefix} Sơn Lâm {word} số {i}", kind, sub_kind,
            "999" if line == bad_line else "001", "00001", f"Số {i} đường Trần Hưng Đạo", "UBND tỉnh Sơn Lâm",
            "Phạm Văn Đức", "Thủ trưởng", "0209 3870 100", f"don.vi.{i}@sonlam.gov.vn", 20 + i,
        ])  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_an_import_with_one_bad_row_imports_nothing_and_the_corrected_file_imports_all(
    platform: Platform, http: httpx.AsyncClient, stub: pb_grpc.RegistryServiceStub, db: asyncpg.Connection
) -> None:
    word = tag()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ImportUnits(
            pb.ImportUnitsRequest(filename="don-vi.xlsx", content=units_file(word, 500, bad_line=318)),
            metadata=md(platform),
            timeout=30,
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert status_details(err.value)["field_violations"] == [
        {"field": "line 318: Mã quận/huyện", "description": "unknown district '999'"}
    ]
    assert await list_all(stub, platform, pb.ListUnitsRequest(query=word), page_size=100) == []

    files = {"file": ("don-vi.xlsx", units_file(word, 500), "application/vnd.ms-excel")}
    r = await http.post(
        f"{platform['registry'].url}/v1/units:import",
        files=files,
        headers=platform.headers("admin"),
        timeout=60,
    )
    assert r.status_code == 201, r.text
    assert r.json()["imported_count"] == 500
    listed = await list_all(stub, platform, pb.ListUnitsRequest(query=word), page_size=200)
    ids = {u.id for u in listed}
    assert len(ids) == 500
    assert sum(1 for u in listed if not u.in_scope) == 125  # the primary schools
    assert {u.code for u in listed} == {f"{word.upper()}-{i:04d}" for i in range(500)}
    audited = await db.fetchval(
        """SELECT count(*) FROM registry.audit_log
            WHERE action = 'unit.import' AND object_id = ANY($1::text[])""",
        list(ids),
    )
    assert audited == 500
    events = await events_of(platform.bootstrap, ids, want=500)
    assert len(events) == 500
    assert {t for t, _, _ in events} == {"d07.registry.v1.UnitCreated"}
    assert {s for _, s, _ in events} == ids
    # ... and reporting, another service, has them in its projection.
    await eventually(
        lambda: db.fetchval(
            "SELECT count(*) FROM reporting.units WHERE unit_id = ANY($1::uuid[])",
            [uuid.UUID(i) for i in ids],
        ),
        until=lambda projected: projected == 500,
        within=60,
        interval=0.3,
        what="reporting's projection of the 500 imported units",
    )


async def test_an_import_names_repeated_and_registered_codes_and_bad_fields_by_line(
    platform: Platform, http: httpx.AsyncClient, stub: pb_grpc.RegistryServiceStub, db: asyncpg.Connection
) -> None:
    registered = await create(stub, platform, "Trường Cao đẳng Sư phạm Sơn Lâm", sub_kind="college")
    word = tag().upper()
    csv_text = (
        "Mã đơn vị;Tên đơn vị;Loại hình;Phân loại;Mã quận/huyện;Mã xã/phường;Số cán bộ nhân viên\n"
        f"{word}-1;Trường Đại học Sơn Lâm;Nhà trường;Trường đại học;001;00001;1.240\n"
        f"{registered.code};Trường Cao đẳng Y tế;Nhà trường;Trường cao đẳng;001;;80\n"
        f"{word}-1;Trường Trung cấp Nghề;Nhà trường;;001;;\n"
        f"{word}-4;Chi cục Thuế;Cơ quan;Doanh nghiệp nhà nước;001;;hai mươi\n"
        f"{word}-5;Trường Tiểu học Nam Mẫu;Nhà trường;Trường tiểu học;002;00001;30\n"
    )
    r = await http.post(
        f"{platform['registry'].url}/v1/units:import",
        files={"file": ("don-vi.csv", csv_text.encode(), "text/csv")},
        headers=platform.headers("admin"),
    )
    assert r.status_code == 400
    assert [(f["field"], f["reason"]) for f in r.json()["fields"]] == [
        ("line 3: Mã đơn vị", f"a unit with code {registered.code} is already registered"),
        ("line 4: Mã đơn vị", f"{word}-1 is also on line 2"),
        ("line 5: Phân loại", "state_enterprise is a sub-kind of enterprise, not agency"),
        ("line 5: Số cán bộ nhân viên", "'hai mươi' is not a whole number"),
        ("line 6: Mã xã/phường", "commune 00001 lies in district 001, not 002"),
    ]
    assert await db.fetchval("SELECT count(*) FROM registry.units WHERE code LIKE $1", f"{word}-%") == 0
    r = await http.post(
        f"{platform['registry'].url}/v1/units:import",
        files={"file": ("don-vi.csv", csv_text.encode(), "text/csv")},
        headers=platform.headers("police"),
    )
    assert r.status_code == 403
