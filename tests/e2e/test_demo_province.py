"""The demo province end to end: generated, loaded through the five running services' public APIs only
(its own database and broker, so no other test's records can touch its figures), then the review report of
15-08-2014 .. 29-08-2019 over gRPC and over HTTP equals the article's figures; each figure's drill-down
returns as many records as it says; the district reports add up to the province's; today's violations are
the ones the province's detections opened, handled as planned; and `python -m reporting rebuild` (twice)
changes no figure."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from docx import Document as read_docx
from openpyxl import load_workbook

from d07.common.v1 import common_pb2
from d07.demo import gateway, plan
from d07.demo.load import Loader, Urls, flat, wait_for_figures
from d07.platform.devstack.broker import Broker
from d07.platform.text import vn_number
from d07.reporting.v1 import reporting_pb2, reporting_pb2_grpc
from reporting.exports.docx import DEFAULT_TEMPLATE
from reporting.exports.domain import FORMATS, LABELS, SHEETS
from reporting.review import domain as review_domain
from tests.conftest import throwaway_database
from tests.reporting.unit.review_fixture import decree_page, text_of
from tests.support.services import Platform, running_platform
from tests.support.waiting import eventually

PERIOD = ("2014-08-15", "2019-08-29")
COUNTED = [name for name in plan.ARTICLE]  # every figure of the article is a count of records

pytestmark = pytest.mark.timeout(900)


def urls_of(p: Platform) -> Urls:
    return Urls(*(p[s].url for s in ("registry", "assessment", "cameras", "awards", "reporting")))


@dataclass
class Demo:
    platform: Platform
    province: plan.Province
    loader_calls: int


@pytest.fixture(scope="module")
def demo_broker() -> Iterator[Broker]:
    b = Broker().start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture(scope="module")
async def demo_database(pg_server_url: str) -> AsyncIterator[str]:
    async with throwaway_database(pg_server_url, "d07_demo") as url:
        yield url


@pytest.fixture(scope="module")
async def demo(
    demo_database: str, demo_broker: Broker, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Demo]:
    with running_platform(demo_database, demo_broker.bootstrap, tmp_path_factory.mktemp("demo")) as p:
        urls = urls_of(p)
        loader = Loader(urls, p.key_pem)
        try:
            assert await loader.is_empty()
            province = plan.generate(await loader.districts(), seed=2019, size=1)
            await loader.load(province)
            await wait_for_figures(loader, plan.figures(province), within=300)
            assert not await loader.is_empty()
        finally:
            await loader.aclose()
        yield Demo(p, province, loader.loaded.calls)


def http_report(p: Platform, start: str, end: str, district: str = "") -> dict[str, Any]:
    q = f"from={start}&to={end}" + (f"&district={district}" if district else "")
    r = httpx.get(f"{p['reporting'].url}/v1/reports/review?{q}", headers=p.headers("admin"), timeout=30)
    assert r.status_code == 200, r.text
    return flat(r.json())


def values(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v["value"] for k, v in report.items() if isinstance(v, dict) and "value" in v}


# Figures that move with the clock while nothing happens: cameras go offline after their silence, online
# hours grow, violations pass their reaction deadline.
MOVING = ("cameras.online", "cameras.online_hours", "cameras.uptime", "violations.overdue",
          "violations.per_camera_online_hour")  # fmt: skip


def still(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values(report).items() if k not in MOVING}


def day(text: str) -> common_pb2.Date:
    y, m, d = (int(x) for x in text.split("-"))
    return common_pb2.Date(year=y, month=m, day=d)


async def grpc_report(p: Platform, start: str, end: str) -> dict[str, int]:
    async with grpc.aio.insecure_channel(p["reporting"].target) as ch:
        stub = reporting_pb2_grpc.ReportingServiceStub(ch)
        reply = await stub.GetReviewReport(
            reporting_pb2.GetReviewReportRequest(from_date=day(start), to_date=day(end)),
            metadata=(("authorization", f"Bearer {p.token('police')}"),),
            timeout=30,
        )
    return {f.name: f.value for f in reply.figures}


async def test_the_review_over_http_gives_the_articles_figures(demo: Demo) -> None:
    report = http_report(demo.platform, *PERIOD)
    assert {k: report[k]["value"] for k in plan.ARTICLE} == plan.ARTICLE
    assert report["cameras.planned"]["target"] == 3200
    assert report["from"] == PERIOD[0]
    assert report["to"] == PERIOD[1]
    # nothing of the province happened in the five years before the directive but the 2014 round, which the
    # previous period (2009-08-01 .. 2014-08-14) shares because it touches 2014
    assert report["models.total"]["previous"] == 0
    assert report["assessments.total"]["previous"] == 346
    assert report["violations.opened"]["value"] == 0


async def test_the_review_over_grpc_gives_the_articles_figures(demo: Demo) -> None:
    figures = await grpc_report(demo.platform, *PERIOD)
    assert {k: figures[k] for k in plan.ARTICLE} == plan.ARTICLE


async def test_each_figures_drill_down_returns_as_many_records_as_it_says(demo: Demo) -> None:
    p = demo.platform
    async with grpc.aio.insecure_channel(p["reporting"].target) as ch:
        stub = reporting_pb2_grpc.ReportingServiceStub(ch)
        meta = (("authorization", f"Bearer {p.token('admin')}"),)
        for figure in COUNTED:
            ids: list[str] = []
            token = ""
            while True:
                page = await stub.ListFigureRecords(
                    reporting_pb2.ListFigureRecordsRequest(
                        figure=figure, from_date=day(PERIOD[0]), to_date=day(PERIOD[1]),
                        page=common_pb2.PageRequest(page_size=500, page_token=token),
                    ),
                    metadata=meta, timeout=30,
                )  # fmt: skip
                ids += [r.id for r in page.records]
                token = page.page.next_page_token
                if not token:
                    break
            assert len(ids) == plan.ARTICLE[figure], figure
            assert len(set(ids)) == len(ids), figure


# --- the review as the province's documents (reporting's exports) ------------------------------------------

ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts"
EXPORT = f"from={PERIOD[0]}&to={PERIOD[1]}"


def export(p: Platform, fmt: str, role: str = "chairman_office", extra: str = "") -> httpx.Response:
    url = f"{p['reporting'].url}/v1/reports/review/export?format={fmt}&{EXPORT}{extra}"
    return httpx.get(url, headers=p.headers(role), timeout=180)


def report_rows(report: dict[str, Any]) -> dict[str, str]:
    """Each figure of the JSON report as the document's table prints it: label -> 1.454."""
    return {LABELS[name][0]: vn_number(report[name]["value"]) for name in review_domain.FIGURES}


