"""Security forces and guards through the registry's public doors (the registry as a process): gRPC
ForcesService and HTTP /v1, events on d07.registry.forces.v1, audit rows in the registry's schema."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import grpc
import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from openpyxl import Workbook

from d07.common.v1 import common_pb2
from d07.platform.grpc import status_details
from d07.registry.v1 import forces_pb2 as pb
from d07.registry.v1 import forces_pb2_grpc, registry_pb2, registry_pb2_grpc
from tests.support.services import Platform
from tests.support.waiting import eventually

TOPIC = "d07.registry.forces.v1"
HEADER = ["Mã đơn vị", "Họ và tên", "Năm sinh", "Chức vụ", "Số điện thoại", "Ngày vào làm"]
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng"]
MIDDLE = ["Văn", "Thị", "Đức", "Minh"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Giang", "Hải", "Khánh", "Long", "Mai", "Phúc"]


def auth(platform: Platform, role: str, unit_id: str | None = None) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {platform.token(role, unit_id=unit_id)}")]


@pytest.fixture
async def channel(platform: Platform) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(platform["registry"].target) as ch:
        yield ch


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform["registry"].url, timeout=30) as client:
        yield client


async def create_unit(channel: grpc.aio.Channel, platform: Platform, name: str) -> tuple[str, str]:
    """A new unit (id, code) created by the registry's admin."""
    code = f"DN-{uuid.uuid4().hex[:8].upper()}"
    reply = await registry_pb2_grpc.RegistryServiceStub(channel).CreateUnit(
        registry_pb2.CreateUnitRequest(
            code=code, name=name, kind=registry_pb2.UNIT_KIND_ENTERPRISE, district_code="001"
        ),
        metadata=auth(platform, "admin"),
        timeout=10,
    )
    return reply.unit.id, code


async def read_events(bootstrap: str, keys: set[str], *, within: float = 60.0) -> dict[str, list[str]]:
    """ce_type of every event on the topic whose key is in `keys`, per key; waits (bounded) until each key
    has one."""
    consumer = AIOKafkaConsumer(
        TOPIC, bootstrap_servers=bootstrap, group_id=f"test-forces-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest", enable_auto_commit=False, session_timeout_ms=6000,
    )  # fmt: skip
    seen: dict[str, list[str]] = {}

    async def read_more() -> dict[str, list[str]]:
        for records in (await consumer.getmany(timeout_ms=500)).values():
            for record in records:
                key = record.key.decode() if record.key else ""
                if key in keys:
                    headers = {k: v.decode() for k, v in record.headers}
                    seen.setdefault(key, []).append(headers["ce_type"])
        return seen

    await consumer.start()
    try:
        return await eventually(
            read_more,
            until=lambda s: keys <= s.keys(),
            within=within,
            interval=0,
            what="an event of each key",
        )
    finally:
        await consumer.stop()


async def audit_rows(platform: Platform, object_ids: list[str]) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(platform.database_url)
    try:
        return await conn.fetch(
            """SELECT action, object_id, unit_id, actor FROM registry.audit_log
               WHERE object_id = ANY($1::text[])""",
            object_ids,
        )
    finally:
        await conn.close()


def code_of(err: pytest.ExceptionInfo[grpc.aio.AioRpcError]) -> grpc.StatusCode:
    return err.value.code()


