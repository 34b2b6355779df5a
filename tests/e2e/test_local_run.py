"""`make run`'s engine brings all five services to ready with its own PostgreSQL and broker and a Prometheus
scraping them with the platform's rules, and Ctrl-C (SIGINT to its process group, as a terminal sends it)
leaves no process behind. The table README shows is the table it prints."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from d07.platform.devstack.__main__ import PROMETHEUS_PORT, SERVICES, _table
from d07.platform.devstack.procs import port_open
from tests.support.waiting import eventually_sync

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / ".tools" / "bin" / "prometheus"


def test_the_readme_shows_the_table_make_run_prints() -> None:
    readme = (ROOT / "README.md").read_text()
    shown = readme.split("d07 is ready:\n", 1)[1].split("```", 1)[0].strip().splitlines()
    printed = _table(
        "postgresql://postgres@127.0.0.1:55432/postgres", "127.0.0.1:9092", prometheus=True
    ).splitlines()
    assert shown == printed[: len(shown)]
    assert any(line.startswith("Prometheus  http://127.0.0.1:9090") for line in shown)


def descendants_by_marker(marker: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in environ and "pytest" not in cmdline:
            found.append(f"{entry.name} {cmdline}")
    return found


def test_local_run_reaches_ready_and_ctrl_c_leaves_nothing(tmp_path: Path) -> None:
    offset = random.randrange(20, 60) * 100  # ports like 10001+ / 55051+ away from a developer's own run
    run_dir = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if not k.startswith("D07_")}
    marker = f"d07-run-test-{os.getpid()}-{offset}"
    env.update(D07_RUN_DIR=str(run_dir), D07_PORT_OFFSET=str(offset), D07_TEST_MARKER=marker)
    log = open(tmp_path / "run.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "d07.platform.devstack",
            "run",
            "--quiet",
            "--timeout",
            "150",
            "--also",
            f"gateway={sys.executable} -m d07.demo gateway --every 1",
            "--prometheus",
            str(PROMETHEUS),
            "--then",
            f"{sys.executable} -c \"import os; open('{tmp_path / 'then'}', 'w')"
            ".write(os.environ['D07_PORT_OFFSET'])\"",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:

        def ready() -> bool:
            assert proc.poll() is None, f"the run exited ({proc.returncode})"
            return (run_dir / "ready").exists()

        try:
            eventually_sync(ready, within=180, interval=0.5, what="the local run to be ready")
        except AssertionError as e:
            raise AssertionError(f"{e}\n{(tmp_path / 'run.log').read_text()[-5000:]}") from None
        for s in SERVICES:
            assert httpx.get(f"http://127.0.0.1:{s.http + offset}/readyz", timeout=5).status_code == 200
        # The command after ready ran once every service was ready, with the run's port offset (make run loads
        # the demo province with it: tests/e2e/test_demo_province.py runs that load).
        assert (tmp_path / "then").read_text() == str(offset)
        out = subprocess.run(
            [sys.executable, "-m", "d07.platform.devstack", "token", "--role", "auditor"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        token = out.stdout.strip()
        r = httpx.get(
            f"http://127.0.0.1:{8005 + offset}/v1/projections/status",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        assert r.status_code == 200
        assert "Ctrl-C stops everything" in (tmp_path / "run.log").read_text()
        # The run's Prometheus (ready before the table was printed) scrapes the five services at the run's
        # ports, labelled as in Kubernetes, with the alert and recording rules loaded.
        prometheus = f"http://127.0.0.1:{PROMETHEUS_PORT + offset}"
        assert f"Prometheus  {prometheus}" in (tmp_path / "run.log").read_text()

        def targets_up() -> set[str]:
            result = httpx.get(
                f"{prometheus}/api/v1/query", params={"query": 'up{platform="d07"} == 1'}, timeout=5
            ).json()["data"]["result"]
            return {f"{r['metric']['job']} {r['metric']['instance']}" for r in result}

        eventually_sync(
            targets_up,
            until=lambda up: up == {f"{s.name} 127.0.0.1:{s.http + offset}" for s in SERVICES},
            within=60,
            interval=1,
            what="Prometheus scraping the five services",
        )
        groups = httpx.get(f"{prometheus}/api/v1/rules", timeout=5).json()["data"]["groups"]
        assert {"d07.availability", "d07.events", "d07.cameras", "d07.slo.alerts"} <= {
            g["name"] for g in groups
        }
    finally:
        with contextlib.suppress(ProcessLookupError):  # a run that exited already shows its log above
            os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    eventually_sync(
        lambda: descendants_by_marker(marker),
        until=lambda left: left == [],
        within=20,
        interval=0.3,
        what="no process of the run left behind",
    )
    for s in SERVICES:
        assert not port_open("127.0.0.1", s.http + offset)
        assert not port_open("127.0.0.1", s.grpc + offset)
    assert not port_open("127.0.0.1", PROMETHEUS_PORT + offset)
