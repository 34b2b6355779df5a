"""An orderly stop (issue 13 item 9): SIGTERM to every service while detections and API calls flow. Each
exits 0 within its grace period with no log line at error level; after a restart nothing sent is lost or
doubled. And a local-run PostgreSQL stopped the same way starts next time without crash recovery."""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from d07.platform.devstack.broker import Broker
from d07.platform.devstack.procs import free_port
from tests.conftest import RUN, throwaway_database
from tests.support.services import SERVICES, running_platform
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow

GRACE = 20.0  # below the chart's terminationGracePeriodSeconds (30)
CAMERAS = 3
TOPIC = "d07.cameras.detections.v1"


@pytest.fixture
async def stop_database(pg_server_url: str) -> AsyncIterator[str]:
    async with throwaway_database(pg_server_url, "d07_stop") as url:
        yield url


def error_lines(log: Path) -> list[str]:
    bad = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            if "Traceback" in line or "ERROR" in line:
                bad.append(line)
            continue
        if isinstance(record, dict) and str(record.get("level", "")).lower() in ("error", "critical"):
            bad.append(line)
    return bad


def new_cameras(urls: dict[str, str], headers: dict[str, str]) -> list[str]:
    codes = []
    for i in range(CAMERAS):
        code = f"CAM-{90000 + i:05d}"
        r = httpx.post(
            f"{urls['cameras']}/v1/cameras",
            json={"code": code, "name": f"Camera {i}", "latitude": 13.7 + i / 100, "longitude": 109.2,
                  "status": "installed", "district_code": "001", "commune_code": "00001"},
            headers=headers, timeout=30,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        codes.append(code)
    return codes


class Traffic:
    """Detections to Kafka and API calls to every service, in a thread, until stopped."""

    def __init__(
        self, bootstrap: str, codes: list[str], urls: dict[str, str], headers: dict[str, str]
    ) -> None:
        self.bootstrap, self.codes, self.urls, self.headers = bootstrap, codes, urls, headers
        self.sent: list[str] = []
        self.calls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> Traffic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)

    async def _run(self) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await producer.start()
        try:
            async with httpx.AsyncClient(timeout=5) as http:
                while not self._stop.is_set():
                    batch = []
                    for code in self.codes:
                        detection = {
                            "detection_id": str(uuid.uuid4()), "camera_id": code,
                            "occurred_at": datetime.now(UTC).isoformat(), "kind": "fire_smoke",
                            "confidence": 0.93, "snapshot_url": "https://vms.example/snap/1.jpg",
                        }  # fmt: skip
                        value = json.dumps(detection).encode()
                        batch.append(await producer.send(TOPIC, value, key=code.encode()))
                        self.sent.append(detection["detection_id"])
                    await asyncio.gather(*batch)
                    service = random.choice(SERVICES)
                    try:
                        await http.get(f"{self.urls[service]}/readyz")
                        await http.get(f"{self.urls['cameras']}/v1/violations", headers=self.headers)
                        self.calls += 1
                    except httpx.HTTPError:
                        pass  # a stopping service may refuse: the test is about what it does with its work
                    await asyncio.sleep(0.05)
        finally:
            await producer.stop()


async def stored(database_url: str) -> tuple[int, int, int]:
    conn = await asyncpg.connect(database_url)
    try:
        detections = await conn.fetchval("SELECT count(*) FROM cameras.detections")
        distinct = await conn.fetchval("SELECT count(DISTINCT detection_id) FROM cameras.detections")
        violations = await conn.fetchval("SELECT count(*) FROM cameras.violations")
        return int(detections), int(distinct), int(violations)
    finally:
        await conn.close()


async def test_sigterm_while_work_flows_stops_every_service_cleanly(
    stop_database: str, tmp_path: Path
) -> None:
    broker = Broker().start()
    try:
        with running_platform(stop_database, broker.bootstrap, tmp_path / "first") as p:
            urls = {s: p[s].url for s in SERVICES}
            headers = p.headers("dic_operator")
            codes = new_cameras(urls, headers)
            traffic = Traffic(broker.bootstrap, codes, urls, headers).start()
            await asyncio.sleep(4)
            started = time.monotonic()
            for s in SERVICES:
                proc = p[s].proc
                assert proc is not None
                proc.send_signal(signal.SIGTERM)
            exits: dict[str, tuple[int | None, float]] = {}
            for s in SERVICES:
                proc = p[s].proc
                assert proc is not None
                try:
                    code = proc.wait(GRACE)
                except subprocess.TimeoutExpired:
                    code = None
                exits[s] = (code, round(time.monotonic() - started, 1))
            traffic.stop()
            logs = {s: p[s].log for s in SERVICES}
        assert traffic.calls > 0
        assert {s: code for s, (code, _) in exits.items()} == dict.fromkeys(SERVICES, 0), exits
        for s, log in logs.items():
            assert log is not None
            assert error_lines(log) == [], (s, error_lines(log)[:5])

        # Restarted: every detection sent is stored once, and each camera's detections opened one violation.
        with running_platform(stop_database, broker.bootstrap, tmp_path / "second"):
            sent = len(traffic.sent)
            await eventually(
                lambda: stored(stop_database),
                until=lambda counts: counts[0] >= sent,
                within=120,
                what=f"the {sent} detections sent",
            )
            await asyncio.sleep(2)
            detections, distinct, violations = await stored(stop_database)
        assert (detections, distinct) == (sent, sent)
        assert violations == CAMERAS
    finally:
        broker.stop()


def test_a_local_run_postgres_stopped_by_sigterm_starts_without_recovery() -> None:
    """The Procfile's PostgreSQL (`python -m d07.platform.devstack postgres`) stops with a fast shutdown well
    inside honcho's 5 s, even with a client connected; the next start finds a clean shutdown."""
    run_dir = RUN / f"test-pg-stop-{uuid.uuid4().hex[:8]}"  # where the server's own user may write
    try:
        _stop_and_start_again(run_dir)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _stop_and_start_again(run_dir: Path) -> None:
    port = free_port()
    env = dict(os.environ, D07_RUN_DIR=str(run_dir))
    command = [sys.executable, "-m", "d07.platform.devstack", "postgres", "--port", str(port)]
    log = run_dir / "pg" / "data.log"

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(command, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                asyncio.run(_ping(port))
                return proc
            except OSError:
                time.sleep(0.2)
        raise TimeoutError("PostgreSQL did not start")

    first = start()
    holder = subprocess.Popen(  # a client that keeps its connection, as a service's pool does
        [sys.executable, "-c", f"import asyncio, asyncpg\nasync def m():\n c = await asyncpg.connect("
         f"'postgresql://postgres@127.0.0.1:{port}/postgres')\n print('connected', flush=True)\n"
         " await asyncio.sleep(600)\nasyncio.run(m())"],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == b"connected"
    started = time.monotonic()
    first.send_signal(signal.SIGTERM)
    assert first.wait(10) == 0
    assert time.monotonic() - started < 5.0
    holder.kill()
    holder.wait()
    second = start()
    try:
        text = log.read_text(errors="replace")
        assert "database system was shut down at" in text
        assert "not properly shut down" not in text
        assert "automatic recovery in progress" not in text
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(10)


async def _ping(port: int) -> None:
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", timeout=2)
    await conn.close()
