"""Hostile spreadsheets against a real registry process (issue 13, item 1): a 215 KB XLSX whose sheet unpacks
to 600.000 rows, and a plainer one of 600.000 rows, are refused in under 2 s on both doors of guards and
units import, while /healthz keeps answering within 100 ms (the file is read in a worker thread, with its
zip members measured before anything is inflated and its rows counted before openpyxl reads them)."""

from __future__ import annotations

import asyncio
import io
import threading
import time
import uuid
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
import httpx
import pytest

from d07.platform.grpc import status_details
from d07.registry.v1 import forces_pb2, forces_pb2_grpc, registry_pb2, registry_pb2_grpc
from tests.support.services import Platform

ROWS = 600_000
_NS = "http://schemas.openxmlformats.org/"
_PARTS = {
    "[Content_Types].xml": f'<?xml version="1.0"?><Types xmlns="{_NS}package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
    "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="{_NS}package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_NS}officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": f'<?xml version="1.0"?><workbook xmlns="{_NS}spreadsheetml/2006/main" '
    f'xmlns:r="{_NS}officeDocument/2006/relationships"><sheets><sheet name="Bảo vệ" sheetId="1" '
    'r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0"?>'
    f'<Relationships xmlns="{_NS}package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_NS}officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/></Relationships>',
}


def _cell(text: str) -> str:
    return f'<c t="inlineStr"><is><t>{text}</t></is></c>'


def _workbook(header: list[str], body: bytes) -> bytes:
    """An XLSX written directly (the sheet XML into a zip): fast enough to make 600.000 rows in a test."""
    head = f'<row r="1">{"".join(_cell(h) for h in header)}</row>'.encode()
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_NS}spreadsheetml/2006/main">'
        "<sheetData>".encode()
        + head
        + body
        + b"</sheetData></worksheet>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in _PARTS.items():
            archive.writestr(name, text)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()


GUARD_HEADER = ["Mã đơn vị", "Họ và tên", "Năm sinh", "Chức vụ", "Số điện thoại", "Ngày vào làm"]
UNIT_HEADER = ["Mã đơn vị", "Tên đơn vị", "Loại hình", "Mã quận/huyện"]


def bomb(header: list[str]) -> bytes:
    """About 215 KB whose one sheet unpacks to 600.000 rows (about 60 MB): the issue's file."""
    row = ("<row>" + _cell("DV-01") + _cell("Nguyễn Văn An") + "</row>").encode()
    return _workbook(header, row * ROWS)


def plain_rows(header: list[str]) -> bytes:
    """600.000 short rows that compress like ordinary data (far below the bomb's ratio): refused by count."""
    return _workbook(
        header, b"".join(b"<row><c><v>%d</v></c></row>" % (n * 7919 % 99991) for n in range(ROWS))
    )


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform["registry"].url, timeout=60) as client:
        yield client


async def refused_while_healthy(
    http: httpx.AsyncClient,
    admin: dict[str, str],
    refuse: Callable[[], Awaitable[tuple[int, str]]],
    code: str,
) -> None:
    """`refuse` answers 400 `code` (or INVALID_ARGUMENT) in under 2 s, and /healthz, asked every 20 ms
    meanwhile, answers each time within 100 ms."""
    latencies: list[float] = []
    done = threading.Event()
    # a first small refused upload: the server's first multipart request and first import of the XLSX
    # reader are not what is measured
    empty = _workbook(GUARD_HEADER, b"")
    warm = await http.post("/v1/guards:import", files={"file": ("a.xlsx", empty)}, headers=admin)
    assert (warm.status_code, warm.json()["code"]) == (400, "no_rows")
    big = await http.post("/v1/guards:import", files={"file": ("a.pdf", b"%PDF" * 600_000)}, headers=admin)
    assert (big.status_code, big.json()["code"]) == (400, "bad_file_type")  # a large upload spooled to disk

    def probe() -> None:  # in its own thread and client, so the test's own loop does not delay it
        with httpx.Client(base_url=str(http.base_url), timeout=10) as client:
            while not done.is_set():
                started = time.perf_counter()
                r = client.get("/healthz")
                latencies.append(time.perf_counter() - started)
                assert r.status_code == 200
                probing.set()
                time.sleep(0.02)

    probing = threading.Event()
    prober = asyncio.create_task(asyncio.to_thread(probe))
    await asyncio.to_thread(probing.wait, 10)
    latencies.clear()  # only the answers given while the file is refused count
    started = time.perf_counter()
    try:
        status, got = await refuse()
    finally:
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.05)
        done.set()
        await prober
    assert (status, got) == (400, code)
    assert elapsed < 2.0, f"refused after {elapsed:.2f} s"
    print(f"refused in {elapsed * 1000:.0f} ms, /healthz at most {max(latencies) * 1000:.0f} ms")
    assert latencies
    assert max(latencies) < 0.1, f"/healthz took up to {max(latencies) * 1000:.0f} ms"