async def test_a_units_force_and_guards_through_both_doors(
    platform: Platform, channel: grpc.aio.Channel, http: httpx.AsyncClient
) -> None:
    stub = forces_pb2_grpc.ForcesServiceStub(channel)
    unit_a, _ = await create_unit(channel, platform, "Công ty TNHH Dệt may Hòa Bình")
    unit_b, _ = await create_unit(channel, platform, "Trường THPT Chu Văn An")
    officer_a = platform.headers("unit_officer", unit_id=unit_a)
    officer_b = auth(platform, "unit_officer", unit_b)

    # establish over HTTP as the unit's officer; a second force of the unit is refused over gRPC
    r = await http.post(
        f"/v1/units/{unit_a}/security-force",
        json={"established_on": "2014-08-15", "planned_size": 4, "leader_name": "Trần Văn Hùng",
              "leader_phone": "0912 345 678"},
        headers=officer_a,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    force = r.json()
    assert (force["planned_size"], force["actual_size"], force["leader_phone"]) == (4, 0, "0912345678")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.EstablishSecurityForce(
            pb.EstablishSecurityForceRequest(
                unit_id=unit_a, established_on=common_pb2.Date(year=2015, month=1, day=1), planned_size=2
            ),
            metadata=auth(platform, "admin"),
        )
    assert code_of(err) == grpc.StatusCode.ALREADY_EXISTS

    # register guards over both doors
    reply = await stub.RegisterGuard(
        pb.RegisterGuardRequest(
            unit_id=unit_a, full_name="Nguyễn Văn An", birth_year=1985, position="Tổ trưởng",
            phone="0987654321", joined_on=common_pb2.Date(year=2015, month=3, day=1),
        ),
        metadata=auth(platform, "unit_officer", unit_a),
    )  # fmt: skip
    an = reply.guard
    assert (an.status, an.version, an.joined_on.year) == (pb.GUARD_STATUS_ACTIVE, 1, 2015)
    ids = [an.id]
    for name, year in [("Nguyễn Văn Bình", 1990), ("Trần Thị Cúc", 1979)]:
        r = await http.post(
            "/v1/guards", json={"unit_id": unit_a, "full_name": name, "birth_year": year}, headers=officer_a
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])

    # search insensitive to case and diacritics, over both doors
    listed = await stub.ListGuards(
        pb.ListGuardsRequest(unit_id=unit_a, q="nguyen van"), metadata=auth(platform, "auditor")
    )
    assert [g.full_name for g in listed.guards] == ["Nguyễn Văn An", "Nguyễn Văn Bình"]
    r = await http.get(
        "/v1/guards", params={"unit_id": unit_a, "q": "NGUYỄN VAN BINH"}, headers=platform.headers("police")
    )
    assert [g["full_name"] for g in r.json()["items"]] == ["Nguyễn Văn Bình"]

    # pages of one, in name order, until the last page
    names, token = [], ""
    while True:
        page = await stub.ListGuards(
            pb.ListGuardsRequest(unit_id=unit_a, page=common_pb2.PageRequest(page_size=1, page_token=token)),
            metadata=auth(platform, "unit_officer", unit_a),
        )
        names += [g.full_name for g in page.guards]
        token = page.page.next_page_token
        if not token:
            break
    assert names == ["Nguyễn Văn An", "Nguyễn Văn Bình", "Trần Thị Cúc"]

    # the actual size counts active guards
    got = await stub.GetSecurityForce(
        pb.GetSecurityForceRequest(unit_id=unit_a), metadata=auth(platform, "auditor")
    )
    assert (got.force.planned_size, got.force.actual_size) == (4, 3)
    r = await http.post(
        f"/v1/guards/{ids[2]}:leave", json={"version": 1, "left_on": "2024-01-31"}, headers=officer_a
    )
    assert (r.status_code, r.json()["status"], r.json()["left_on"]) == (200, "left", "2024-01-31")
    r = await http.get(f"/v1/units/{unit_a}/security-force", headers=officer_a)
    assert r.json()["actual_size"] == 2
    left = await stub.ListGuards(
        pb.ListGuardsRequest(unit_id=unit_a, status=pb.GUARD_STATUS_LEFT), metadata=auth(platform, "admin")
    )
    assert [g.id for g in left.guards] == [ids[2]]

    # a stale version: ABORTED over gRPC, 409 over HTTP; the current one goes through
    update = pb.UpdateGuardRequest(id=an.id, version=1, full_name="Nguyễn Văn An", birth_year=1985,
                                   position="Đội trưởng", phone="0987654321")  # fmt: skip
    updated = await stub.UpdateGuard(update, metadata=auth(platform, "unit_officer", unit_a))
    assert (updated.guard.version, updated.guard.position) == (2, "Đội trưởng")
    assert not updated.guard.HasField("joined_on")  # an update replaces every field
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.UpdateGuard(update, metadata=auth(platform, "admin"))
    assert code_of(err) == grpc.StatusCode.ABORTED
    r = await http.put(
        f"/v1/guards/{an.id}",
        json={"version": 1, "full_name": "Nguyễn Văn An", "birth_year": 1986},
        headers=officer_a,
    )
    assert (r.status_code, r.json()["code"]) == (409, "stale_version")
    r = await http.put(
        f"/v1/units/{unit_a}/security-force",
        json={"version": 7, "established_on": "2014-08-15", "planned_size": 5},
        headers=officer_a,
    )
    assert (r.status_code, r.json()["code"]) == (409, "stale_version")
    r = await http.put(
        f"/v1/units/{unit_a}/security-force",
        json={
            "version": 1,
            "established_on": "2014-08-15",
            "planned_size": 5,
            "leader_name": "Trần Văn Hùng",
        },
        headers=platform.headers("admin"),
    )
    assert (r.status_code, r.json()["version"], r.json()["actual_size"]) == (200, 2, 2)

    # a unit officer of another unit: PERMISSION_DENIED / 403 on every object of unit A, its own list empty
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetGuard(pb.GetGuardRequest(id=an.id), metadata=officer_b)
    assert code_of(err) == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ListGuards(pb.ListGuardsRequest(unit_id=unit_a), metadata=officer_b)
    assert code_of(err) == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.BatchGetGuards(pb.BatchGetGuardsRequest(ids=[an.id]), metadata=officer_b)
    assert code_of(err) == grpc.StatusCode.PERMISSION_DENIED
    headers_b = platform.headers("unit_officer", unit_id=unit_b)
    for method, path, body in [
        ("GET", f"/v1/units/{unit_a}/security-force", None),
        ("PUT", f"/v1/guards/{an.id}", {"version": 2, "full_name": "Nguyễn Văn An", "birth_year": 1985}),
        ("POST", "/v1/guards", {"unit_id": unit_a, "full_name": "Lê Văn Lạ", "birth_year": 1990}),
        ("POST", f"/v1/guards/{an.id}:leave", {"version": 2, "left_on": "2024-02-01"}),
    ]:
        r = await http.request(method, path, json=body, headers=headers_b)
        assert (r.status_code, r.json()["code"]) == (403, "other_unit"), (method, path)
    r = await http.get("/v1/guards", headers=headers_b)
    assert r.json()["items"] == []
    # read-only roles read but do not write
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.RegisterGuard(
            pb.RegisterGuardRequest(unit_id=unit_a, full_name="Lê Văn Lạ", birth_year=1990),
            metadata=auth(platform, "auditor"),
        )
    assert code_of(err) == grpc.StatusCode.PERMISSION_DENIED

    # an unknown unit is an invalid argument naming unit_id
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.RegisterGuard(
            pb.RegisterGuardRequest(unit_id=str(uuid.uuid4()), full_name="Lê Văn Lạ", birth_year=1990),
            metadata=auth(platform, "admin"),
        )
    assert code_of(err) == grpc.StatusCode.INVALID_ARGUMENT
    assert [v["field"] for v in status_details(err.value)["field_violations"]] == ["unit_id"]

    # the batch lookup other aggregates use: found + missing
    nobody = str(uuid.uuid4())
    batch = await stub.BatchGetGuards(
        pb.BatchGetGuardsRequest(ids=[*ids, nobody]), metadata=auth(platform, "service")
    )
    assert sorted(g.id for g in batch.guards) == sorted(ids)
    assert list(batch.missing_ids) == [nobody]

    # every change was audited and announced, keyed by the unit (force) or the guard
    audited = await audit_rows(platform, [force["id"], *ids])
    assert sorted(r["action"] for r in audited) == sorted(
        ["security_force.establish", "security_force.update", "guard.register", "guard.register",
         "guard.register", "guard.update", "guard.leave"]
    )  # fmt: skip
    assert {str(r["unit_id"]) for r in audited} == {unit_a}
    events = await read_events(platform.bootstrap, {unit_a, *ids})
    assert events[unit_a] == [
        "d07.registry.v1.SecurityForceEstablished",
        "d07.registry.v1.SecurityForceUpdated",
    ]
    assert events[an.id] == ["d07.registry.v1.GuardRegistered", "d07.registry.v1.GuardUpdated"]
    assert events[ids[2]] == ["d07.registry.v1.GuardRegistered", "d07.registry.v1.GuardLeft"]