async def test_the_review_as_a_docx_in_the_state_format(demo: Demo) -> None:
    p = demo.platform
    report = http_report(p, *PERIOD)
    r = export(p, "docx", extra="&number=15&recipient=B%E1%BB%99%20C%C3%B4ng%20an%20(V28)%3B")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == FORMATS["docx"][0]
    assert r.headers["content-disposition"].startswith(
        'attachment; filename="bao-cao-so-ket_2014-08-15_2019-08-29.docx"'
    )
    d = read_docx(BytesIO(r.content))
    assert decree_page(d)
    assert d.styles["Normal"].font.name == "Times New Roman"
    assert 13 <= d.styles["Normal"].font.size.pt <= 14
    text = text_of(r.content)
    right = [par for par in d.tables[0].rows[0].cells[1].paragraphs if par.text]
    assert [par.text for par in right[:2]] == [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
    ]
    assert right[2].text == "Sơn Lâm, ngày 29 tháng 8 năm 2019"
    assert all(run.italic for run in right[2].runs)
    assert "Số: 15/BC-BCĐ" in text
    assert "BÁO CÁO" in [par.text for par in d.paragraphs]
    assert "toàn tỉnh có 1.454/1.730 lượt cơ quan, doanh nghiệp, nhà trường đạt tiêu chuẩn" in text
    assert "tổ chức 26 lớp" in text.lower()
    assert "Bằng khen cho 8 tập thể và 8 cá nhân" in text
    assert "Giấy khen cho 14 tập thể và 12 cá nhân" in text
    to, sign = d.tables[-1].rows[0].cells
    assert to.paragraphs[0].text == "Nơi nhận:"
    assert "- Bộ Công an (V28);" in [par.text for par in to.paragraphs]
    assert [par.text for par in sign.paragraphs if par.text] == [
        "KT. TRƯỞNG BAN", "PHÓ TRƯỞNG BAN", "Nguyễn Văn Thành",
    ]  # fmt: skip
    table = {row.cells[1].text: row.cells[3].text for row in d.tables[1].rows[1:]}
    assert {k: table[k] for k in report_rows(report)} == report_rows(report)
    assert table[LABELS["cameras.planned"][0]] == "3.200"


async def drain(stream: Any) -> None:
    async for _ in stream:
        pass


