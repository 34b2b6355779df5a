"""The registry's gRPC reads beside a bare grpc.aio echo server, measured in the same run.

The registry runs as it does in production (`python -m registry serve`, its own process, its own schema in
the bench database); the echo server is a grpc.aio server in its own process that returns the request it
gets. One client process (this one) keeps 50 calls in flight on one channel to each, for a bounded number
of calls, and reports calls per second with p50 and p99 latency:

1. echo: the ceiling of a Python gRPC unary call on this machine;
2. GetUnit: one unit by id (token verification, one indexed query, the scope rules, protobuf);
3. ListUnits: a page of 50 units of one district, ordered by folded name.

The units are registered first through ImportUnits (one XLSX file), which is timed as well.
"""

from __future__ import annotations

import asyncio
import io
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from openpyxl import Workbook

from bench.common import ROOT, Result, print_table, stack, unique, wait_ready
from d07.common.v1 import common_pb2
from d07.platform.auth import TokenVerifier, ensure_dev_keys, issue_token
from d07.platform.devstack.procs import free_port, stop_process
from d07.platform.grpc import build_server
from d07.platform.logging import configure_logging
from d07.registry.v1 import registry_pb2 as pb
from d07.registry.v1 import registry_pb2_grpc as pb_grpc

UNITS = 2_000
IN_FLIGHT = 50
ECHO_CALLS = 20_000
GET_CALLS = 20_000
LIST_CALLS = 3_000
WARM_UP = 500
ECHO_SERVICE = "bench.v1.EchoService"
ECHO_METHOD = f"/{ECHO_SERVICE}/Echo"
HEADERS = [
    "Mã đơn vị",
    "Tên đơn vị",
    "Loại hình",
    "Phân loại",
    "Mã quận/huyện",
    "Địa chỉ",
    "Số cán bộ nhân viên",
]
SCHOOLS = ["Trường THPT", "Trường THCS", "Trường Tiểu học", "Trường Mầm non"]
SUB_KINDS = ["Trường trung học phổ thông", "Trường trung học cơ sở", "Trường tiểu học", "Trường mầm non"]
PEOPLE = [
    "Hùng Vương",
    "Lê Quý Đôn",
    "Chu Văn An",
    "Nguyễn Trãi",
    "Trần Phú",
    "Võ Thị Sáu",
    "Đinh Tiên Hoàng",
]


@dataclass
class Measured:
    name: str
    latencies: list[float]
    seconds: float

    def result(self, baseline: str | None) -> Result:
        return Result(self.name, len(self.latencies), self.seconds, baseline)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def load(name: str, call: Callable[[int], Awaitable[object]], calls: int) -> Measured:
    """`calls` calls with IN_FLIGHT of them always outstanding; the latency of each."""
    for i in range(WARM_UP):
        await call(i)
    latencies: list[float] = []
    counter = iter(range(calls))

    async def worker() -> None:
        for i in counter:
            started = time.perf_counter()
            await call(i)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return Measured(name, latencies, time.perf_counter() - started)


def units_file(n: int) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    rng = random.Random(7)
    for i in range(n):
        k = rng.randrange(len(SCHOOLS))
        name = f"{SCHOOLS[k]} {rng.choice(PEOPLE)} số {i}"
        sheet.append(
            [f"BENCH-{i:05d}", name, "Nhà trường", SUB_KINDS[k], "001", f"Số {i} đường Trần Hưng Đạo", 40]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- the servers ---------------------------------------------------------------------------------------


async def echo(request: pb.GetUnitRequest, context: grpc.aio.ServicerContext[Any, Any]) -> pb.GetUnitRequest:
    return request


def echo_handler() -> grpc.GenericRpcHandler[Any, Any]:
    method = grpc.unary_unary_rpc_method_handler(
        echo,
        request_deserializer=pb.GetUnitRequest.FromString,
        response_serializer=pb.GetUnitRequest.SerializeToString,
    )
    return grpc.method_handlers_generic_handler(ECHO_SERVICE, {"Echo": method})


async def serve_echo(port: int, jwks_file: str) -> None:
    """The echo method on a bare grpc.aio server, or (with a JWKS file) on a server the platform builds:
    its interceptor (token check, request context, metrics, one log line per call) and health service."""
    if not jwks_file:
        server = grpc.aio.server()
        server.add_generic_rpc_handlers((echo_handler(),))
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        await server.wait_for_termination()
        return
    configure_logging("bench-echo", os.environ.get("D07_LOG_LEVEL", "INFO"))
    platform_server = build_server(
        service_names=[ECHO_SERVICE],
        register=lambda s: s.add_generic_rpc_handlers((echo_handler(),)),
        verifier=TokenVerifier(issuer="d07-dev", audience="d07", jwks_file=jwks_file),
        readiness=None,
        host="127.0.0.1",
        port=port,
    )
    await platform_server.start()
    await platform_server.wait_for_termination()


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, *args],
        env=env,
        cwd=ROOT,
        stdout=open(log, "wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


# --- the run -------------------------------------------------------------------------------------------


async def main() -> None:
    async with stack() as s:
        tmp = Path(tempfile.mkdtemp(prefix="bench-registry-", dir=ROOT / ".run"))
        key_path, jwks_path = ensure_dev_keys(tmp)
        schema = unique("bench_registry")
        s.schemas.append(schema)
        http_port, grpc_port, echo_port, platform_port = free_port(), free_port(), free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("D07_")}
        env.update(
            D07_ENV="dev", D07_SERVICE=schema, D07_DATABASE_URL=s.database_url,
            D07_KAFKA_BOOTSTRAP=s.bootstrap, D07_JWKS_FILE=str(jwks_path), D07_HTTP_PORT=str(http_port),
            D07_GRPC_PORT=str(grpc_port),
        )  # fmt: skip
        registry = start(["-m", "registry", "serve"], env, tmp / "registry.log")
        echo = start(["-m", "bench.registry", "echo", str(echo_port)], env, tmp / "echo.log")
        platform_echo = start(
            ["-m", "bench.registry", "echo", str(platform_port), str(jwks_path)],
            env,
            tmp / "platform-echo.log",
        )
        try:
            wait_ready("the registry", f"http://127.0.0.1:{http_port}", registry, tmp / "registry.log")
            await measure(
                registry=f"127.0.0.1:{grpc_port}",
                echo=f"127.0.0.1:{echo_port}",
                platform_echo=f"127.0.0.1:{platform_port}",
                admin=issue_token(key_path.read_bytes(), roles=["admin"], subject="bench-admin"),
                reader=issue_token(key_path.read_bytes(), roles=["service"], subject="bench-reader"),
            )
        finally:
            stop_process(echo)
            stop_process(platform_echo)
            stop_process(registry, timeout=20)
            shutil.rmtree(tmp, ignore_errors=True)


