"""The five services as real processes (`python -m <service> serve`) on free loopback ports, against the
session's PostgreSQL and broker. End-to-end tests speak to them only through their public APIs and topics."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from d07.platform.auth import ensure_dev_keys, issue_token
from d07.platform.devstack.broker import Broker
from d07.platform.devstack.procs import free_port, stop_process
from tests.support.waiting import eventually_sync

SERVICES = ("registry", "assessment", "cameras", "awards", "reporting")
GRPC_NAMES = {
    "registry": "d07.registry.v1.RegistryService",
    "assessment": "d07.assessment.v1.AssessmentService",
    "cameras": "d07.cameras.v1.CamerasService",
    "awards": "d07.awards.v1.AwardsService",
    "reporting": "d07.reporting.v1.ReportingService",
}


@dataclass
class Endpoint:
    name: str
    http: int
    grpc: int
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http}"

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.grpc}"


@dataclass
class Platform:
    endpoints: dict[str, Endpoint]
    key_pem: bytes
    database_url: str
    bootstrap: str
    env: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Endpoint:
        return self.endpoints[name]

    def token(self, role: str, *, unit_id: str | None = None, subject: str | None = None) -> str:
        return issue_token(self.key_pem, roles=[role], subject=subject or f"test-{role}", unit_id=unit_id)

    def headers(self, role: str, **kw: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, **kw)}"}

    def metadata(self, role: str, **kw: str) -> list[tuple[str, str]]:
        """gRPC call metadata carrying a token of `role` (what each service's tests write as `md(role)`)."""
        return [("authorization", f"Bearer {self.token(role, **kw)}")]


def _start(ep: Endpoint, env: dict[str, str], logdir: Path) -> None:
    ep.log = logdir / f"{ep.name}.log"
    proc_env = dict(env, D07_HTTP_PORT=str(ep.http), D07_GRPC_PORT=str(ep.grpc))
    ep.proc = subprocess.Popen(
        [sys.executable, "-m", ep.name, "serve"],
        env=proc_env,
        stdout=open(ep.log, "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_ready(eps: list[Endpoint], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    pending = {e.name: e for e in eps}
    while pending and time.monotonic() < deadline:
        for name, e in list(pending.items()):
            assert e.proc is not None
            if e.proc.poll() is not None:
                raise RuntimeError(f"{name} exited:\n{e.log.read_text() if e.log else ''}")
            try:
                if httpx.get(f"{e.url}/readyz", timeout=2).status_code == 200:
                    del pending[name]
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    if pending:
        logs = "\n".join(f"--- {n}\n{e.log.read_text()[-3000:] if e.log else ''}" for n, e in pending.items())
        raise TimeoutError(f"not ready: {', '.join(pending)}\n{logs}")


@contextmanager
def running_platform(database_url: str, bootstrap: str, workdir: Path, **settings: str) -> Iterator[Platform]:
    """The five services as processes against one database and one broker, stopped on exit. `settings` are
    more D07_ variables (for example D07_CAMERA_OFFLINE_AFTER_SECONDS="3")."""
    key_path, jwks_path = ensure_dev_keys(workdir / "keys")
    logdir = workdir / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    endpoints = {name: Endpoint(name, free_port(), free_port()) for name in SERVICES}
    env = {k: v for k, v in os.environ.items() if not k.startswith("D07_")}
    env.update(
        D07_ENV="dev",
        D07_DATABASE_URL=database_url,
        D07_KAFKA_BOOTSTRAP=bootstrap,
        D07_JWKS_FILE=str(jwks_path),
        D07_REGISTRY_GRPC=endpoints["registry"].target,
        D07_LOG_LEVEL="INFO",
        D07_CONSUMER_SESSION_TIMEOUT_MS="6000",  # Tansu holds each group join for half of it
        **settings,
    )
    for ep in endpoints.values():
        _start(ep, env, logdir)
    try:
        wait_ready(list(endpoints.values()))
        yield Platform(endpoints, key_path.read_bytes(), database_url, bootstrap, env)
    finally:
        for ep in endpoints.values():
            if ep.proc is not None:
                stop_process(ep.proc, timeout=15)


@pytest.fixture(scope="session")
def platform(
    database_url: str, broker: Broker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    # cameras silent 3 s go offline: health tests wait that long
    with running_platform(
        database_url,
        broker.bootstrap,
        tmp_path_factory.mktemp("platform"),
        D07_CAMERA_OFFLINE_AFTER_SECONDS="3",
        # Reporting's camera-health tests replay the heartbeats of past periods (1962) for cameras entered
        # with those installation dates: the age bound (a day in production) is the handler tests' to show.
        D07_HEARTBEAT_MAX_AGE_SECONDS="3200000000",
    ) as p:
        yield p


# Kept for the tests that still import it from here: use `tests.support.waiting.eventually_sync`.
eventually = eventually_sync
