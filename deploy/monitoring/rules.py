"""The d07 platform's Prometheus rules as code: alerts, recording rules and the SLOs' burn-rate alerts.

    python deploy/monitoring/rules.py          # write the rule files (make monitoring)
    python deploy/monitoring/rules.py --check  # exit 1 when a committed file differs from what this makes

It writes the same groups twice: deploy/k8s/chart/files/prometheus-rules.yaml (the Helm chart's
PrometheusRule spec; promtool checks and unit-tests it, see deploy/k8s/components/monitoring/rules-test.yaml)
and deploy/k8s/components/monitoring/prometheus-rule.yaml (the kustomize component's PrometheusRule).
tools/k8s-check.sh fails when the rendered groups differ from the chart's file.

Series carry the labels the ServiceMonitor and PodMonitor add: platform="d07", job (the service's name),
namespace, instance, pod and component (server, relay, consume). Why these SLOs and alerts:
docs/monitoring.md.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART_RULES = ROOT / "deploy" / "k8s" / "chart" / "files" / "prometheus-rules.yaml"
KUSTOMIZE_RULE = ROOT / "deploy" / "k8s" / "components" / "monitoring" / "prometheus-rule.yaml"
# Where the runbooks are read: docs/runbooks/<AlertName>.md of the repository (change the base to the
# repository's web address when it moves).
RUNBOOK_BASE = "https://git.example.org/d07/d07/-/blob/main/docs/runbooks"

SEL = 'platform="d07"'
# Probes and scrapes are not traffic: /readyz answers 503 while a dependency is down, by design.
HTTP_SEL = f'{SEL}, route!~"/healthz|/readyz|/metrics"'
GRPC_SEL = f'{SEL}, grpc_service!~"grpc\\\\.health\\\\..*|grpc\\\\.reflection\\\\..*"'
# The codes the interceptor (d07.platform.grpc) exports for a failure of the server, as StatusCode names.
GRPC_SERVER_ERRORS = "UNKNOWN|INTERNAL|UNAVAILABLE|DATA_LOSS|DEADLINE_EXCEEDED"
SERVICES = ("registry", "assessment", "cameras", "awards", "reporting")

Rule = dict[str, Any]


def alert(
    name: str,
    expr: str,
    *,
    severity: str,
    summary: str,
    description: str,
    for_: str | None = None,
    labels: dict[str, str] | None = None,
) -> Rule:
    rule: Rule = {"alert": name, "expr": expr}
    if for_:
        rule["for"] = for_
    rule["labels"] = {"severity": severity, **(labels or {})}
    rule["annotations"] = {
        "summary": summary,
        "description": description,
        "runbook_url": f"{RUNBOOK_BASE}/{name}.md",
    }
    return rule


def record(name: str, expr: str, labels: dict[str, str] | None = None) -> Rule:
    rule: Rule = {"record": name, "expr": expr}
    if labels:
        rule["labels"] = labels
    return rule


def availability_groups() -> list[Rule]:
    absent = " or ".join(f'absent(up{{{SEL}, job="{s}"}})' for s in SERVICES)
    return [
        alert(
            "D07ServiceUnavailable",
            f"sum by (namespace, job, component) (up{{{SEL}}}) == 0",
            for_="2m",
            severity="critical",
            summary="{{ $labels.job }} ({{ $labels.component }}): no instance can be scraped",
            description="Every {{ $labels.component }} target of {{ $labels.job }} in {{ $labels.namespace }}"
            " has been down for 2 minutes.",
        ),
        alert(
            "D07InstanceDown",
            f"up{{{SEL}}} == 0",
            for_="5m",
            severity="warning",
            summary="{{ $labels.job }} instance {{ $labels.instance }} is down",
            description="Prometheus could not scrape {{ $labels.pod }} for 5 minutes.",
        ),
        alert(
            "D07ServiceAbsent",
            absent,
            for_="10m",
            severity="critical",
            summary="{{ $labels.job }}: no target at all",
            description="Prometheus has had no target of {{ $labels.job }} for 10 minutes: the Deployment is"
            " gone or scaled to zero, or the ServiceMonitor no longer selects it.",
        ),
    ]


def request_rules() -> list[Rule]:
    return [
        alert(
            "D07HighHttp5xxRate",
            f'sum by (namespace, job) (rate(http_requests_total{{{HTTP_SEL}, status=~"5.."}}[5m]))\n'
            f"  / sum by (namespace, job) (rate(http_requests_total{{{HTTP_SEL}}}[5m])) > 0.05",
            for_="10m",
            severity="warning",
            summary="{{ $labels.job }}: {{ $value | humanizePercentage }} of HTTP requests fail with 5xx",
            description="More than 5 % of HTTP requests to {{ $labels.job }} answered 5xx for 10 minutes.",
        ),
        alert(
            "D07HighGrpcErrorRate",
            "sum by (namespace, job) (rate(grpc_server_handled_total"
            f'{{{GRPC_SEL}, grpc_code=~"{GRPC_SERVER_ERRORS}"}}[5m]))\n'
            f"  / sum by (namespace, job) (rate(grpc_server_handled_total{{{GRPC_SEL}}}[5m])) > 0.05",
            for_="10m",
            severity="warning",
            summary="{{ $labels.job }}: {{ $value | humanizePercentage }} of gRPC calls fail",
            description="More than 5 % of gRPC calls to {{ $labels.job }} ended with a server error"
            f" ({GRPC_SERVER_ERRORS.replace('|', ', ')}) for 10 minutes.",
        ),
    ]


def event_rules() -> list[Rule]:
    by = "namespace, job, consumer, topic"
    return [
        alert(
            "D07OutboxPendingGrowing",
            f"d07_outbox_pending{{{SEL}}} > 100 and deriv(d07_outbox_pending{{{SEL}}}[15m]) > 0",
            for_="15m",
            severity="warning",
            summary="{{ $labels.schema }}: {{ $value }} outbox rows wait and the backlog grows",
            description="The outbox relay of {{ $labels.schema }} is not keeping up or cannot reach Kafka.",
        ),
        # The leading relay of each schema exports the age of its oldest unsent row every round.
        alert(
            "D07OutboxStalled",
            f"max by (namespace, job, schema) (d07_outbox_oldest_age_seconds{{{SEL}}}) > 300",
            for_="5m",
            severity="critical",
            summary="{{ $labels.schema }}: the oldest outbox row has waited {{ $value | humanizeDuration }}",
            description="An event of {{ $labels.schema }} has waited more than 5 minutes in the outbox, for 5"
            " minutes: the relay cannot publish (see d07_events_publish_errors_total) and the events are late"
            " for every consumer.",
        ),
        alert(
            "D07ConsumerLagHigh",
            f"sum by ({by}) (d07_consumer_lag{{{SEL}}}) > 1000",
            for_="10m",
            severity="warning",
            summary="{{ $labels.consumer }} lags {{ $value }} messages behind on {{ $labels.topic }}",
            description="Consumer {{ $labels.consumer }} of {{ $labels.job }} has been more than 1000"
            " messages behind for 10 minutes.",
        ),
        alert(
            "D07ConsumerStalled",
            f"sum by ({by}) (d07_consumer_lag{{{SEL}}}) > 0\n"
            f"  and sum by ({by}) (delta(d07_consumer_lag{{{SEL}}}[15m])) >= 0\n"
            f"  unless on ({by})\n"
            f"  sum by ({by}) (increase(d07_events_consumed_total{{{SEL}}}[15m])) > 0",
            for_="5m",
            severity="critical",
            summary="{{ $labels.consumer }} consumes nothing from {{ $labels.topic }} while"
            " {{ $value }} messages wait",
            description="Consumer {{ $labels.consumer }} of {{ $labels.job }} has a backlog on"
            " {{ $labels.topic }} that has not fallen in 15 minutes, and it committed no event meanwhile.",
        ),
        alert(
            "D07ConsumerRetrying",
            f"sum by (namespace, job, consumer) (rate(d07_consumer_retries_total{{{SEL}}}[5m])) > 0",
            for_="10m",
            severity="warning",
            summary="{{ $labels.consumer }} keeps retrying a batch",
            description="A transient failure (database or broker) has blocked {{ $labels.consumer }} for"
            " 10 minutes.",
        ),
        alert(
            "D07EventsDeadLettered",
            "sum by (namespace, job, consumer, topic, reason) (increase(d07_events_dead_lettered_total"
            f"{{{SEL}}}[15m])) > 0",
            severity="warning",
            summary="{{ $labels.consumer }} dead-lettered events from {{ $labels.topic }}"
            " ({{ $labels.reason }})",
            description="Events went to {{ $labels.topic }}.dlq in the last 15 minutes: inspect and replay"
            " them.",
        ),
    ]


def camera_rules() -> list[Rule]:
    # The gauges are read from the database by every process that runs the cameras' periodic workers
    # (each relay, or each serve replica with in-process workers): the same number several times, so max.
    installed = f"max by (namespace, job) (d07_cameras_installed{{{SEL}}})"
    offline = f"max by (namespace, job) (d07_cameras_offline{{{SEL}}})"
    ratio = "d07:cameras_online:ratio"
    return [
        # The installed cameras that are not offline (a planned camera online counts in d07_cameras_online).
        record(ratio, f"({installed} - {offline})\n  / {installed}"),
        alert(
            "D07CameraOnlineRatioLow",
            f"{ratio} < 0.8\n  or {ratio} < ({ratio} offset 1h - 0.1)",
            for_="15m",
            severity="warning",
            summary="{{ $value | humanizePercentage }} of the installed cameras are online",
            description="The share of installed cameras that are online is below 80 %, or fell by more"
            " than 10 points within an hour, for 15 minutes.",
        ),
        alert(
            "D07ViolationsOverdue",
            f"max by (namespace, job, priority) (d07_violations_overdue{{{SEL}}}) > 0",
            for_="10m",
            severity="warning",
            summary="{{ $value }} {{ $labels.priority }} violations are past their reaction deadline",
            description="Violations of priority {{ $labels.priority }} are still new past their reaction"
            " deadline: nobody has picked them up.",
        ),
    ]


# ---------------------------------------------------------------------------------------------- SLOs


@dataclass(frozen=True)
class Slo:
    name: str
    objective: float
    description: str
    errors: str  # PromQL of the bad events' rate over {w}, by namespace, job
    total: str  # PromQL of all events' rate over {w}, by namespace, job


def _rate(metric: str, sel: str) -> str:
    return f"sum by (namespace, job) (rate({metric}{{{sel}}}[{{w}}]))"


def _slow(histogram: str, sel: str, le: str) -> str:
    return f"({_rate(histogram + '_count', sel)} - {_rate(histogram + '_bucket', sel + f', le={le}')})"


SLOS = (
    Slo(
        "grpc-availability",
        0.999,
        "gRPC calls that do not fail with a server error",
        _rate("grpc_server_handled_total", f'{GRPC_SEL}, grpc_code=~"{GRPC_SERVER_ERRORS}"'),
        _rate("grpc_server_handled_total", GRPC_SEL),
    ),
    Slo(
        "http-availability",
        0.999,
        "HTTP requests not answered 5xx",
        _rate("http_requests_total", f'{HTTP_SEL}, status=~"5.."'),
        _rate("http_requests_total", HTTP_SEL),
    ),
    Slo(
        "grpc-latency",
        0.99,
        "gRPC calls handled within 250 ms",
        _slow("grpc_server_handling_seconds", GRPC_SEL, '"0.25"'),
        _rate("grpc_server_handling_seconds_count", GRPC_SEL),
    ),
    Slo(
        "http-latency",
        0.99,
        "HTTP requests answered within 500 ms",
        _slow("http_request_duration_seconds", HTTP_SEL, '"0.5"'),
        _rate("http_request_duration_seconds_count", HTTP_SEL),
    ),
    # d07_violation_open_delay_seconds: the cameras service, where a detection opens a violation.
    Slo(
        "violation-freshness",
        0.99,
        "violations opened within 30 s of the detection",
        _slow("d07_violation_open_delay_seconds", SEL, '"30.0"'),
        _rate("d07_violation_open_delay_seconds_count", SEL),
    ),
)
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
# (severity, [(long window, short window, burn rate)]): the Google SRE workbook's multiwindow,
# multi-burn-rate alerts for a 30-day objective.
BURNS = {
    "D07ErrorBudgetBurnFast": ("critical", "page", [("1h", "5m", 14.4), ("6h", "30m", 6.0)]),
    "D07ErrorBudgetBurnSlow": ("warning", "ticket", [("1d", "2h", 3.0), ("3d", "6h", 1.0)]),
}


def slo_group(slo: Slo) -> dict[str, Any]:
    rules: list[Rule] = [record("slo:objective:ratio", f"vector({slo.objective})", {"slo": slo.name})]
    for w in WINDOWS:
        errors, total = slo.errors.replace("{w}", w), slo.total.replace("{w}", w)
        # No bad event yet means no series at all for the errors: count them as 0, not as missing.
        rules.append(
            record(
                f"slo:sli_error:ratio_rate{w}",
                f"(\n  {errors}\n  or\n  0 * {total}\n)\n/ {total}",
                {"slo": slo.name},
            )
        )
    rules.append(
        record(
            "slo:sli_error:ratio_rate30d",
            f'avg_over_time(slo:sli_error:ratio_rate5m{{slo="{slo.name}"}}[30d])',
            {"slo": slo.name},
        )
    )
    return {"name": f"d07.slo.{slo.name}", "rules": rules}


def burn_alerts() -> list[Rule]:
    out = []
    for name, (severity, kind, pairs) in BURNS.items():
        parts = []
        for long, short, factor in pairs:
            budget = f"on (slo) group_left () ({factor} * (1 - slo:objective:ratio))"
            parts.append(
                f"(\n  slo:sli_error:ratio_rate{long} > {budget}\n"
                f"  and\n  slo:sli_error:ratio_rate{short} > {budget}\n)"
            )
        windows = ", or ".join(f"{f:g}x the sustainable rate over {lw} and {sw}" for lw, sw, f in pairs)
        out.append(
            alert(
                name,
                "\nor\n".join(parts),
                for_="2m" if kind == "page" else "15m",
                severity=severity,
                labels={"action": kind},
                summary="{{ $labels.job }}: the {{ $labels.slo }} error budget burns too fast",
                description="{{ $labels.job }} in {{ $labels.namespace }} spends the 30-day error budget of"
                " {{ $labels.slo }} at "
                + windows
                + " (now {{ $value | humanizePercentage }} of the events are bad).",
            )
        )
    return out


def groups() -> list[dict[str, Any]]:
    return [
        {"name": "d07.availability", "rules": availability_groups()},
        {"name": "d07.requests", "rules": request_rules()},
        {"name": "d07.events", "rules": event_rules()},
        {"name": "d07.cameras", "rules": camera_rules()},
        *(slo_group(s) for s in SLOS),
        {"name": "d07.slo.alerts", "rules": burn_alerts()},
    ]


# ------------------------------------------------------------------------------------------- output


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(data: Any) -> str:
    text: str = yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=100_000, allow_unicode=True)
    return text


def chart_rules() -> str:
    header = (
        "# GENERATED by deploy/monitoring/rules.py (make monitoring): edit that file, not this one.\n"
        "# The d07 platform's alerts and recording rules, the PrometheusRule spec of the Helm chart;\n"
        "# components/monitoring/prometheus-rule.yaml carries the same groups. Unit tests:\n"
        "# deploy/k8s/components/monitoring/rules-test.yaml (promtool, run by tools/k8s-check.sh).\n"
    )
    return header + dump({"groups": groups()})


def kustomize_rule() -> str:
    header = (
        "# GENERATED by deploy/monitoring/rules.py (make monitoring): the same rule groups as\n"
        "# deploy/k8s/chart/files/prometheus-rules.yaml (tools/k8s-check.sh compares them).\n"
    )
    doc = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "d07", "labels": {"app.kubernetes.io/part-of": "d07"}},
        "spec": {"groups": groups()},
    }
    return header + dump(doc)


OUTPUTS = {CHART_RULES: chart_rules, KUSTOMIZE_RULE: kustomize_rule}


def main(argv: list[str]) -> int:
    stale = []
    for path, make in OUTPUTS.items():
        text = make()
        if "--check" in argv:
            if not path.exists() or path.read_text() != text:
                stale.append(path.relative_to(ROOT))
        else:
            path.write_text(text)
    for p in stale:
        print(f"{p} is not what deploy/monitoring/rules.py makes: run make monitoring", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
