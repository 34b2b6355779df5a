"""The dashboards and the rules against a real Prometheus scraping the running platform.

The five services run as processes (tests.support.services); a Prometheus server (.tools/bin/prometheus,
tools/get-prometheus.sh) scrapes their /metrics every second with the labels the Kubernetes monitors give
(platform, job, namespace, component), the platform's rule file loaded. Real traffic goes through: HTTP and
gRPC calls to every service (one refused with NOT_FOUND), a unit created in the registry, an installed camera
with a heartbeat, detections that open violations (and one rejected), the events consumed downstream. Then
every query of every dashboard panel and every recording rule is evaluated through Prometheus's HTTP API:
none may fail, and the panels and rules the traffic exercised (named below) must return series whose legend
labels exist. A panel naming a metric or a label the services do not export comes back empty, or with a blank
legend, and fails here.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import yaml

from d07.assessment.v1 import assessment_pb2, assessment_pb2_grpc
from d07.awards.v1 import awards_pb2, awards_pb2_grpc
from d07.cameras.v1 import cameras_pb2, cameras_pb2_grpc
from d07.platform.devstack.procs import free_port, stop_process
from d07.registry.v1 import registry_pb2, registry_pb2_grpc
from d07.reporting.v1 import reporting_pb2, reporting_pb2_grpc
from tests.support.services import SERVICES, Platform
from tests.support.waiting import eventually_sync

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / ".tools" / "bin" / "prometheus"
RULES = ROOT / "deploy" / "k8s" / "chart" / "files" / "prometheus-rules.yaml"
DASHBOARDS = ROOT / "deploy" / "monitoring" / "dashboards"
# Grafana's $__rate_interval: the traffic below happens within this window before the queries run.
RATE_INTERVAL = "2m"
VARIABLES = {"namespace": ".*", "service": ".*", "instance": ".*", "slo": ".*"}

# The panels the traffic exercises, per dashboard: each must return data.
EXERCISED = {
    "d07-overview": {
        "Targets up",
        "Targets down",
        "Up by service and component",
        "Versions running",
        "Database pool: connections in use and waiting acquisitions",
        "HTTP requests by route",
        "HTTP 5xx ratio by service",
        "HTTP p50 latency by route",
        "HTTP p95 latency by route",
        "HTTP p99 latency by route",
        "gRPC calls by method",
        "gRPC server-error ratio by service",
        "gRPC codes other than OK",
        "gRPC p50 latency by method",
        "gRPC p95 latency by method",
        "gRPC p99 latency by method",
    },
    "d07-events": {
        "Outbox rows pending by schema",
        "Oldest outbox row",
        "Events published by topic",
        "Events consumed by consumer, topic and outcome",
        "Consumer lag by group and topic",
    },
    "d07-cameras": {
        "Installed",
        "Online",
        "Offline",
        "Online ratio",
        "Detections by door",
        "Detections rejected by door and reason",
        "Violations opened by kind",
        "Detection to violation: p50, p95 by kind",
        "Violations opened within 30 s",
        "Open violations by priority",
    },
    "d07-slo": {
        "Error budget left (30 days)",
        "SLI over 30 days",
        "Burn rate over 1h and 5m (alert at 14.4)",
        "Burn rate over 6h and 30m (alert at 6)",
        "Burn rate over 1d and 2h (alert at 3)",
        "Burn rate over 3d and 6h (alert at 1)",
    },
}
# The recording rules the traffic exercises (by name, and for the SLOs which `slo` must be there).
EXERCISED_RECORDS = {"d07:cameras_online:ratio", "slo:objective:ratio", "slo:sli_error:ratio_rate5m"}
EXERCISED_SLOS = {
    "grpc-availability",
    "http-availability",
    "grpc-latency",
    "http-latency",
    "violation-freshness",
}


def meta(platform: Platform, role: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {platform.token(role)}")]


class Prometheus:
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"

    def get(self, path: str, **params: str) -> Any:
        r = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=30)
        body = r.json()
        assert r.status_code == 200, body
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = self.get("query", query=expr)
        result = data["result"]
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": result}]
        return list(result)


@pytest.fixture(scope="module")
def prometheus(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    workdir = tmp_path_factory.mktemp("prometheus")
    shutil.copy(RULES, workdir / "rules.yaml")
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(workdir / "rules.yaml")],
        "scrape_configs": [
            {
                "job_name": "d07",
                "static_configs": [
                    {
                        "targets": [f"127.0.0.1:{platform[name].http}"],
                        "labels": {
                            "job": name,
                            "platform": "d07",
                            "namespace": "test",
                            "component": "server",
                        },
                    }
                    for name in SERVICES
                ],
            }
        ],
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = (workdir / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            str(PROMETHEUS),
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Prometheus(port)
    try:

        def up() -> set[str]:
            assert proc.poll() is None, (workdir / "prometheus.log").read_text()[-3000:]
            try:
                return {r["metric"]["job"] for r in server.query('up{platform="d07"} == 1')}
            except (httpx.HTTPError, ValueError):  # not listening yet, or 503 until its storage is open
                return set()

        eventually_sync(up, until=lambda jobs: jobs == set(SERVICES), within=60, what="all five scraped")
        yield server
    finally:
        stop_process(proc, timeout=15)
        log.close()


# --- traffic ----------------------------------------------------------------------------------------------


def traffic(platform: Platform, round_: int) -> None:
    """Calls to every service over both doors, a unit, an installed camera with a heartbeat, detections that
    open violations (one of them 45 s old) and one rejected."""
    admin = platform.headers("admin")
    for path in ("/v1/units", "/v1/criteria-sets", "/v1/rounds", "/v1/cameras", "/v1/projections/status"):
        for name in SERVICES:
            r = httpx.get(f"{platform[name].url}{path}", headers=admin, timeout=10)
            assert r.status_code < 500, (name, path, r.text)
    r = httpx.post(
        f"{platform['registry'].url}/v1/units",
        json={"code": f"U-{uuid.uuid4().hex[:8].upper()}", "name": "Trường THPT Phan Bội Châu",
              "kind": "school", "district_code": "001"},
        headers=admin,
        timeout=10,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    unit = r.json()["id"]
    code = f"CAM-{uuid.uuid4().int % 100000:05d}"
    r = httpx.post(
        f"{platform['cameras'].url}/v1/cameras",
        json={"code": code, "name": f"Cổng trường {round_}", "latitude": 13.78, "longitude": 109.21,
              "unit_id": unit, "status": "installed"},
        headers=platform.headers("dic_operator"),
        timeout=10,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    camera = r.json()["id"]
    r = httpx.post(
        f"{platform['cameras'].url}/v1/heartbeats",
        json={"heartbeats": [{"camera_id": camera}]},
        headers=platform.headers("camera_gateway"),
        timeout=10,
    )
    assert r.status_code == 200, r.text
    now = datetime.now(UTC)
    detections = [
        {"detection_id": str(uuid.uuid4()), "camera_id": code, "occurred_at": at.isoformat(), "kind": kind,
         "confidence": 0.97}
        for kind, at in (("intrusion", now), ("crowd", now - timedelta(seconds=45)))
    ] + [{"detection_id": str(uuid.uuid4()), "camera_id": code, "occurred_at": now.isoformat(),
          "kind": "no-such-kind", "confidence": 0.9}]  # fmt: skip
    r = httpx.post(
        f"{platform['cameras'].url}/v1/detections:batch",
        json=detections,
        headers=platform.headers("camera_gateway"),
        timeout=10,
    )
    assert (r.status_code, r.json()["stored"]) == (200, 2), r.text

    with grpc.insecure_channel(platform["registry"].target) as ch:
        stub = registry_pb2_grpc.RegistryServiceStub(ch)
        stub.GetUnit(registry_pb2.GetUnitRequest(id=unit), metadata=meta(platform, "auditor"), timeout=10)
        with pytest.raises(grpc.RpcError) as err:
            stub.GetUnit(
                registry_pb2.GetUnitRequest(id=str(uuid.uuid4())),
                metadata=meta(platform, "auditor"),
                timeout=10,
            )
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with grpc.insecure_channel(platform["assessment"].target) as ch:
        assessment_pb2_grpc.AssessmentServiceStub(ch).ListCriteriaSets(
            assessment_pb2.ListCriteriaSetsRequest(), metadata=meta(platform, "auditor"), timeout=10
        )
    with grpc.insecure_channel(platform["awards"].target) as ch:
        awards_pb2_grpc.AwardsServiceStub(ch).ListAwardForms(
            awards_pb2.ListAwardFormsRequest(), metadata=meta(platform, "auditor"), timeout=10
        )
    with grpc.insecure_channel(platform["cameras"].target) as ch:
        cameras_pb2_grpc.CamerasServiceStub(ch).GetCamera(
            cameras_pb2.GetCameraRequest(id=camera), metadata=meta(platform, "police"), timeout=10
        )
    with grpc.insecure_channel(platform["reporting"].target) as ch:
        reporting_pb2_grpc.ReportingServiceStub(ch).GetProjectionStatus(
            reporting_pb2.GetProjectionStatusRequest(), metadata=meta(platform, "admin"), timeout=10
        )


# --- the dashboards' queries ------------------------------------------------------------------------------


def substitute(expr: str) -> str:
    expr = expr.replace("$__rate_interval", RATE_INTERVAL)
    for name, value in VARIABLES.items():
        expr = expr.replace(f"${name}", value)
    assert "$" not in expr, f"a variable left unsubstituted: {expr}"
    return expr


def panels() -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(dashboard uid, panel title, its targets) of every panel with queries."""
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            if panel.get("targets"):
                found.append((dashboard["uid"], panel["title"], panel["targets"]))
    return found


