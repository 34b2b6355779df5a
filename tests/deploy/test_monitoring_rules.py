"""The platform's Prometheus rules: generated files up to date, every alert documented with a runbook, every
alert and recording rule unit-tested (firing and not firing) with series named as the services export them,
and promtool's verdict on the tests (deploy/monitoring/rules.py, rules-test.yaml, docs/runbooks/)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.exported_metrics import exported, metric_names, pending_series

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "k8s" / "chart" / "files" / "prometheus-rules.yaml"
KUSTOMIZE_RULE = ROOT / "deploy" / "k8s" / "components" / "monitoring" / "prometheus-rule.yaml"
TESTS = ROOT / "deploy" / "k8s" / "components" / "monitoring" / "rules-test.yaml"
RUNBOOKS = ROOT / "docs" / "runbooks"


def rules() -> list[dict[str, Any]]:
    return [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]


def unit_tests() -> list[dict[str, Any]]:
    tests: list[dict[str, Any]] = yaml.safe_load(TESTS.read_text())["tests"]
    return tests


def recorded() -> set[str]:
    return {r["record"] for r in rules() if "record" in r}


def test_the_rule_files_are_what_the_generator_makes() -> None:
    result = subprocess.run(
        [sys.executable, "deploy/monitoring/rules.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    chart = yaml.safe_load(RULES.read_text())
    assert yaml.safe_load(KUSTOMIZE_RULE.read_text())["spec"] == chart


def test_every_alert_has_a_summary_a_description_a_severity_and_a_runbook() -> None:
    alerts = [r for r in rules() if "alert" in r]
    assert len(alerts) >= 15
    for a in alerts:
        name = a["alert"]
        assert a["labels"]["severity"] in ("critical", "warning"), name
        notes = a["annotations"]
        assert notes.get("summary"), name
        assert notes.get("description"), name
        assert notes["runbook_url"].endswith(f"/docs/runbooks/{name}.md"), name
        page = RUNBOOKS / f"{name}.md"
        assert page.is_file(), f"{name}: no runbook {page.relative_to(ROOT)}"
        text = page.read_text()
        assert text.startswith(f"# {name}"), page
        for section in ("## What it means", "## How to look", "## How to fix"):
            assert section in text, f"{page.name}: no section {section!r}"
    assert {p.stem for p in RUNBOOKS.glob("D07*.md")} == {a["alert"] for a in alerts}, "runbook of no alert"


def test_the_grpc_error_alert_matches_the_codes_the_interceptor_exports() -> None:
    (alert,) = (r for r in rules() if r.get("alert") == "D07HighGrpcErrorRate")
    for code in ("UNKNOWN", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "DEADLINE_EXCEEDED"):
        assert code in alert["expr"]
    assert "Internal" not in alert["expr"]


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for t in unit_tests():
        for case in t.get("alert_rule_test", []):
            (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    alerts = {r["alert"] for r in rules() if "alert" in r}
    assert alerts - firing == set(), "alerts never tested firing"
    assert alerts - quiet == set(), "alerts never tested not firing"
    assert firing | quiet <= alerts, "tests of unknown alerts"


def test_every_recording_rule_is_tested() -> None:
    tested: set[str] = set()
    for t in unit_tests():
        for case in t.get("promql_expr_test", []):
            tested |= metric_names(case["expr"]) & recorded()
    assert recorded() - tested == set(), "recording rules no promql_expr_test evaluates"


def test_rules_and_test_series_use_only_metrics_the_platform_exports() -> None:
    known = exported() | recorded() | pending_series()
    for r in rules():
        unknown = metric_names(r["expr"]) - known
        assert not unknown, f"{r.get('alert') or r.get('record')}: unknown metrics {sorted(unknown)}"
    for t in unit_tests():
        for s in t["input_series"]:
            name = s["series"].split("{", 1)[0]
            assert name in known, f"input series {name!r} is not a metric the platform exports"
            labels = s["series"]
            for label in ("platform=", "namespace=", "job=", "instance="):
                assert label in labels, f"{labels}: no {label} label (the monitors add it)"


def test_promtool_passes_the_unit_tests(tmp_path: Path) -> None:
    promtool = ROOT / ".tools" / "bin" / "promtool"
    tool = str(promtool) if promtool.exists() else "promtool"
    shutil.copy(RULES, tmp_path / "prometheus-rules.yaml")
    shutil.copy(TESTS, tmp_path / "rules-test.yaml")
    check = subprocess.run(
        [tool, "check", "rules", "prometheus-rules.yaml"], cwd=tmp_path, capture_output=True, timeout=120
    )
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
    result = subprocess.run(
        [tool, "test", "rules", "rules-test.yaml"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