async def measure(*, registry: str, echo: str, platform_echo: str, admin: str, reader: str) -> None:
    meta = (("authorization", f"Bearer {reader}"),)
    async with (
        grpc.aio.insecure_channel(registry) as channel,
        grpc.aio.insecure_channel(echo) as echo_channel,
        grpc.aio.insecure_channel(platform_echo) as platform_channel,
    ):
        stub = pb_grpc.RegistryServiceStub(channel)  # type: ignore[no-untyped-call]
        content = units_file(UNITS)
        started = time.perf_counter()
        imported = await stub.ImportUnits(
            pb.ImportUnitsRequest(filename="don-vi.xlsx", content=content),
            metadata=(("authorization", f"Bearer {admin}"),),
            timeout=120,
        )
        import_seconds = time.perf_counter() - started
        ids = [u.id for u in imported.units]

        echo_call, platform_call = (
            ch.unary_unary(
                ECHO_METHOD,
                request_serializer=pb.GetUnitRequest.SerializeToString,
                response_deserializer=pb.GetUnitRequest.FromString,
            )
            for ch in (echo_channel, platform_channel)
        )
        requests = [pb.GetUnitRequest(id=i) for i in ids]
        first = pb.ListUnitsRequest(page=common_pb2.PageRequest(page_size=50), district_code="001")
        token = (await stub.ListUnits(first, metadata=meta, timeout=10)).page.next_page_token
        second = pb.ListUnitsRequest(
            page=common_pb2.PageRequest(page_size=50, page_token=token), district_code="001"
        )
        pages = [first, second]

        async def call_echo(i: int) -> object:
            return await echo_call(requests[i % len(requests)], metadata=meta, timeout=10)

        async def call_platform(i: int) -> object:
            return await platform_call(requests[i % len(requests)], metadata=meta, timeout=10)

        async def call_get(i: int) -> object:
            return await stub.GetUnit(requests[i % len(requests)], metadata=meta, timeout=10)

        async def call_list(i: int) -> object:
            reply = await stub.ListUnits(pages[i % 2], metadata=meta, timeout=10)
            assert len(reply.units) == 50
            return reply

        echo_m = await load("grpc.aio echo (raw)", call_echo, ECHO_CALLS)
        platform_m = await load("echo on the platform's server", call_platform, ECHO_CALLS)
        get_m = await load("GetUnit", call_get, GET_CALLS)
        list_m = await load("ListUnits (page of 50)", call_list, LIST_CALLS)

    print_table(
        f"registry gRPC reads, {IN_FLIGHT} in flight on one channel from one client process",
        [
            echo_m.result(None),
            platform_m.result(echo_m.name),
            get_m.result(echo_m.name),
            list_m.result(echo_m.name),
        ],
    )
    for m in (echo_m, platform_m, get_m, list_m):
        print(f"  {m.name:<32} p50 {m.percentile(0.50):7.2f} ms   p99 {m.percentile(0.99):7.2f} ms")
    get_rate = get_m.result(None).rate
    bare, platform = get_rate / echo_m.result(None).rate, get_rate / platform_m.result(None).rate
    print(f"  GetUnit at {bare:.0%} of the bare echo rate (goal 60 %), {platform:.0%} of the platform echo")
    rate = len(ids) / import_seconds
    print(f"  ImportUnits: {len(ids)} units from one XLSX file in {import_seconds:.2f} s ({rate:,.0f}/s)")
    print(flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["echo"]:
        asyncio.run(serve_echo(int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else ""))
