"""`python -m d07.platform.devstack run | token | postgres | broker`: the local run of the whole platform.

`run` starts, under honcho, a private PostgreSQL (unless D07_DATABASE_URL is set), a Tansu broker (unless
D07_KAFKA_BOOTSTRAP is set), the five services, a Prometheus server scraping them (`--prometheus BINARY`, with
the config `--prometheus-config` adapted to the run's ports) and any `--also NAME=COMMAND` process (the demo's
simulated camera gateway); waits until every service (and Prometheus) is ready; loads the demo data (`--then`
command); prints where everything is; and on Ctrl-C (or SIGTERM) stops everything it started.

D07_RUN_DIR (default .run/) holds the local state; D07_PORT_OFFSET shifts every port (for a second stack
beside the first, as the tests start one).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from d07.platform.auth import ROLES, ensure_dev_keys, issue_token
from d07.platform.devstack.broker import tansu_binary
from d07.platform.devstack.postgres import Postgres
from d07.platform.devstack.procs import port_open
from d07.platform.settings import RUN_DIR


@dataclass(frozen=True)
class Svc:
    name: str
    http: int
    grpc: int
    grpc_service: str


SERVICES = (
    Svc("registry", 8001, 50051, "d07.registry.v1.RegistryService"),
    Svc("assessment", 8002, 50052, "d07.assessment.v1.AssessmentService"),
    Svc("cameras", 8003, 50053, "d07.cameras.v1.CamerasService"),
    Svc("awards", 8004, 50054, "d07.awards.v1.AwardsService"),
    Svc("reporting", 8005, 50055, "d07.reporting.v1.ReportingService"),
)
PG_PORT = 55432
BROKER_PORT = 9092
PROMETHEUS_PORT = 9090
PROMETHEUS_CONFIG = "deploy/monitoring/prometheus-local.yml"


def run_dir() -> Path:
    return Path(os.environ.get("D07_RUN_DIR", str(RUN_DIR))).resolve()


def offset() -> int:
    return int(os.environ.get("D07_PORT_OFFSET", "0"))


def prometheus_config(template: Path, rd: Path) -> Path:
    """The local Prometheus config for this run: `template` (deploy/monitoring/prometheus-local.yml) with its
    targets moved by the port offset and its rule files made absolute; written to the run directory."""
    import yaml  # PyYAML: a dependency of uvicorn[standard], which the platform requires

    config = yaml.safe_load(template.read_text())
    ports = {str(s.http): str(s.http + offset()) for s in SERVICES}
    for job in config.get("scrape_configs", []):
        for group in job.get("static_configs", []):
            group["targets"] = [
                f"{host}:{ports.get(port, port)}"
                for host, _, port in (t.rpartition(":") for t in group["targets"])
            ]
    config["rule_files"] = [str((template.parent / f).resolve()) for f in config.get("rule_files", [])]
    path = rd / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _procfile(
    rd: Path,
    *,
    database_url: str,
    bootstrap: str,
    start_pg: bool,
    start_broker: bool,
    also: Sequence[str] = (),
    prometheus: tuple[str, Path] | None = None,
) -> Path:
    py = shlex.quote(sys.executable)
    lines: list[str] = []
    if start_pg:
        lines.append(f"postgres: exec {py} -m d07.platform.devstack postgres --port {PG_PORT + offset()}")
    if start_broker:
        lines.append(f"broker: exec {py} -m d07.platform.devstack broker --port {BROKER_PORT + offset()}")
    jwks = rd / "dev-jwks.json"
    registry_grpc = f"127.0.0.1:{SERVICES[0].grpc + offset()}"
    for s in SERVICES:
        env = {
            "D07_ENV": "dev",
            "D07_DATABASE_URL": database_url,
            "D07_KAFKA_BOOTSTRAP": bootstrap,
            "D07_HTTP_PORT": str(s.http + offset()),
            "D07_GRPC_PORT": str(s.grpc + offset()),
            "D07_JWKS_FILE": str(jwks),
            "D07_REGISTRY_GRPC": registry_grpc,
        }
        assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        lines.append(f"{s.name}: exec env {assignments} {py} -m {s.name} serve")
    if prometheus is not None:
        binary, config = prometheus
        (rd / "prometheus").mkdir(exist_ok=True)
        lines.append(
            f"prometheus: exec {shlex.quote(binary)} --config.file={shlex.quote(str(config))}"
            f" --storage.tsdb.path={shlex.quote(str(rd / 'prometheus'))}"
            f" --web.listen-address=127.0.0.1:{PROMETHEUS_PORT + offset()}"
        )
    for extra in also:  # NAME=COMMAND: one more process beside the services, stopped with them
        name, _, command = extra.partition("=")
        assignments = f"D07_RUN_DIR={shlex.quote(str(rd))} D07_PORT_OFFSET={offset()}"
        lines.append(f"{name.strip()}: exec env {assignments} {command.strip()}")
    path = rd / "Procfile"
    path.write_text("\n".join(lines) + "\n")
    return path


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 (loopback)
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _table(database_url: str, bootstrap: str, *, prometheus: bool = False) -> str:
    rows = [f"{'service':<11} {'HTTP (docs)':<32} {'gRPC':<17} metrics"]
    for s in SERVICES:
        h = f"http://127.0.0.1:{s.http + offset()}"
        rows.append(f"{s.name:<11} {h + '/docs':<32} {'127.0.0.1:' + str(s.grpc + offset()):<17} {h}/metrics")
    rows.append(f"PostgreSQL  {database_url}")
    rows.append(f"Kafka       {bootstrap}")
    if prometheus:
        rows.append(
            f"Prometheus  http://127.0.0.1:{PROMETHEUS_PORT + offset()}   (alerts and SLO rules loaded)"
        )
    rows.append("A token:    make token ROLE=admin   (roles: " + ", ".join(sorted(ROLES)) + ")")
    return "\n".join(rows)


def cmd_run(args: argparse.Namespace) -> int:
    rd = run_dir()
    rd.mkdir(parents=True, exist_ok=True)
    ensure_dev_keys(rd)
    database_url = os.environ.get("D07_DATABASE_URL", "")
    bootstrap = os.environ.get("D07_KAFKA_BOOTSTRAP", "")
    start_pg, start_broker = not database_url, not bootstrap
    if start_pg:
        database_url = f"postgresql://postgres@127.0.0.1:{PG_PORT + offset()}/postgres"
    if start_broker:
        bootstrap = f"127.0.0.1:{BROKER_PORT + offset()}"
    prometheus: tuple[str, Path] | None = None
    if args.prometheus:
        prometheus = (args.prometheus, prometheus_config(Path(args.prometheus_config), rd))
    for port, what in [
        (PG_PORT + offset(), start_pg),
        (BROKER_PORT + offset(), start_broker),
        (PROMETHEUS_PORT + offset(), prometheus is not None),
    ] + [(p, True) for s in SERVICES for p in (s.http + offset(), s.grpc + offset())]:
        if what and port_open("127.0.0.1", port):
            print(
                f"port {port} is taken: is the platform already running? (or set D07_PORT_OFFSET)",
                file=sys.stderr,
            )
            return 1
    (rd / "database_url").write_text(database_url)
    (rd / "kafka_bootstrap").write_text(bootstrap)
    procfile = _procfile(
        rd,
        database_url=database_url,
        bootstrap=bootstrap,
        start_pg=start_pg,
        start_broker=start_broker,
        also=args.also,
        prometheus=prometheus,
    )
    log = open(rd / "services.log", "ab")  # noqa: SIM115
    honcho = subprocess.Popen(
        [sys.executable, "-m", "honcho", "start", "-f", str(procfile), "-d", str(Path.cwd()), "--no-colour"],
        stdout=log if args.quiet else None,
        stderr=subprocess.STDOUT if args.quiet else None,
    )

    def stop(*_: object) -> None:
        if honcho.poll() is None:
            honcho.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, lambda *_: stop())
    signal.signal(signal.SIGINT, lambda *_: stop())
    try:
        deadline = time.monotonic() + args.timeout
        pending = {s.name: f"http://127.0.0.1:{s.http + offset()}/readyz" for s in SERVICES}
        if prometheus is not None:
            pending["prometheus"] = f"http://127.0.0.1:{PROMETHEUS_PORT + offset()}/-/ready"
        while pending and honcho.poll() is None and time.monotonic() < deadline:
            for name, url in list(pending.items()):
                if _ready(url):
                    del pending[name]
            time.sleep(0.5)
        if honcho.poll() is not None:
            print("the platform stopped before it was ready; see the log above", file=sys.stderr)
            return 1
        if pending:
            print(f"not ready after {args.timeout:.0f} s: {', '.join(pending)}", file=sys.stderr)
            stop()
            honcho.wait()
            return 1
        if args.then:
            env = dict(os.environ, D07_RUN_DIR=str(rd), D07_PORT_OFFSET=str(offset()))
            seeded = subprocess.run(args.then, shell=True, env=env, check=False)  # noqa: S602 (our own command)
            if seeded.returncode != 0:
                print("loading the demo data failed", file=sys.stderr)
        print(
            "\nd07 is ready:\n"
            + _table(database_url, bootstrap, prometheus=prometheus is not None)
            + "\nCtrl-C stops everything.\n",
            flush=True,
        )
        (rd / "ready").write_text(json.dumps({"pid": os.getpid()}))
        honcho.wait()
    finally:
        (rd / "ready").unlink(missing_ok=True)
        stop()
        try:
            honcho.wait(30)
        except subprocess.TimeoutExpired:
            honcho.kill()
    return 0


# honcho SIGKILLs what still runs 5 s after the first process of the Procfile stopped: PostgreSQL waits part
# of that for the services (stopping at the same time) to close their pools, then shuts down fast.
PG_WAIT_FOR_CLIENTS = 2.5


def cmd_postgres(args: argparse.Namespace) -> int:
    """Foreground PostgreSQL for the Procfile; SIGTERM or SIGINT: a fast shutdown once the services have
    disconnected (or after PG_WAIT_FOR_CLIENTS s), well inside honcho's grace, so the next start needs no
    crash recovery."""
    server = Postgres(run_dir() / "pg" / "data", port=args.port).start()
    # The handler only flags the stop: the shutdown waits on the server, which a handler must not do while
    # the main thread is itself inside Popen.wait (its lock is not reentrant: the wrapper used to hang until
    # honcho SIGKILLed it).
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    assert server.proc is not None
    while not stopping.wait(0.2):
        if server.proc.poll() is not None:
            return server.proc.returncode
    server.wait_for_clients(PG_WAIT_FOR_CLIENTS)
    server.stop()
    return 0


def cmd_broker(args: argparse.Namespace) -> int:
    url = f"tcp://127.0.0.1:{args.port}"
    os.execv(  # noqa: S606 (replace this process by the broker, so signals reach it directly)
        str(tansu_binary()), ["tansu", "broker", "--listener-url", url, "--advertised-listener-url", url]
    )


def cmd_token(args: argparse.Namespace) -> int:
    key_path, _ = ensure_dev_keys(run_dir())
    token = issue_token(
        key_path.read_bytes(),
        roles=[args.role],
        subject=args.subject or f"dev-{args.role}",
        unit_id=args.unit,
        ttl_seconds=args.ttl,
    )
    print(token)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m d07.platform.devstack")
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="run the whole platform locally")
    run.add_argument("--then", default="", help="a command to run once every service is ready (demo data)")
    run.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="NAME=COMMAND",
        help="one more long-running process beside the services (for example a simulated camera gateway)",
    )
    run.add_argument(
        "--prometheus",
        default="",
        metavar="BINARY",
        help="also run this Prometheus server, scraping the five services with the platform's rules loaded",
    )
    run.add_argument(
        "--prometheus-config",
        default=PROMETHEUS_CONFIG,
        metavar="FILE",
        help="the config it starts from (targets moved by D07_PORT_OFFSET; default %(default)s)",
    )
    run.add_argument("--timeout", type=float, default=180.0)
    run.add_argument("--quiet", action="store_true", help="write the services' logs to .run/services.log")
    pg = sub.add_parser("postgres", help="a private PostgreSQL in the foreground")
    pg.add_argument("--port", type=int, default=PG_PORT)
    br = sub.add_parser("broker", help="a Tansu broker in the foreground")
    br.add_argument("--port", type=int, default=BROKER_PORT)
    tok = sub.add_parser("token", help="print a development token")
    tok.add_argument("--role", required=True, choices=sorted(ROLES))
    tok.add_argument("--unit", default=None, help="the unit id of a unit_officer")
    tok.add_argument("--subject", default="")
    tok.add_argument("--ttl", type=int, default=12 * 3600)
    args = parser.parse_args(argv)
    handler = {"run": cmd_run, "postgres": cmd_postgres, "broker": cmd_broker, "token": cmd_token}[args.cmd]
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
