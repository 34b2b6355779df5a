"""Directive documents through both doors of the registry process: issue, distribute, acknowledge, progress,
object-level authorisation, events on d07.registry.directives.v1 and the audit trail."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import grpc
import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from google.protobuf.message import Message

from d07.common.v1 import common_pb2
from d07.platform.grpc import status_details
from d07.registry.v1 import directives_pb2 as pb
from d07.registry.v1 import directives_pb2_grpc, registry_pb2, registry_pb2_grpc
from tests.support.services import Platform
from tests.support.waiting import eventually

TOPIC = "d07.registry.directives.v1"
TITLE_07 = (
    "Về đẩy mạnh phong trào toàn dân bảo vệ an ninh Tổ quốc trong cơ quan, doanh nghiệp, nhà trường "
    "để góp phần bảo đảm an ninh, trật tự"
)
EVENT_TYPES: dict[str, type[Message]] = {
    f"d07.registry.v1.{m.__name__}": m
    for m in (pb.DocumentIssued, pb.DocumentUpdated, pb.DocumentDistributed, pb.DocumentAcknowledged)
}


def marker() -> str:
    return uuid.uuid4().hex[:8].upper()


async def call(
    platform: Platform, method: str, request: Message, *, role: str = "admin", unit_id: str | None = None
) -> Any:
    token = platform.token(role, unit_id=unit_id, subject=f"can-bo-{unit_id}" if unit_id else None)
    async with grpc.aio.insecure_channel(platform["registry"].target) as channel:
        stub = directives_pb2_grpc.DirectivesServiceStub(channel)  # type: ignore[no-untyped-call]
        return await getattr(stub, method)(
            request, metadata=[("authorization", f"Bearer {token}")], timeout=10
        )


async def refused(platform: Platform, method: str, request: Message, **kw: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call(platform, method, request, **kw)
    return err.value


def headers(platform: Platform, role: str = "admin", unit_id: str | None = None) -> dict[str, str]:
    if unit_id:
        return platform.headers(role, unit_id=unit_id, subject=f"can-bo-{unit_id}")
    return platform.headers(role)


async def create_unit(
    platform: Platform, *, district: str, commune: str, kind: registry_pb2.UnitKind, name: str
) -> str:
    request = registry_pb2.CreateUnitRequest(
        code=f"VB-{marker()}", name=name, kind=kind, district_code=district, commune_code=commune
    )
    async with grpc.aio.insecure_channel(platform["registry"].target) as channel:
        stub = registry_pb2_grpc.RegistryServiceStub(channel)  # type: ignore[no-untyped-call]
        reply = await stub.CreateUnit(
            request, metadata=[("authorization", f"Bearer {platform.token('admin')}")], timeout=10
        )
    return str(reply.unit.id)


async def issue(platform: Platform, **fields: Any) -> pb.Document:
    values: dict[str, Any] = {
        "number": f"{marker()}/KH-BCĐ138",
        "kind": "plan",
        "title": f"Kế hoạch triển khai Chỉ thị 07 năm 2015 {marker()}",
        "issued_on": common_pb2.Date(year=2015, month=3, day=2),
        "issuer": "Ban Chỉ đạo 138 tỉnh",
    }
    values.update(fields)
    reply: pb.IssueDocumentResponse = await call(platform, "IssueDocument", pb.IssueDocumentRequest(**values))
    return reply.document


async def rows(platform: Platform, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(platform.database_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def events_until(platform: Platform, key: str, last_type: str) -> list[tuple[str, Message]]:
    """The events of one document, in order, up to and including the first of `last_type`.

    Events of one key share a partition, so everything published before `last_type` has arrived with it.
    """
    consumer = AIOKafkaConsumer(
        TOPIC, bootstrap_servers=platform.bootstrap, auto_offset_reset="earliest", metadata_max_age_ms=1000
    )
    await consumer.start()
    found: list[tuple[str, Message]] = []

    async def read_more() -> list[tuple[str, Message]]:
        for batch in (await consumer.getmany(timeout_ms=500)).values():
            for record in batch:
                if record.key != key.encode():
                    continue
                meta = {k: v.decode() for k, v in record.headers}
                message = EVENT_TYPES[meta["ce_type"]]()
                message.ParseFromString(record.value)
                assert meta["ce_subject"] == key
                found.append((meta["ce_type"].rsplit(".", 1)[1], message))
                if found[-1][0] == last_type:
                    return found
        return found

    try:
        return await eventually(
            read_more, until=lambda seen: bool(seen) and seen[-1][0] == last_type, within=60, interval=0,
            what=f"{last_type} of document {key}",
        )  # fmt: skip
    finally:
        await consumer.stop()


@dataclass
class World:
    """Three schools of Huyện Na Lư that receive a plan, and one school of Huyện Ngân Thủy that does not."""

    document: pb.Document
    a: str
    b: str
    c: str
    outsider: str


@pytest.fixture(scope="module")
async def world(platform: Platform) -> World:
    schools = [
        await create_unit(
            platform,
            district="006",
            commune="00040",
            kind=registry_pb2.UNIT_KIND_SCHOOL,
            name=f"Trường THPT Kim Lư {n} {marker()}",
        )
        for n in (1, 2, 3)
    ]
    outsider = await create_unit(
        platform,
        district="007",
        commune="",
        kind=registry_pb2.UNIT_KIND_SCHOOL,
        name=f"Trường THCS Ngân Thủy {marker()}",
    )
    document = await issue(platform)
    await call(
        platform,
        "DistributeDocument",
        pb.DistributeDocumentRequest(document_id=document.id, units=pb.UnitIdList(ids=schools)),
    )
    a, b, c = schools
    return World(document, a, b, c, outsider)


async def test_directive_07_reaches_a_district_and_its_units_acknowledge(platform: Platform) -> None:
    url = platform["registry"].url
    names = ["Trường THPT Na Lư", "Trường THCS Yến Lạc", "Trường Cao đẳng Sư phạm Na Lư"]
    mine = [
        await create_unit(
            platform,
            district="006",
            commune="00038",
            kind=registry_pb2.UNIT_KIND_SCHOOL,
            name=f"{n} {marker()}",
        )
        for n in names
    ]
    first, second, third = mine
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        # Issued over HTTP: the number normalised, the kind's Vietnamese label from the data.
        r = await http.post(
            "/v1/documents",
            headers=headers(platform),
            json={
                "number": "07/ct-bca-v28",
                "kind": "directive",
                "title": TITLE_07,
                "issued_on": "2014-08-15",
                "issuer": "Bộ trưởng Bộ Công an",
                "summary": "Đẩy mạnh phong trào toàn dân bảo vệ an ninh Tổ quốc trong cơ quan, doanh nghiệp, "
                "nhà trường.",
            },
        )
        assert r.status_code == 201, r.text
        created = r.json()
        assert (created["number"], created["kind_label"], created["version"]) == (
            "07/CT-BCA-V28",
            "Chỉ thị",
            1,
        )
        doc_id = created["id"]

        # Read over gRPC by an auditor: the same document.
        got = (await call(platform, "GetDocument", pb.GetDocumentRequest(id=doc_id), role="auditor")).document
        assert (got.number, got.title, got.issuer) == ("07/CT-BCA-V28", TITLE_07, "Bộ trưởng Bộ Công an")
        assert (got.issued_on.year, got.issued_on.month, got.issued_on.day) == (2014, 8, 15)

        # Distributed over gRPC to every active school of Huyện Na Lư.
        selector = pb.UnitSelector(district_code="006", kind=registry_pb2.UNIT_KIND_SCHOOL)
        reply = await call(
            platform,
            "DistributeDocument",
            pb.DistributeDocumentRequest(document_id=doc_id, selector=selector),
        )
        active = await rows(
            platform,
            """SELECT id FROM registry.units
               WHERE district_code = '006' AND kind = 'school' AND status = 'active'""",
        )
        assert reply.matched_count == len(active) == reply.added_count
        assert set(reply.added_unit_ids) == {str(r["id"]) for r in active} >= set(mine)

        # Again over HTTP, and once more by explicit ids: nothing new.
        r = await http.post(
            f"/v1/documents/{doc_id}/distributions",
            headers=headers(platform),
            json={"selector": {"district_code": "006", "kind": "school"}},
        )
        assert (r.status_code, r.json()["added_count"], r.json()["matched_count"]) == (200, 0, len(active))
        r = await http.post(
            f"/v1/documents/{doc_id}/distributions", headers=headers(platform), json={"unit_ids": [first]}
        )
        assert (r.json()["added_count"], r.json()["matched_count"]) == (0, 1)

        # Two unit officers acknowledge, one over each door; the second acknowledgement of the first changes
        # nothing.
        ack = (
            await call(
                platform,
                "AcknowledgeDocument",
                pb.AcknowledgeDocumentRequest(
                    document_id=doc_id, unit_id=first, note="Đã nhận, đã phổ biến đến toàn thể cán bộ"
                ),
                role="unit_officer",
                unit_id=first,
            )
        ).receipt
        assert (ack.acknowledged, ack.acknowledged_by) == (True, f"can-bo-{first}")
        r = await http.post(
            f"/v1/documents/{doc_id}/receipts/{second}/acknowledgement",
            headers=headers(platform, "unit_officer", second),
            json={"note": "Đã tiếp nhận"},
        )
        assert (r.status_code, r.json()["acknowledged"], r.json()["note"]) == (200, True, "Đã tiếp nhận")
        again = (
            await call(
                platform,
                "AcknowledgeDocument",
                pb.AcknowledgeDocumentRequest(document_id=doc_id, unit_id=first, note="Lần hai"),
                role="unit_officer",
                unit_id=first,
            )
        ).receipt
        assert again.note == "Đã nhận, đã phổ biến đến toàn thể cán bộ"
        assert again.acknowledged_at == ack.acknowledged_at

        # Progress over both doors equals the rows.
        counts = await rows(
            platform,
            """SELECT count(*) AS distributed, count(acknowledged_at) AS acknowledged
               FROM registry.document_receipts WHERE document_id = $1""",
            uuid.UUID(doc_id),
        )
        distributed, acknowledged = counts[0]["distributed"], counts[0]["acknowledged"]
        assert (distributed, acknowledged) == (len(active), 2)
        progress = await call(
            platform, "GetDocumentProgress", pb.GetDocumentProgressRequest(document_id=doc_id), role="police"
        )
        assert (progress.distributed, progress.acknowledged, progress.pending) == (
            distributed,
            2,
            distributed - 2,
        )
        assert [
            (d.district_code, d.district_name, d.distributed, d.acknowledged) for d in progress.districts
        ] == [("006", "Huyện Na Lư", distributed, 2)]
        r = await http.get(f"/v1/documents/{doc_id}/progress", headers=headers(platform, "auditor"))
        assert (r.json()["distributed"], r.json()["acknowledged"], r.json()["pending"]) == (
            distributed,
            2,
            distributed - 2,
        )

        # The pending units, one per page: exactly the rows without acknowledgement.
        pending: list[str] = []
        token = ""
        while True:
            r = await http.get(
                f"/v1/documents/{doc_id}/receipts",
                headers=headers(platform, "auditor"),
                params={"state": "pending", "district_code": "006", "page_size": 1, "page_token": token},
            )
            assert r.status_code == 200, r.text
            pending += [item["unit_id"] for item in r.json()["items"]]
            token = r.json()["next_page_token"]
            if not token:
                break
        unacknowledged = await rows(
            platform,
            """SELECT unit_id FROM registry.document_receipts
               WHERE document_id = $1 AND acknowledged_at IS NULL""",
            uuid.UUID(doc_id),
        )
        assert sorted(pending) == sorted(str(r["unit_id"]) for r in unacknowledged)
        assert third in pending
        assert first not in pending
        assert len(pending) == len(set(pending))

        # A unit officer lists its unit's documents and sees only its own receipt.
        r = await http.get(
            "/v1/documents",
            headers=headers(platform, "unit_officer", third),
            params={"q": "BAO VE an ninh to quoc"},
        )
        assert [d["number"] for d in r.json()["items"]] == ["07/CT-BCA-V28"]
        own = await call(
            platform,
            "ListDocumentReceipts",
            pb.ListDocumentReceiptsRequest(document_id=doc_id),
            role="unit_officer",
            unit_id=third,
        )
        assert [(x.unit_id, x.acknowledged) for x in own.receipts] == [(third, False)]

        # Updated at the version read: the sentinel that closes the event sequence below.
        r = await http.patch(
            f"/v1/documents/{doc_id}",
            headers=headers(platform),
            json={"version": 1, "link": "https://bocongan.gov.vn/van-ban/07-ct-bca-v28"},
        )
        assert (r.status_code, r.json()["version"], r.json()["title"]) == (200, 2, TITLE_07)

    # Events keyed by the document: one DocumentDistributed for the call that added units, none for the
    # calls that added nothing, one DocumentAcknowledged per unit.
    events = await events_until(platform, doc_id, "DocumentUpdated")
    assert [kind for kind, _ in events] == [
        "DocumentIssued",
        "DocumentDistributed",
        "DocumentAcknowledged",
        "DocumentAcknowledged",
        "DocumentUpdated",
    ]
    issued, dist = events[0][1], events[1][1]
    assert isinstance(issued, pb.DocumentIssued)
    assert issued.document.number == "07/CT-BCA-V28"
    assert isinstance(dist, pb.DocumentDistributed)
    assert dist.unit_count == len(dist.unit_ids) == len(active)
    assert {e.receipt.unit_id for _, e in events[2:4] if isinstance(e, pb.DocumentAcknowledged)} == {
        first,
        second,
    }

    # The audit trail: one row per change, the acknowledgements with their unit.
    audit = await rows(
        platform,
        "SELECT action, unit_id, actor FROM registry.audit_log WHERE object_id = $1 ORDER BY id",
        doc_id,
    )
    assert [(a["action"], str(a["unit_id"]) if a["unit_id"] else None) for a in audit] == [
        ("document.issue", None),
        ("document.distribute", None),
        ("document.acknowledge", first),
        ("document.acknowledge", second),
        ("document.update", None),
    ]
    assert audit[2]["actor"] == f"can-bo-{first}"


async def test_a_unit_officer_of_another_unit_is_denied(platform: Platform, world: World) -> None:
    doc = world.document.id
    for request, method in [
        (pb.GetDocumentRequest(id=doc), "GetDocument"),
        (pb.ListDocumentReceiptsRequest(document_id=doc), "ListDocumentReceipts"),
        (pb.GetDocumentProgressRequest(document_id=doc), "GetDocumentProgress"),
        (pb.GetDocumentReceiptRequest(document_id=doc, unit_id=world.a), "GetDocumentReceipt"),
        (pb.AcknowledgeDocumentRequest(document_id=doc, unit_id=world.a), "AcknowledgeDocument"),
        (pb.ListDocumentsRequest(unit_id=world.a), "ListDocuments"),
    ]:
        err = await refused(platform, method, request, role="unit_officer", unit_id=world.outsider)
        assert err.code() == grpc.StatusCode.PERMISSION_DENIED, method
    # A unit officer of a unit that has the document still cannot touch a sibling's receipt.
    err = await refused(
        platform,
        "AcknowledgeDocument",
        pb.AcknowledgeDocumentRequest(document_id=doc, unit_id=world.b),
        role="unit_officer",
        unit_id=world.a,
    )
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    async with httpx.AsyncClient(base_url=platform["registry"].url, timeout=10) as http:
        r = await http.get(f"/v1/documents/{doc}", headers=headers(platform, "unit_officer", world.outsider))
        assert (r.status_code, r.json()["code"]) == (403, "not_distributed_to_unit")
        r = await http.get("/v1/documents", headers=headers(platform, "unit_officer", world.outsider))
        assert r.status_code == 200
        assert doc not in [d["id"] for d in r.json()["items"]]
        # Not a reader at all: a camera gateway.
        r = await http.get(f"/v1/documents/{doc}", headers=headers(platform, "camera_gateway"))
        assert r.status_code == 403
        # Only an admin issues and distributes.
        r = await http.post(
            f"/v1/documents/{doc}/distributions",
            headers=headers(platform, "police"),
            json={"unit_ids": [world.outsider]},
        )
        assert r.status_code == 403
    # Nothing was acknowledged for the sibling, and the denial was logged by the process.
    receipt = await call(
        platform, "GetDocumentReceipt", pb.GetDocumentReceiptRequest(document_id=doc, unit_id=world.b)
    )
    assert not receipt.receipt.acknowledged
    log = platform["registry"].log
    assert log is not None
    assert "not_distributed_to_unit" in log.read_text()


async def test_acknowledging_an_undistributed_document_is_refused(platform: Platform, world: World) -> None:
    doc = world.document.id
    err = await refused(
        platform,
        "AcknowledgeDocument",
        pb.AcknowledgeDocumentRequest(document_id=doc, unit_id=world.outsider),
        role="unit_officer",
        unit_id=world.outsider,
    )
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert status_details(err)["reason"] == "not_distributed"
    async with httpx.AsyncClient(base_url=platform["registry"].url, timeout=10) as http:
        r = await http.post(
            f"/v1/documents/{doc}/receipts/{world.outsider}/acknowledgement",
            headers=headers(platform, "unit_officer", world.outsider),
            json={},
        )
    assert (r.status_code, r.json()["code"]) == (409, "not_distributed")
    assert not await rows(
        platform,
        "SELECT 1 FROM registry.document_receipts WHERE document_id = $1 AND unit_id = $2",
        uuid.UUID(doc),
        uuid.UUID(world.outsider),
    )


async def test_a_unit_officer_reads_a_document_distributed_to_its_unit(
    platform: Platform, world: World
) -> None:
    got = await call(
        platform,
        "GetDocument",
        pb.GetDocumentRequest(id=world.document.id),
        role="unit_officer",
        unit_id=world.c,
    )
    assert got.document.number == world.document.number
    receipt = await call(
        platform,
        "GetDocumentReceipt",
        pb.GetDocumentReceiptRequest(document_id=world.document.id, unit_id=world.c),
        role="unit_officer",
        unit_id=world.c,
    )
    assert (receipt.receipt.unit_id, receipt.receipt.distributed_by) == (world.c, "test-admin")


async def test_a_duplicate_number_already_exists(platform: Platform) -> None:
    number = f"{marker()}/HD-CAT"
    await issue(platform, number=number, kind="guidance")
    err = await refused(
        platform,
        "IssueDocument",
        pb.IssueDocumentRequest(
            number=number.lower(),
            kind="guidance",
            title="Hướng dẫn thực hiện tiêu chuẩn an toàn về an ninh, trật tự",
            issued_on=common_pb2.Date(year=2015, month=5, day=4),
            issuer="Giám đốc Công an tỉnh",
        ),
    )
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS
    assert [v["field"] for v in status_details(err)["field_violations"]] == ["number"]
    async with httpx.AsyncClient(base_url=platform["registry"].url, timeout=10) as http:
        r = await http.post(
            "/v1/documents",
            headers=headers(platform),
            json={
                "number": number,
                "kind": "guidance",
                "title": "Hướng dẫn khác",
                "issued_on": "2016-01-04",
                "issuer": "Giám đốc Công an tỉnh",
            },
        )
    assert (r.status_code, r.json()["code"]) == (409, "document_number_taken")


async def test_a_stale_version_is_aborted_and_a_fresh_one_applies(platform: Platform) -> None:
    document = await issue(platform)
    ok = await call(
        platform,
        "UpdateDocument",
        pb.UpdateDocumentRequest(id=document.id, version=1, summary="Triển khai tại các trường học"),
    )
    assert (ok.document.version, ok.document.summary, ok.document.title) == (
        2,
        "Triển khai tại các trường học",
        document.title,
    )
    err = await refused(
        platform, "UpdateDocument", pb.UpdateDocumentRequest(id=document.id, version=1, title="Tiêu đề cũ")
    )
    assert err.code() == grpc.StatusCode.ABORTED
    async with httpx.AsyncClient(base_url=platform["registry"].url, timeout=10) as http:
        r = await http.patch(
            f"/v1/documents/{document.id}",
            headers=headers(platform),
            json={"version": 1, "title": "Tiêu đề cũ"},
        )
        assert (r.status_code, r.json()["code"]) == (409, "stale_version")
        r = await http.get(f"/v1/documents/{document.id}", headers=headers(platform, "police"))
        assert (r.json()["version"], r.json()["title"]) == (2, document.title)


async def test_plans_implement_a_directive_without_cycles(platform: Platform) -> None:
    directive = await issue(platform, kind="directive", number=f"{marker()}/CT-UBND")
    plan = await issue(platform, parent_id=directive.id)
    assert plan.parent_id == directive.id
    err = await refused(
        platform, "UpdateDocument", pb.UpdateDocumentRequest(id=directive.id, version=1, parent_id=plan.id)
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v["field"] for v in status_details(err)["field_violations"]] == ["parent_id"]
    cleared = await call(
        platform, "UpdateDocument", pb.UpdateDocumentRequest(id=plan.id, version=1, parent_id="")
    )
    assert cleared.document.parent_id == ""
    err = await refused(
        platform,
        "IssueDocument",
        pb.IssueDocumentRequest(
            number=f"{marker()}/KH",
            kind="plan",
            title="Kế hoạch",
            issued_on=common_pb2.Date(year=2016, month=1, day=4),
            issuer="Ban Chỉ đạo 138 tỉnh",
            parent_id=str(uuid.uuid4()),
        ),
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_documents_are_listed_by_kind_year_and_search_page_by_page(platform: Platform) -> None:
    tag = marker()
    issued = [
        await issue(
            platform,
            kind=kind,
            title=f"Báo cáo sơ kết phong trào toàn dân bảo vệ ANTQ đợt {tag} số {n}",
            issued_on=common_pb2.Date(year=year, month=6, day=n + 1),
        )
        for n, (kind, year) in enumerate(
            [("report", 2017), ("report", 2018), ("report", 2018), ("plan", 2018), ("report", 2019)]
        )
    ]
    q = f"SƠ KẾT phong trao toan dan bao ve antq dot {tag.lower()}"
    seen: list[str] = []
    token = ""
    while True:
        reply = await call(
            platform,
            "ListDocuments",
            pb.ListDocumentsRequest(
                q=q, kind="report", year=2018, page=common_pb2.PageRequest(page_size=1, page_token=token)
            ),
            role="auditor",
        )
        seen += [d.id for d in reply.documents]
        token = reply.page.next_page_token
        if not token:
            break
    assert seen == [issued[2].id, issued[1].id]  # newest first
    everything = await call(platform, "ListDocuments", pb.ListDocumentsRequest(q=tag), role="police")
    assert [d.id for d in everything.documents] == [d.id for d in reversed(issued)]
    err = await refused(
        platform,
        "ListDocuments",
        pb.ListDocumentsRequest(q=tag, page=common_pb2.PageRequest(page_size=1, page_token=token or "eA")),
        role="police",
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    kinds = await call(platform, "ListDocumentKinds", pb.ListDocumentKindsRequest(), role="auditor")
    assert [(k.code, k.label) for k in kinds.kinds] == [
        ("directive", "Chỉ thị"),
        ("plan", "Kế hoạch"),
        ("guidance", "Hướng dẫn"),
        ("report", "Báo cáo"),
    ]


async def test_distributing_to_an_unknown_or_inactive_unit_is_invalid(
    platform: Platform, world: World
) -> None:
    ghost = str(uuid.uuid4())
    err = await refused(
        platform,
        "DistributeDocument",
        pb.DistributeDocumentRequest(
            document_id=world.document.id, units=pb.UnitIdList(ids=[world.a, ghost])
        ),
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v["field"] for v in status_details(err)["field_violations"]] == ["unit_ids[1]"]
    err = await refused(
        platform,
        "DistributeDocument",
        pb.DistributeDocumentRequest(
            document_id=world.document.id, selector=pb.UnitSelector(district_code="999")
        ),
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v["field"] for v in status_details(err)["field_violations"]] == ["selector.district_code"]