async def test_the_review_as_an_xlsx_over_grpc_with_every_record(demo: Demo) -> None:
    p = demo.platform
    report = http_report(p, *PERIOD)
    chunks: list[reporting_pb2.ExportReviewReportResponse] = []
    async with grpc.aio.insecure_channel(p["reporting"].target) as ch:
        stub = reporting_pb2_grpc.ReportingServiceStub(ch)
        request = reporting_pb2.ExportReviewReportRequest(
            from_date=day(PERIOD[0]), to_date=day(PERIOD[1]), format="xlsx"
        )
        meta = (("authorization", f"Bearer {p.token('police')}"),)
        async for message in stub.ExportReviewReport(request, metadata=meta, timeout=180):
            chunks.append(message)
        bad = reporting_pb2.ExportReviewReportRequest(from_date=day(PERIOD[0]), to_date=day(PERIOD[1]),
                                                      format="odt")  # fmt: skip
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await drain(stub.ExportReviewReport(bad, metadata=meta, timeout=30))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert chunks[0].file_name == "bao-cao-so-ket_2014-08-15_2019-08-29.xlsx"
    assert chunks[0].media_type == FORMATS["xlsx"][0]
    content = b"".join(c.chunk for c in chunks)
    assert len(content) == chunks[0].size
    wb = load_workbook(BytesIO(content))
    lines = {row[1]: row for row in wb["Tổng hợp"].iter_rows(min_row=5, values_only=True)}
    for name in review_domain.FIGURES:
        assert lines[name][4] == report[name]["value"], name
        assert lines[name][5] == report[name]["previous"], name
    for rate in review_domain.RATES:
        if report[rate]["value"] is not None:
            assert lines[rate][4] == pytest.approx(report[rate]["value"], abs=1e-6), rate
    for figure, sheet in SHEETS.items():
        ws = wb[sheet]
        assert ws.max_row - 1 == report[figure]["value"], figure  # one row per record, under the header
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == f"A1:C{ws.max_row}"


def test_the_review_as_a_pdf_is_the_docx_page_for_page(demo: Demo, tmp_path: Path) -> None:
    p = demo.platform
    r = export(p, "pdf", role="auditor")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "bao-cao.pdf"
    pdf.write_bytes(r.content)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat_text = " ".join(text.split())
    for needle in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "BÁO CÁO",
                   "Sơn Lâm, ngày 29 tháng 8 năm 2019", "1.454/1.730", "Nơi nhận:",
                   "Nguyễn Văn Thành"):  # fmt: skip
        assert needle in flat_text, needle
    for value in ("1.730", "1.454", "61", "1.502", "3.200"):
        assert value in flat_text
    ARTIFACTS.mkdir(exist_ok=True)
    png = ARTIFACTS / "review-2014-2019-page-1"
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(png)],
                   check=True)  # fmt: skip
    assert png.with_suffix(".png").stat().st_size > 10_000


async def test_an_unknown_format_or_a_reader_of_no_report_is_refused(demo: Demo) -> None:
    p = demo.platform
    r = export(p, "odt")
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "docx" in r.text
    r = export(p, "docx", role="dic_operator")
    assert r.status_code == 403


