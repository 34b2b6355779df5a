"""The deployment renders and validates in every combination, and the chart refuses bad values.

Runs the real tools: helm and kubectl from tools/get-helm.sh, kubernetes-validate, promtool where present
(tools/k8s-check.sh). The renders it leaves in .tools/k8s-check/rendered/ are then read here.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".tools"
RENDERED = TOOLS / "k8s-check" / "rendered"
SERVICES = {"registry": 1, "assessment": 2, "cameras": 3, "awards": 4, "reporting": 5}
# The check renders and validates about 50 combinations (Helm value sets, kustomize component subsets, the
# Strimzi, CloudNativePG and KEDA cases): minutes on a shared machine, beyond the suite's default timeout.
pytestmark = pytest.mark.timeout(1200)
HELM_ENV = {
    "HELM_CACHE_HOME": str(TOOLS / "helm" / "cache"),
    "HELM_CONFIG_HOME": str(TOOLS / "helm" / "config"),
    "HELM_DATA_HOME": str(TOOLS / "helm" / "data"),
}


@pytest.fixture(scope="module")
def check_run() -> subprocess.CompletedProcess[str]:
    subprocess.run(["bash", "tools/get-helm.sh"], cwd=ROOT, check=True, timeout=300)
    return subprocess.run(
        ["bash", "tools/k8s-check.sh"], cwd=ROOT, capture_output=True, text=True, timeout=1100
    )


def deployments(path: Path) -> dict[str, dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}


def test_every_combination_renders_and_validates(check_run: subprocess.CompletedProcess[str]) -> None:
    assert check_run.returncode == 0, check_run.stdout + check_run.stderr
    assert "FAIL" not in check_run.stdout
    summary = check_run.stdout.strip().splitlines()[-1]
    assert summary.startswith("k8s-check: "), summary
    assert " 0 failed" in summary, summary
    # 7 Helm value sets, 6 refused value sets, 16 component subsets, 2 overlays.
    assert int(summary.split()[1]) >= 31, summary


def test_each_render_has_every_service_hardened_with_grpc_readiness(
    check_run: subprocess.CompletedProcess[str],
) -> None:
    assert check_run.returncode == 0, check_run.stdout + check_run.stderr
    renders = sorted(RENDERED.glob("*.yaml"))
    names = {p.stem for p in renders}
    assert {"helm-default", "helm-split-workers", "kustomize-overlay-dev", "kustomize-overlay-prod"} <= names
    for path in renders:
        found = deployments(path)
        for service, n in SERVICES.items():
            assert service in found, f"{path.name}: no Deployment {service}"
            pod = found[service]["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True, path.name
            assert pod["securityContext"]["runAsUser"] == 10001, path.name
            (main,) = (c for c in pod["containers"] if c["name"] == service)
            assert main["securityContext"]["readOnlyRootFilesystem"] is True, path.name
            assert main["readinessProbe"]["grpc"] == {
                "port": 50050 + n,
                "service": f"d07.{service}.v1.{service.title()}Service",
            }, path.name
            assert main["livenessProbe"]["httpGet"]["path"] == "/healthz", path.name
            image = main["image"]
            repo = image.split("@")[0] if "@" in image else image.rsplit(":", 1)[0]
            assert repo.endswith(f"d07/{service}"), path.name


def test_split_workers_moves_the_relays_and_consumers_out_of_serve(
    check_run: subprocess.CompletedProcess[str],
) -> None:
    assert check_run.returncode == 0, check_run.stdout + check_run.stderr
    for render in ("helm-split-workers", "kustomize-split-workers", "kustomize-overlay-prod"):
        docs = [d for d in yaml.safe_load_all((RENDERED / f"{render}.yaml").read_text()) if d]
        (config,) = (
            d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("d07-config")
        )
        assert config["data"]["D07_INPROCESS_WORKERS"] == "false", render
        found = deployments(RENDERED / f"{render}.yaml")
        assert {"cameras-relay", "cameras-consume", "registry-relay", "reporting-consume"} <= set(found), (
            render
        )
        assert found["cameras-consume"]["spec"]["template"]["spec"]["containers"][0]["args"] == ["consume"]
    default = [d for d in yaml.safe_load_all((RENDERED / "helm-default.yaml").read_text()) if d]
    (config,) = (d for d in default if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "d07-config")
    assert config["data"]["D07_INPROCESS_WORKERS"] == "true"
    assert "cameras-relay" not in deployments(RENDERED / "helm-default.yaml")


def test_split_workers_are_probed_and_scraped(check_run: subprocess.CompletedProcess[str]) -> None:
    """A relay or consume pod serves /healthz, /readyz and /metrics on its service's HTTP port: it is probed
    there, and the PodMonitor (or, without monitors, the prometheus.io annotations) scrapes it."""
    assert check_run.returncode == 0, check_run.stdout + check_run.stderr
    for render in ("helm-split-workers", "helm-all-on", "kustomize-split-workers", "kustomize-overlay-prod"):
        docs = [d for d in yaml.safe_load_all((RENDERED / f"{render}.yaml").read_text()) if d]
        workers = {n: d for n, d in deployments(RENDERED / f"{render}.yaml").items() if "-" in n}
        assert {"cameras-relay", "cameras-consume", "registry-relay", "reporting-consume"} <= set(workers)
        for name, dep in workers.items():
            service, role = name.split("-")
            port = 8000 + SERVICES[service]
            (main,) = dep["spec"]["template"]["spec"]["containers"]
            http = {"name": "http", "containerPort": port, "protocol": "TCP"}
            assert main["ports"] == [http], (render, name)
            assert {"name": "D07_HTTP_PORT", "value": str(port)} in main["env"], (render, name)
            assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}, (render, name)
            assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}, (render, name)
            assert dep["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == role
        monitors = [d for d in docs if d["kind"] == "PodMonitor"]
        if render in ("helm-all-on", "kustomize-overlay-prod"):
            (pm,) = monitors
            assert pm["spec"]["jobLabel"] == "app.kubernetes.io/name"
            assert pm["spec"]["podMetricsEndpoints"][0]["port"] == "http"
        else:
            assert monitors == [], render
            for name, dep in workers.items():
                notes = dep["spec"]["template"]["metadata"]["annotations"]
                assert notes["prometheus.io/scrape"] == "true", (render, name)
                assert notes["prometheus.io/port"] == str(8000 + SERVICES[name.split("-")[0]]), (render, name)


def test_the_dashboards_ship_as_grafana_configmaps(check_run: subprocess.CompletedProcess[str]) -> None:
    """With monitoring on, every dashboard of deploy/monitoring/dashboards/ is a ConfigMap for Grafana's
    sidecar, holding exactly the generated JSON."""
    assert check_run.returncode == 0, check_run.stdout + check_run.stderr
    generated = {
        p.name: p.read_text() for p in (ROOT / "deploy" / "monitoring" / "dashboards").glob("*.json")
    }
    assert len(generated) == 4
    for render in ("helm-monitoring", "helm-all-on", "kustomize-monitoring", "kustomize-overlay-prod"):
        docs = [d for d in yaml.safe_load_all((RENDERED / f"{render}.yaml").read_text()) if d]
        maps = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-dashboard")]
        assert {m["metadata"]["name"] for m in maps} == {f"{n[:-5]}-dashboard" for n in generated}, render
        for m in maps:
            assert m["metadata"]["labels"]["grafana_dashboard"] == "1", render
            ((name, text),) = m["data"].items()
            assert text.strip() == generated[name].strip(), (render, name)
    default = [d for d in yaml.safe_load_all((RENDERED / "helm-default.yaml").read_text()) if d]
    assert not [d for d in default if d["metadata"]["name"].endswith("-dashboard")]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("services.cameras.replicas=0", "at '/services/cameras/replicas': minimum: got 0, want 1"),
        ("services.awards.grpcPort=0", "at '/services/awards/grpcPort': minimum"),
        ("splitWorkers=maybe", "at '/splitWorkers'"),
    ],
)
def test_the_chart_refuses_bad_values(
    check_run: subprocess.CompletedProcess[str], setting: str, message: str
) -> None:
    # check_run ensures helm is there; this asks helm directly, apart from the check script.
    result = subprocess.run(
        [str(TOOLS / "bin" / "helm"), "template", "d07", "deploy/k8s/chart", "--set", setting],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **HELM_ENV},
        timeout=120,
    )
    assert result.returncode != 0
    assert message in result.stderr


def test_one_dockerfile_builds_each_service_as_its_own_image() -> None:
    """One recipe, parameterised by the service: the Makefile builds d07/<service> with its name and ports."""
    text = (ROOT / "deploy" / "docker" / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["/bin/sh", "-c", "exec python -m \\"$SERVICE_MODULE\\" \\"$@\\"", "d07"]' in text
    assert 'CMD ["serve"]' in text
    assert "EXPOSE ${HTTP_PORT} ${GRPC_PORT}" in text
    assert "USER 10001:10001" in text
    assert "uv sync --frozen --no-dev --package ${SERVICE}" in text
    assert text.count("FROM ") == 2
    # The base image pinned by digest (no default: the Makefile refuses to build without one).
    assert text.count("FROM ${PYTHON_IMAGE}@${PYTHON_DIGEST} AS") == 2
    assert "PYTHON_DIGEST=sha256:" in (ROOT / "Makefile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    for service, n in SERVICES.items():
        assert f"{service}:{8000 + n}:{50050 + n}" in makefile


def test_an_image_digest_is_accepted_and_rendered(check_run: subprocess.CompletedProcess[str]) -> None:
    """services.<name>.imageDigest pins the image (<repo>@sha256:..., API, workers and migrate alike); the
    schema refuses a malformed digest and a drain-blocking PodDisruptionBudget (must_fail in k8s-check.sh)."""
    assert check_run.returncode == 0, check_run.stdout + check_run.stderr
    digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    found = deployments(RENDERED / "helm-digest-scheduling.yaml")
    pod = found["cameras"]["spec"]["template"]["spec"]
    for c in pod["containers"] + pod["initContainers"]:
        assert c["image"] == f"d07/cameras@{digest}"
    assert pod["nodeSelector"] == {"d07.io/pool": "cameras"}
    assert found["registry"]["spec"]["template"]["spec"]["containers"][0]["image"].startswith("d07/registry:")
    for refused in ("pdb-max-unavailable-0", "pdb-single-replica", "pdb-min-available", "bad-digest"):
        assert f"ok    reject-{refused}" in check_run.stdout, refused
