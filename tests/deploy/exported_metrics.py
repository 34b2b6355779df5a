"""The metric names the d07 processes export, read from the metric definitions in the code.

The monitoring tests (rules, dashboards) check every metric name in a PromQL expression against this set,
so that a rename in a service or a typo in a query fails the suite instead of leaving a panel empty or an
alert that can never fire. It reads the sources (no import, no running service): every
`Counter("name"`, `Gauge("name"`, `Histogram("name"`, `Summary("name"`, `Info("name"`, `Enum("name"` and
`*MetricFamily("name"` of libs/*/src and services/*/src, with the series prometheus-client derives from
each (`_total` and `_created` of a counter, `_bucket`, `_sum`, `_count` of a histogram, ...).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import promql_parser

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = re.compile(
    r"\b(Counter|Gauge|Histogram|Summary|Info|Enum|"
    r"CounterMetricFamily|GaugeMetricFamily|HistogramMetricFamily|SummaryMetricFamily|InfoMetricFamily)"
    r"\(\s*[\"']([a-zA-Z_:][a-zA-Z0-9_:]*)[\"']"
)
# What Prometheus itself adds to every target.
SCRAPE = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_series_added"})
# Metrics the rules and dashboards use before the service exports them: each is named, typed and placed in
# docs/monitoring.md ("Missing metrics"). Remove a name here when its service exports it.
PENDING: frozenset[str] = frozenset()


def series_of(kind: str, name: str) -> set[str]:
    if kind in ("Counter", "CounterMetricFamily"):
        base = name.removesuffix("_total")
        return {f"{base}_total", f"{base}_created"}
    if kind in ("Histogram", "HistogramMetricFamily"):
        return {name, f"{name}_bucket", f"{name}_sum", f"{name}_count", f"{name}_created"}
    if kind in ("Summary", "SummaryMetricFamily"):
        return {name, f"{name}_sum", f"{name}_count", f"{name}_created"}
    if kind in ("Info", "InfoMetricFamily"):
        return {f"{name}_info"}
    return {name}


@cache
def definitions() -> dict[str, str]:
    """Metric name → the file that defines it, for every metric defined in the platform and services."""
    found: dict[str, str] = {}
    roots = [*ROOT.glob("libs/*/src"), *ROOT.glob("services/*/src")]
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if "contracts" in path.parts:
                continue
            for kind, name in DEFINITION.findall(path.read_text(encoding="utf-8")):
                # collections.Counter("...") of a string is not a metric: metric names have an underscore.
                if "_" not in name:
                    continue
                for series in series_of(kind, name):
                    found.setdefault(series, str(path.relative_to(ROOT)))
    return found


def exported() -> set[str]:
    return set(definitions()) | SCRAPE


def pending_series() -> set[str]:
    return {s for name in PENDING for s in series_of("Histogram", name)}


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (raises ValueError when it does not parse)."""
    names: set[str] = set()

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names