def test_the_export_command_fills_the_template_the_province_edited(demo: Demo, tmp_path: Path) -> None:
    edited = read_docx(str(DEFAULT_TEMPLATE))
    for par in edited.tables[0].rows[0].cells[0].paragraphs:
        if "{{ parent_agency }}" in par.text:
            par.runs[0].text = "BỘ CÔNG AN"
    edited.add_paragraph("Đoạn tỉnh thêm vào mẫu, không sửa mã nguồn.")
    template = tmp_path / "mau-bao-cao.docx"
    edited.save(str(template))
    out = tmp_path / "bao-cao.docx"
    done = subprocess.run(
        [sys.executable, "-m", "reporting", "export", "--from", PERIOD[0], "--to", PERIOD[1],
         "--format", "docx", "-o", str(out), "--signing-form", "HEAD", "--signer-head", "Trưởng ban",
         "--signer-name", "Lê Văn Hùng"],
        env={**demo.platform.env, "D07_REPORT_TEMPLATE": str(template)}, capture_output=True, text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    text = text_of(out.read_bytes())
    assert "BỘ CÔNG AN" in text
    assert "ỦY BAN NHÂN DÂN TỈNH SƠN LÂM" not in text
    assert "Đoạn tỉnh thêm vào mẫu, không sửa mã nguồn." in text
    assert "1.454/1.730" in text
    assert "TRƯỞNG BAN\nLê Văn Hùng" in "\n".join(t for t in text.split("\n") if t)


async def test_the_districts_add_up_to_the_province(demo: Demo) -> None:
    p = demo.platform
    total: Counter[str] = Counter()
    for d in demo.province.districts:
        report = values(http_report(p, *PERIOD, district=d.code))
        for k in ("assessments.total", "assessments.passed", "training.classes", "cameras.planned"):
            total[k] += report[k]
    assert dict(total) == {k: plan.ARTICLE[k] for k in total}


async def test_todays_violations_are_the_ones_the_detections_opened_handled_as_planned(demo: Demo) -> None:
    today = datetime.now(UTC).date()
    start, end = (today - timedelta(days=2)).isoformat(), (today + timedelta(days=1)).isoformat()
    planned = {(d.camera_code, d.kind): d.handling for d in demo.province.detections}
    report = values(http_report(demo.platform, start, end))
    assert report["violations.opened"] == len(planned)
    handled = Counter(planned.values())
    assert report["violations.resolved"] == handled["resolve"]
    assert report["violations.dismissed"] == handled["dismiss"]


def test_rebuild_replays_every_stream_and_changes_no_figure(demo: Demo) -> None:
    p = demo.platform
    today = datetime.now(UTC).date()
    recent = ((today - timedelta(days=2)).isoformat(), (today + timedelta(days=1)).isoformat())
    before = (values(http_report(p, *PERIOD)), still(http_report(p, *recent)))
    for _ in range(2):  # a rebuild, then a rebuild of the rebuilt read models
        done = subprocess.run(
            [sys.executable, "-m", "reporting", "rebuild"], env=p.env, capture_output=True, text=True,
            timeout=600, cwd=Path(__file__).resolve().parents[2],
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        after = (values(http_report(p, *PERIOD)), still(http_report(p, *recent)))
        assert after == before


async def _last_offsets(bootstrap: str, topics: list[str]) -> dict[tuple[str, int], int]:
    """The offset of the last record of every partition of `topics`, read from the broker (no group)."""
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    last: dict[tuple[str, int], int] = {}
    try:
        quiet = 0
        while quiet < 3:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            quiet = 0 if batch else quiet + 1
            for tp, records in batch.items():
                last[(tp.topic, tp.partition)] = max(
                    last.get((tp.topic, tp.partition), -1), records[-1].offset
                )
    finally:
        await consumer.stop()
    return last


async def test_the_projection_status_names_the_last_offset_applied_in_every_partition(demo: Demo) -> None:
    p = demo.platform

    def status() -> dict[tuple[str, int], int]:
        r = httpx.get(f"{p['reporting'].url}/v1/projections/status", headers=p.headers("auditor"), timeout=10)
        assert r.status_code == 200, r.text
        return {(s["topic"], c["partition"]): c["offset"] for s in r.json()["streams"] for c in s["consumed"]}

    topics = sorted({topic for topic, _ in status()})
    assert len(topics) == 8  # every stream the report reads
    before = await _last_offsets(p.bootstrap, topics)
    await eventually(
        lambda: all(status().get(k, -1) >= v for k, v in before.items()),
        within=60,
        interval=0.5,
        what="the projections to catch up",
    )
    after = await _last_offsets(p.bootstrap, topics)
    seen = status()
    assert set(seen) <= set(after)
    assert all(seen[k] <= after[k] for k in seen)


async def test_the_demo_gateway_keeps_the_healthy_cameras_online_and_now_and_then_detects(demo: Demo) -> None:
    """Runs last: its detection opens one more violation today."""
    p = demo.platform
    urls = urls_of(p)
    before = await _count(p, "/v1/violations")
    stop = asyncio.Event()
    task = asyncio.create_task(gateway.run(urls, p.key_pem, every=0.5, detection_every=0.0, stop=stop))
    try:

        async def detected() -> bool:
            return await _count(p, "/v1/violations") > before

        await eventually(detected, within=60, interval=0.5, what="a violation from the gateway's detection")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    online = {c["code"] for c in await _items(p, "/v1/cameras?online=true")}
    assert online >= set(demo.province.online_cameras)
    # a broken camera is online only if a detection of the last minutes showed it alive
    detected = {d.camera_code for d in demo.province.detections}
    assert online - set(demo.province.online_cameras) <= detected


async def _items(p: Platform, path: str) -> list[dict[str, Any]]:
    urls = urls_of(p)
    loader = Loader(urls, p.key_pem)
    try:
        return await loader.all_items(f"{p['cameras'].url}{path}", "police")
    finally:
        await loader.aclose()


async def _count(p: Platform, path: str) -> int:
    return len(await _items(p, path))