@pytest.mark.parametrize(("make", "code"), [(bomb, "file_too_large"), (plain_rows, "too_many_rows")])
async def test_guards_import_refuses_a_huge_sheet_fast_and_the_registry_stays_healthy(
    platform: Platform, http: httpx.AsyncClient, make: Callable[[list[str]], bytes], code: str
) -> None:
    content = make(GUARD_HEADER)
    if make is bomb:
        assert 150_000 < len(content) < 300_000  # the 215 KB
    officer = platform.headers("unit_officer", unit_id=str(uuid.uuid4()))

    async def over_http() -> tuple[int, str]:
        r = await http.post("/v1/guards:import", files={"file": ("bao-ve.xlsx", content)}, headers=officer)
        assert r.headers["content-type"] == "application/problem+json", r.text
        return r.status_code, r.json()["code"]

    await refused_while_healthy(http, platform.headers("admin"), over_http, code)

    async def over_grpc() -> tuple[int, str]:
        async with grpc.aio.insecure_channel(platform["registry"].target) as channel:
            try:
                await forces_pb2_grpc.ForcesServiceStub(channel).ImportGuards(
                    forces_pb2.ImportGuardsRequest(filename="bao-ve.xlsx", content=content),
                    metadata=platform.metadata("admin"), timeout=30,
                )  # fmt: skip
            except grpc.aio.AioRpcError as err:
                refused = status_details(err)
                return (400 if refused["code"] == "INVALID_ARGUMENT" else 500), str(refused["reason"])
        return 200, "imported"

    if len(content) < 4 * 1024 * 1024:  # gRPC's default message size
        await refused_while_healthy(http, platform.headers("admin"), over_grpc, code)


@pytest.mark.parametrize(("make", "code"), [(bomb, "file_too_large"), (plain_rows, "too_many_rows")])
async def test_units_import_refuses_a_huge_sheet_fast_and_the_registry_stays_healthy(
    platform: Platform, http: httpx.AsyncClient, make: Callable[[list[str]], bytes], code: str
) -> None:
    content = make(UNIT_HEADER)
    admin = platform.headers("admin")

    async def over_http() -> tuple[int, str]:
        r = await http.post("/v1/units:import", files={"file": ("don-vi.xlsx", content)}, headers=admin)
        assert r.headers["content-type"] == "application/problem+json", r.text
        return r.status_code, r.json()["code"]

    await refused_while_healthy(http, platform.headers("admin"), over_http, code)

    async def over_grpc() -> tuple[int, str]:
        async with grpc.aio.insecure_channel(platform["registry"].target) as channel:
            try:
                await registry_pb2_grpc.RegistryServiceStub(channel).ImportUnits(
                    registry_pb2.ImportUnitsRequest(filename="don-vi.xlsx", content=content),
                    metadata=platform.metadata("admin"), timeout=30,
                )  # fmt: skip
            except grpc.aio.AioRpcError as err:
                refused = status_details(err)
                return (400 if refused["code"] == "INVALID_ARGUMENT" else 500), str(refused["reason"])
        return 200, "imported"

    if len(content) < 4 * 1024 * 1024:
        await refused_while_healthy(http, platform.headers("admin"), over_grpc, code)