def variable_queries() -> list[tuple[str, str, str]]:
    """(dashboard uid, selector, label) of every `label_values(selector, label)` variable."""
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text())
        for var in dashboard["templating"]["list"]:
            if var["type"] == "query":
                m = re.fullmatch(r"label_values\((.+), (\w+)\)", var["query"])
                assert m, var["query"]
                found.append((dashboard["uid"], m.group(1), m.group(2)))
    return found


def legend_labels(target: dict[str, Any]) -> set[str]:
    return set(re.findall(r"\{\{\s*(\w+)\s*\}\}", target.get("legendFormat", "")))


def test_every_panel_and_rule_evaluates_and_the_exercised_ones_have_data(
    platform: Platform, prometheus: Prometheus
) -> None:
    known = {(uid, title) for uid, title, _ in panels()}
    named = {(uid, title) for uid, titles in EXERCISED.items() for title in titles}
    assert named <= known, f"panels named here that the dashboards do not have: {named - known}"

    traffic(platform, 1)
    time.sleep(3)
    traffic(platform, 2)

    # Wait until the traffic's effects are scraped: the violations opened, their events consumed downstream,
    # and the SLO rules evaluated on them.
    def settled() -> dict[str, int]:
        return {
            "opened": len(prometheus.query('d07_violations_opened_total{job="cameras"}')),
            "delay": len(prometheus.query("d07_violation_open_delay_seconds_count")),
            "consumed": len(prometheus.query('d07_events_consumed_total{topic="d07.cameras.violations.v1"}')),
            "freshness": len(prometheus.query('slo:sli_error:ratio_rate5m{slo="violation-freshness"}')),
            "installed": len(prometheus.query("d07_cameras_installed > 0")),
        }

    eventually_sync(
        settled, until=lambda n: all(n.values()), within=60, interval=1, what="the traffic scraped"
    )
    time.sleep(3)  # a few more scrapes: every rate has two samples after the second round

    failures: list[str] = []
    for uid, title, targets in panels():
        results = []
        for target in targets:
            expr = substitute(target["expr"])
            try:
                result = prometheus.query(expr)
            except AssertionError as exc:
                failures.append(f"{uid} / {title}: {expr} fails: {exc}")
                continue
            results.append(result)
            if (uid, title) in named:
                missing = [
                    (label, series["metric"])
                    for series in result
                    for label in legend_labels(target)
                    if label not in series["metric"]
                ]
                if missing:
                    failures.append(
                        f"{uid} / {title}: {expr} has series without its legend's labels: {missing}"
                    )
        if (uid, title) in named and not any(results):
            failures.append(f"{uid} / {title}: no data ({[t['expr'] for t in targets]})")
    for uid, selector, label in variable_queries():
        values = {s.get(label) for s in prometheus.get("series", **{"match[]": substitute(selector)})}
        if not values - {None}:
            failures.append(f"{uid}: variable label_values({selector}, {label}) is empty")

    groups = prometheus.get("rules")["groups"]
    records = [rule for group in groups for rule in group["rules"] if rule["type"] == "recording"]
    assert records
    for rule in records:
        if rule["health"] != "ok":
            failures.append(f"recording rule {rule['name']}: {rule['health']} {rule.get('lastError', '')}")
        try:
            prometheus.query(rule["query"])
        except AssertionError as exc:
            failures.append(f"recording rule {rule['name']}: {rule['query']} fails: {exc}")
    for alert in (rule for group in groups for rule in group["rules"] if rule["type"] == "alerting"):
        if alert["health"] != "ok":
            failures.append(f"alert {alert['name']}: {alert['health']} {alert.get('lastError', '')}")
    for name in sorted(EXERCISED_RECORDS):
        if not prometheus.query(name):
            failures.append(f"recording rule {name}: no data")
    slos = {s["metric"]["slo"] for s in prometheus.query("slo:sli_error:ratio_rate5m")}
    if slos != EXERCISED_SLOS:
        failures.append(f"SLOs with an error ratio: {sorted(slos)}, not {sorted(EXERCISED_SLOS)}")
    ratio = prometheus.query("d07:cameras_online:ratio")
    if not all(0 <= float(s["value"][1]) <= 1 for s in ratio):
        failures.append(f"the camera online ratio is not a ratio: {ratio}")
    # One of the violations opened 45 s after its detection: the freshness SLO sees bad events.
    fresh = prometheus.query('slo:sli_error:ratio_rate5m{slo="violation-freshness", job="cameras"}')
    if not fresh or not float(fresh[0]["value"][1]) > 0:
        failures.append(f"the freshness SLO counts no late violation: {fresh}")
    # Each process says what it runs (its package's version) and shows its database pool.
    versions = {(s["metric"]["job"], s["metric"]["version"]) for s in prometheus.query("d07_build_info == 1")}
    if versions != {(name, importlib.metadata.version(name)) for name in SERVICES}:
        failures.append(f"d07_build_info: {sorted(versions)}")
    pools = {s["metric"]["job"]: s["metric"]["pool"] for s in prometheus.query("d07_db_pool_connections > 0")}
    if pools != {name: name for name in SERVICES}:
        failures.append(f"d07_db_pool_connections: {pools}")
    assert not failures, "\n".join(failures)