def guard_rows(code: str, count: int) -> list[list[Any]]:
    """`count` distinct guards of one unit as a provincial table lists them."""
    rows = []
    for n in range(count):
        name = f"{SURNAMES[n % 10]} {MIDDLE[(n // 10) % 4]} {GIVEN[(n // 40) % 10]}"
        rows.append(
            [code, name, 1960 + n % 40, "Nhân viên bảo vệ", f"09{n:08d}", f"{1 + n % 28:02d}/03/2016"]
        )
    return rows


def as_csv(rows: list[list[Any]]) -> bytes:
    return "\n".join(",".join(str(c) for c in row) for row in [HEADER, *rows]).encode()


def as_xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    for row in [HEADER, *rows]:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_an_import_is_all_or_nothing_with_every_problem_named(
    platform: Platform, channel: grpc.aio.Channel, http: httpx.AsyncClient
) -> None:
    stub = forces_pb2_grpc.ForcesServiceStub(channel)
    unit, code = await create_unit(channel, platform, "Công ty Cổ phần Xi măng Sông Đà")
    _, other_code = await create_unit(channel, platform, "Bệnh viện Đa khoa tỉnh")
    officer = platform.headers("unit_officer", unit_id=unit)
    rows = guard_rows(code, 200)

    async def count() -> int:
        r = await http.get("/v1/guards", params={"unit_id": unit, "page_size": 500}, headers=officer)
        return len(r.json()["items"])

    # one bad row among 200: nothing imported, the row's line and field named
    bad = [list(r) for r in rows]
    bad[117][2] = "19x5"  # the 118th guard: line 119 (line 1 is the header)
    r = await http.post(
        "/v1/guards:import", files={"file": ("bao-ve.csv", as_csv(bad), "text/csv")}, headers=officer
    )
    assert (r.status_code, r.json()["code"]) == (400, "import_rejected"), r.text
    assert [f["field"] for f in r.json()["fields"]] == ["line 119: Năm sinh"]
    assert await count() == 0

    # a unit officer imports its own unit's guards only: another unit's row is that row's problem
    foreign = [list(r) for r in rows]
    foreign[5][0] = other_code
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ImportGuards(
            pb.ImportGuardsRequest(filename="bao-ve.xlsx", content=as_xlsx(foreign)),
            metadata=auth(platform, "unit_officer", unit),
        )
    assert code_of(err) == grpc.StatusCode.INVALID_ARGUMENT
    assert [v["field"] for v in status_details(err.value)["field_violations"]] == ["line 7: Mã đơn vị"]
    assert await count() == 0

    # the corrected file imports all 200, in one go
    reply = await stub.ImportGuards(
        pb.ImportGuardsRequest(filename="bao-ve.xlsx", content=as_xlsx(rows)),
        metadata=auth(platform, "unit_officer", unit),
    )
    assert reply.imported == 200
    assert len(set(reply.guard_ids)) == 200
    assert await count() == 200
    first = await stub.GetGuard(pb.GetGuardRequest(id=reply.guard_ids[0]), metadata=auth(platform, "auditor"))
    assert (first.guard.full_name, first.guard.birth_year, first.guard.phone) == (
        "Nguyễn Văn An",
        1960,
        "0900000000",
    )
    assert (first.guard.joined_on.year, first.guard.joined_on.month, first.guard.joined_on.day) == (
        2016,
        3,
        1,
    )

    # the same file again would double the guards: refused, row by row
    r = await http.post(
        "/v1/guards:import", files={"file": ("bao-ve.csv", as_csv(rows[:3]), "text/csv")}, headers=officer
    )
    assert [f["field"] for f in r.json()["fields"]] == [f"line {n}: Họ và tên" for n in (2, 3, 4)]

    audited = await audit_rows(platform, list(reply.guard_ids))
    assert len(audited) == 200
    assert {r["action"] for r in audited} == {"guard.register"}
    assert {r["actor"] for r in audited} == {"test-unit_officer"}
    events = await read_events(platform.bootstrap, set(reply.guard_ids))
    assert set(events) == set(reply.guard_ids)
    assert {t for types in events.values() for t in types} == {"d07.registry.v1.GuardRegistered"}
