"""The local Prometheus (deploy/monitoring/prometheus-local.yml): a real server (tools/get-prometheus.sh)
loads the config and the platform's rules, scrapes a process that serves the platform's metrics, labels it as
the Kubernetes monitors do, and evaluates the recording rules on it. The services themselves are stood in for
by one prometheus-client endpoint; the config's targets are pointed at it."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, Counter, start_http_server

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "monitoring" / "prometheus-local.yml"
PROMETHEUS = ROOT / ".tools" / "bin" / "prometheus"
PROMTOOL = ROOT / ".tools" / "bin" / "promtool"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def api(port: int, path: str, **params: str) -> Any:
    url = f"http://127.0.0.1:{port}/api/v1/{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - a loopback URL of the test
        return json.load(response)["data"]


def test_the_config_targets_the_five_local_services() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    targets = {
        group["labels"]["job"]: group["targets"]
        for job in config["scrape_configs"]
        for group in job["static_configs"]
    }
    assert targets == {
        "registry": ["127.0.0.1:8001"],
        "assessment": ["127.0.0.1:8002"],
        "cameras": ["127.0.0.1:8003"],
        "awards": ["127.0.0.1:8004"],
        "reporting": ["127.0.0.1:8005"],
    }
    for job in config["scrape_configs"]:
        for group in job["static_configs"]:
            assert group["labels"]["platform"] == "d07"
    (rules,) = config["rule_files"]
    assert (
        CONFIG.parent / rules
    ).resolve() == ROOT / "deploy" / "k8s" / "chart" / "files" / "prometheus-rules.yaml"


def test_promtool_accepts_the_config() -> None:
    result = subprocess.run(
        [str(PROMTOOL), "check", "config", str(CONFIG)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def fake_service() -> Iterator[int]:
    """One endpoint with the platform's HTTP counter, serving traffic of which 10 % fails with 500."""
    registry = CollectorRegistry()
    requests = Counter(
        "http_requests_total", "HTTP requests", ["method", "route", "status"], registry=registry
    )
    ok, failed = requests.labels("GET", "/v1/units", "200"), requests.labels("GET", "/v1/units", "500")
    stop = threading.Event()

    def traffic() -> None:
        while not stop.wait(0.05):
            ok.inc(9)
            failed.inc(1)

    worker = threading.Thread(target=traffic, daemon=True)
    worker.start()
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    yield port
    stop.set()
    server.shutdown()
    thread.join(5)
    worker.join(5)


def test_a_real_prometheus_scrapes_and_evaluates_the_rules(fake_service: int, tmp_path: Path) -> None:
    config = yaml.safe_load(CONFIG.read_text())
    config["global"]["scrape_interval"] = "1s"
    config["global"]["scrape_timeout"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    for job in config["scrape_configs"]:
        for group in job["static_configs"]:
            group["targets"] = [f"127.0.0.1:{fake_service}"]
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(ROOT / "deploy" / "k8s" / "chart" / "files" / "prometheus-rules.yaml", rules)
    config["rule_files"] = [str(rules / "prometheus-rules.yaml")]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = (tmp_path / "prometheus.log").open("w")
    server = subprocess.Popen(
        [
            str(PROMETHEUS),
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        up: list[Any] = []
        while time.monotonic() < deadline:
            time.sleep(1)
            try:
                up = api(port, "query", query='up{platform="d07"} == 1')["result"]
            except OSError:
                continue
            if len(up) == 5:
                break
        jobs = {r["metric"]["job"]: r["metric"] for r in up}
        assert set(jobs) == {"registry", "assessment", "cameras", "awards", "reporting"}, (
            tmp_path / "prometheus.log"
        ).read_text()[-2000:]
        assert jobs["cameras"]["namespace"] == "local"
        assert jobs["cameras"]["component"] == "server"
        groups = api(port, "rules")["groups"]
        assert {g["name"] for g in groups} >= {"d07.availability", "d07.events", "d07.slo.alerts"}
        assert all(r["health"] in ("ok", "unknown") for g in groups for r in g["rules"])
        # The recording rules see the scraped series (rate needs two scrapes: wait for them): 10 % errors.
        ratio: list[Any] = []
        while time.monotonic() < deadline:
            ratio = api(port, "query", query='slo:sli_error:ratio_rate5m{slo="http-availability"}')["result"]
            if len(ratio) == 5:
                break
            time.sleep(1)
        assert {r["metric"]["job"] for r in ratio} == set(jobs)
        assert all(0.05 < float(r["value"][1]) < 0.15 for r in ratio), ratio
        assert all(r["health"] == "ok" for g in groups for r in g["rules"] if r.get("lastEvaluation"))
    finally:
        server.terminate()
        server.wait(30)
        log.close()
