"""What the benchmarks share: a database and a broker to measure against, a clock, and a table printer.

D07_BENCH_DATABASE_URL and D07_BENCH_KAFKA_BOOTSTRAP point at existing servers; unset, a private PostgreSQL
and a private Tansu broker are started (d07.platform.devstack) and removed afterwards. Each benchmark works
in schemas and topics of its own, so a shared server is not disturbed beyond the load itself.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from d07.platform.db import all_migrations, migrate, quote_ident
from d07.platform.devstack.broker import Broker
from d07.platform.devstack.postgres import Postgres

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Stack:
    database_url: str
    bootstrap: str
    schemas: list[str]

    async def schema(self, prefix: str, *ddl: str) -> str:
        """A fresh schema with the platform's tables and any extra DDL; dropped when the stack closes."""
        name = unique(prefix)
        conn = await asyncpg.connect(self.database_url)
        try:
            await migrate(conn, schema=name, migrations=all_migrations(name, None))
            await conn.execute(f"SET search_path TO {quote_ident(name)}")
            for statement in ddl:
                await conn.execute(statement)
        finally:
            await conn.close()
        self.schemas.append(name)
        return name


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@contextlib.contextmanager
def _servers() -> Iterator[tuple[str, str]]:
    url = os.environ.get("D07_BENCH_DATABASE_URL")
    bootstrap = os.environ.get("D07_BENCH_KAFKA_BOOTSTRAP")
    run = ROOT / ".run"
    run.mkdir(exist_ok=True)
    with contextlib.ExitStack() as stack:
        if not url:
            tmp = Path(tempfile.mkdtemp(prefix="bench-pg-", dir=run))
            stack.callback(shutil.rmtree, tmp, True)
            server = Postgres(tmp / "data").start()
            stack.callback(server.stop)
            url = server.url
        if not bootstrap:
            broker = Broker(log_path=run / f"bench-broker-{os.getpid()}.log").start()
            stack.callback(broker.stop)
            bootstrap = broker.bootstrap
        yield url, bootstrap


@contextlib.asynccontextmanager
async def stack() -> AsyncIterator[Stack]:
    """The servers to measure against; the schemas made through it are dropped at the end."""
    with _servers() as (url, bootstrap):
        s = Stack(url, bootstrap, [])
        try:
            yield s
        finally:
            conn = await asyncpg.connect(url)
            try:
                for name in s.schemas:
                    await conn.execute(f"DROP SCHEMA IF EXISTS {quote_ident(name)} CASCADE")
            finally:
                await conn.close()


class Clock:
    """Wall time of a block: `with Clock() as c: ...; c.seconds`."""

    seconds: float = 0.0

    def __enter__(self) -> Clock:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self._start


@dataclass
class Result:
    """One line of a table: `count` messages in `seconds`; `baseline` names the raw line it compares to."""

    name: str
    count: int
    seconds: float
    baseline: str | None = None

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else float("inf")


def print_table(title: str, results: Sequence[Result]) -> None:
    """A small fixed-width table: messages, seconds, msgs/s, and the ratio to the named raw line."""
    by_name = {r.name: r for r in results}
    width = max(len(r.name) for r in results)
    print(f"\n{title}")
    print(f"  {'measurement':<{width}}  {'msgs':>8}  {'seconds':>8}  {'msgs/s':>10}  {'vs raw':>7}")
    for r in results:
        base = by_name.get(r.baseline) if r.baseline else None
        ratio = f"{r.rate / base.rate:6.2f}x" if base else ""
        print(f"  {r.name:<{width}}  {r.count:>8}  {r.seconds:>8.3f}  {r.rate:>10,.0f}  {ratio:>7}")
    print(flush=True)


def wait_ready(name: str, url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90.0) -> None:
    """Until the process `name` answers /readyz at `url`; its log's tail if it exits or is late."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{name} was not ready:\n{log.read_text()[-3000:]}")
