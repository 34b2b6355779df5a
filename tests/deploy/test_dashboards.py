"""The Grafana dashboards (deploy/monitoring/dashboards.py): the committed JSON and its shipped copies are
what the generator makes, each dashboard is well formed (uid, title, unique panel ids, grid positions), and
every PromQL expression parses and names only metrics the platform exports or the recording rules record."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.models.dashboard import Dashboard

from tests.deploy.exported_metrics import exported, metric_names

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "deploy" / "monitoring" / "dashboards"
COPIES = (
    ROOT / "deploy" / "k8s" / "chart" / "files" / "dashboards",
    ROOT / "deploy" / "k8s" / "components" / "monitoring" / "dashboards",
)
RULES = ROOT / "deploy" / "k8s" / "chart" / "files" / "prometheus-rules.yaml"
# Prometheus's own series of the alerts' state.
PROMETHEUS_SERIES = {"ALERTS", "ALERTS_FOR_STATE"}
FILES = sorted(DASHBOARDS.glob("*.json"))


def recorded() -> set[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {r["record"] for g in groups for r in g["rules"] if "record" in r}


def panels(dash: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for p in dash.get("panels", []):
        out.append(p)
        out.extend(p.get("panels", []))  # a collapsed row holds its panels
    return out


def expressions(dash: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, expr) of every panel target and every query variable."""
    found = [(f"panel {p.get('title')!r}", t["expr"]) for p in panels(dash) for t in p.get("targets", [])]
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v["query"] if isinstance(v["query"], str) else v["query"].get("query", "")
            m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", q.strip())
            assert m, f"variable {v['name']}: {q!r} is not label_values(selector, label)"
            found.append((f"variable {v['name']}", m.group(1)))
    return found


def as_promql(expr: str) -> str:
    """Grafana's variables replaced by what they stand for, so that Prometheus's grammar applies."""
    expr = expr.replace("$__rate_interval", "5m").replace("$__interval", "1m").replace("$__range", "1h")
    return re.sub(r"\$\{?\w+\}?", ".*", expr)


def test_the_dashboards_are_what_the_generator_makes() -> None:
    result = subprocess.run(
        [sys.executable, "deploy/monitoring/dashboards.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert [p.name for p in FILES] == [
        "d07-cameras.json",
        "d07-events.json",
        "d07-overview.json",
        "d07-slo.json",
    ]
    for folder in COPIES:
        assert sorted(p.name for p in folder.glob("*.json")) == [p.name for p in FILES], folder
        for p in FILES:
            assert (folder / p.name).read_bytes() == p.read_bytes(), folder / p.name


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_each_dashboard_is_well_formed(path: Path) -> None:
    data = json.loads(path.read_text())
    model = Dashboard.from_json(data)  # a smoke test: it only catches gross shape errors
    assert model.uid == path.stem, "uid = file name"
    assert data["title"].startswith("d07 ")
    assert isinstance(data["schemaVersion"], int)
    ids = [p["id"] for p in panels(data)]
    assert len(ids) == len(set(ids)), f"duplicate panel ids {ids}"
    for p in panels(data):
        grid = p["gridPos"]
        assert {"h", "w", "x", "y"} <= set(grid), p["title"]
        assert grid["x"] + grid["w"] <= 24, p["title"]
        if p["type"] != "row":
            assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
            refs = [t["refId"] for t in p["targets"]]
            assert refs, f"{p['title']}: no query"
            assert len(refs) == len(set(refs)), f"{p['title']}: refIds {refs}"
    names = [v["name"] for v in data["templating"]["list"]]
    assert names[0] == "datasource"
    for where, expr in expressions(data):
        for var in re.findall(r"\$\{?(\w+)\}?", expr):
            assert var.startswith("__") or var in names, f"{where}: unknown variable ${var}"


def test_the_uids_are_unique() -> None:
    uids = [json.loads(p.read_text())["uid"] for p in FILES]
    assert len(uids) == len(set(uids))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_expression_parses_and_names_exported_metrics(path: Path) -> None:
    known = exported() | recorded() | PROMETHEUS_SERIES
    data = json.loads(path.read_text())
    exprs = expressions(data)
    assert exprs
    for where, expr in exprs:
        try:
            names = metric_names(as_promql(expr))
        except ValueError as exc:
            pytest.fail(f"{path.name} {where}: bad PromQL {expr!r}: {exc}")
        assert names, f"{path.name} {where}: no metric in {expr!r}"
        unknown = names - known
        assert not unknown, (
            f"{path.name} {where}: unknown metrics {sorted(unknown)} (not exported, not recorded)"
        )


def test_the_metric_check_catches_a_typo() -> None:
    names = metric_names(as_promql('sum(rate(http_requests_totl{job=~"$service"}[$__rate_interval]))'))
    assert names - exported() == {"http_requests_totl"}
    with pytest.raises(ValueError, match="unclosed left parenthesis"):
        metric_names("sum(rate(http_requests_total[5m]) by job")


def test_prometheus_parses_every_expression(tmp_path: Path) -> None:
    """promql-parser is not Prometheus: promtool (the server's own parser, 2.42) must accept them too."""
    rules = [
        {"record": f"d07:dashboard_check:{i}", "expr": as_promql(expr)}
        for i, (_, expr) in enumerate(e for p in FILES for e in expressions(json.loads(p.read_text())))
    ]
    # A variable's selector alone is an instant vector selector: valid as a rule too.
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": [{"name": "check", "rules": rules}]}))
    result = subprocess.run(
        [str(ROOT / ".tools" / "bin" / "promtool"), "check", "rules", "rules.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
