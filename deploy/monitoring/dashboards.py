"""The d07 Grafana dashboards as code (grafana-foundation-sdk).

    python deploy/monitoring/dashboards.py          # write the JSON (make dashboards)
    python deploy/monitoring/dashboards.py --check  # exit 1 when a committed file is not what this makes

Four dashboards: overview, event pipeline, cameras and violations, SLOs. Each is written to
deploy/monitoring/dashboards/<name>.json and copied, byte for byte, where the deployments ship it as a
ConfigMap labelled grafana_dashboard: "1" (Helm: chart/files/dashboards/, kustomize:
components/monitoring/dashboards/). Queries use only metrics the services export and the recording rules of
deploy/monitoring/rules.py; tests/deploy/test_dashboards.py parses each one and checks the names.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from grafana_foundation_sdk.builders.common import ReduceDataOptions, VizLegendOptions
from grafana_foundation_sdk.builders.dashboard import (
    Dashboard,
    DatasourceVariable,
    QueryVariable,
    Row,
    ThresholdsConfig,
)
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.builders.stat import Panel as Stat
from grafana_foundation_sdk.builders.timeseries import Panel as Timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.common import BigValueGraphMode, LegendDisplayMode, LegendPlacement

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "deploy" / "monitoring" / "dashboards"
# Where the deployments pick the dashboards up (Helm's .Files and kustomize's generators cannot reach
# outside their own directory, so each gets a copy).
COPIES = (
    ROOT / "deploy" / "k8s" / "chart" / "files" / "dashboards",
    ROOT / "deploy" / "k8s" / "components" / "monitoring" / "dashboards",
)

DS = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
RATE = "$__rate_interval"
# Probes and scrapes are not traffic (as in the SLOs of rules.py).
NOT_PROBES = 'route!~"/healthz|/readyz|/metrics"'
GRPC_USER = 'grpc_service!~"grpc\\\\.health\\\\..*|grpc\\\\.reflection\\\\..*"'
GRPC_SERVER_ERRORS = 'grpc_code=~"UNKNOWN|INTERNAL|UNAVAILABLE|DATA_LOSS|DEADLINE_EXCEEDED"'


# --------------------------------------------------------------------------------------------- parts


def query(expr: str, legend: str = "") -> Dataquery:
    q = Dataquery().expr(expr).datasource(DS)
    if legend:
        q = q.legend_format(legend)
    return q


def ratio(errors: str, total: str) -> str:
    """errors / total, 0 (not "no data") while there is traffic but no error yet: a counter with an error's
    label appears only at the first error (as in the SLO rules of rules.py)."""
    return f"({errors} or 0 * {total}) / {total}"


def legend() -> VizLegendOptions:
    return (
        VizLegendOptions()
        .show_legend(True)
        .display_mode(LegendDisplayMode.TABLE)
        .placement(LegendPlacement.BOTTOM)
        .calcs(["mean", "max", "lastNotNull"])
    )


def graph(title: str, unit: str, *targets: Dataquery, description: str = "", w: int = 12) -> Timeseries:
    panel = Timeseries().title(title).unit(unit).datasource(DS).span(w).height(8).legend(legend())
    if description:
        panel = panel.description(description)
    for ref, t in zip("ABCDEFGH", targets, strict=False):
        panel = panel.with_target(t.ref_id(ref))
    return panel


def stat(title: str, unit: str, target: Dataquery, *, description: str = "", w: int = 6) -> Stat:
    panel = (
        Stat()
        .title(title)
        .unit(unit)
        .datasource(DS)
        .span(w)
        .height(4)
        .graph_mode(BigValueGraphMode.AREA)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .with_target(target.ref_id("A"))
    )
    if description:
        panel = panel.description(description)
    return panel


def ratio_thresholds(red_below: float, yellow_below: float) -> ThresholdsConfig:
    return (
        ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps(
            [
                model.Threshold(value=None, color="red"),
                model.Threshold(value=red_below, color="yellow"),
                model.Threshold(value=yellow_below, color="green"),
            ]
        )
    )


def datasource_variable() -> DatasourceVariable:
    return DatasourceVariable("datasource").label("Data source").type("prometheus")


def label_variable(name: str, label: str, source: str, title: str) -> QueryVariable:
    return (
        QueryVariable(name)
        .label(title)
        .query(f"label_values({source}, {label})")
        .datasource(DS)
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
        .include_all(True)
        .all_value(".*")
        .multi(True)
    )


def base(uid: str, title: str, description: str) -> Dashboard:
    return (
        Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["d07", "generated"])
        .editable()
        .refresh("1m")
        .time("now-6h", "now")
        .timezone("browser")
        .with_variable(datasource_variable())
    )


def finish(builder: Dashboard) -> model.Dashboard:
    """Build, and number every panel (rows included) 1, 2, ... in order: stable ids, stable JSON."""
    dash = builder.build()
    for i, panel in enumerate(dash.panels or [], start=1):
        panel.id_val = i
    return dash


# ------------------------------------------------------------------------------------------ overview


def overview() -> model.Dashboard:
    sel = 'platform="d07", namespace=~"$namespace", job=~"$service", instance=~"$instance"'
    http = f"{sel}, {NOT_PROBES}"
    grpc = f"{sel}, {GRPC_USER}"
    d = (
        base(
            "d07-overview",
            "d07 overview",
            "Per service: targets up, request rate, error ratio and latency of HTTP (by route) and gRPC (by"
            " method). Probes, /metrics and the gRPC health service are left out.",
        )
        .with_variable(label_variable("namespace", "namespace", 'up{platform="d07"}', "Namespace"))
        .with_variable(
            label_variable("service", "job", 'up{platform="d07", namespace=~"$namespace"}', "Service")
        )
        .with_variable(
            label_variable(
                "instance",
                "instance",
                'up{platform="d07", namespace=~"$namespace", job=~"$service"}',
                "Instance",
            )
        )
        .with_row(Row("Targets"))
        .with_panel(
            stat(
                "Targets up",
                "none",
                query(f"sum(up{{{sel}}})"),
                description="Scraped processes that answered (API pods and split workers).",
            )
        )
        .with_panel(stat("Targets down", "none", query(f"count(up{{{sel}}} == 0) or vector(0)")))
        .with_panel(
            graph(
                "Up by service and component",
                "none",
                query(f"sum by (job, component) (up{{{sel}}})", "{{job}} {{component}}"),
                w=12,
            )
        )
        .with_panel(
            graph(
                "Versions running",
                "none",
                query(f"count by (job, version) (d07_build_info{{{sel}}})", "{{job}} {{version}}"),
                description="Processes per service and package version (d07_build_info): two versions at once"
                " during a rollout.",
            )
        )
        .with_panel(
            graph(
                "Database pool: connections in use and waiting acquisitions",
                "none",
                query(f"sum by (job) (d07_db_pool_connections_in_use{{{sel}}})", "{{job}} in use"),
                query(f"sum by (job) (d07_db_pool_connections_max{{{sel}}})", "{{job}} max"),
                query(f"sum by (job) (d07_db_pool_acquires_waiting{{{sel}}})", "{{job}} waiting"),
                description="asyncpg pools read at scrape time: waiting acquisitions mean every connection is"
                " taken (raise D07_DB_POOL_MAX or find the slow statement).",
            )
        )
        .with_row(Row("HTTP"))
        .with_panel(
            graph(
                "HTTP requests by route",
                "reqps",
                query(
                    f"sum by (job, method, route) (rate(http_requests_total{{{http}}}[{RATE}]))",
                    "{{job}} {{method}} {{route}}",
                ),
            )
        )
        .with_panel(
            graph(
                "HTTP 5xx ratio by service",
                "percentunit",
                query(
                    ratio(
                        f'sum by (job) (rate(http_requests_total{{{http}, status=~"5.."}}[{RATE}]))',
                        f"sum by (job) (rate(http_requests_total{{{http}}}[{RATE}]))",
                    ),
                    "{{job}}",
                ),
            )
        )
    )
    for q in ("0.5", "0.95", "0.99"):
        d = d.with_panel(
            graph(
                f"HTTP p{round(float(q) * 100)} latency by route",
                "s",
                query(
                    f"histogram_quantile({q}, sum by (job, route, le)"
                    f" (rate(http_request_duration_seconds_bucket{{{http}}}[{RATE}])))",
                    "{{job}} {{route}}",
                ),
                w=8,
            )
        )
    d = (
        d.with_row(Row("gRPC"))
        .with_panel(
            graph(
                "gRPC calls by method",
                "reqps",
                query(
                    f"sum by (job, grpc_method) (rate(grpc_server_handled_total{{{grpc}}}[{RATE}]))",
                    "{{job}} {{grpc_method}}",
                ),
            )
        )
        .with_panel(
            graph(
                "gRPC server-error ratio by service",
                "percentunit",
                query(
                    ratio(
                        "sum by (job) (rate(grpc_server_handled_total"
                        f"{{{grpc}, {GRPC_SERVER_ERRORS}}}[{RATE}]))",
                        f"sum by (job) (rate(grpc_server_handled_total{{{grpc}}}[{RATE}]))",
                    ),
                    "{{job}}",
                ),
                description="UNKNOWN, INTERNAL, UNAVAILABLE, DATA_LOSS, DEADLINE_EXCEEDED: the codes of the"
                " grpc-availability SLO.",
            )
        )
        .with_panel(
            graph(
                "gRPC codes other than OK",
                "reqps",
                query(
                    f'sum by (job, grpc_code) (rate(grpc_server_handled_total{{{grpc}, grpc_code!="OK"}}'
                    f"[{RATE}]))",
                    "{{job}} {{grpc_code}}",
                ),
                w=24,
            )
        )
    )
    for q in ("0.5", "0.95", "0.99"):
        d = d.with_panel(
            graph(
                f"gRPC p{round(float(q) * 100)} latency by method",
                "s",
                query(
                    f"histogram_quantile({q}, sum by (job, grpc_method, le)"
                    f" (rate(grpc_server_handling_seconds_bucket{{{grpc}}}[{RATE}])))",
                    "{{job}} {{grpc_method}}",
                ),
                w=8,
            )
        )
    return finish(d)


# ------------------------------------------------------------------------------------ event pipeline


def events() -> model.Dashboard:
    sel = 'platform="d07", namespace=~"$namespace", job=~"$service"'
    pending = f"d07_outbox_pending{{{sel}}}"
    d = (
        base(
            "d07-events",
            "d07 event pipeline",
            "Outbox (pending rows, their age), events published and consumed per topic, consumer lag per"
            " group and topic, retries and dead letters.",
        )
        .with_variable(label_variable("namespace", "namespace", 'up{platform="d07"}', "Namespace"))
        .with_variable(
            label_variable("service", "job", 'up{platform="d07", namespace=~"$namespace"}', "Service")
        )
        .with_row(Row("Outbox"))
        .with_panel(
            graph(
                "Outbox rows pending by schema",
                "none",
                query(f"max by (job, schema) ({pending})", "{{schema}}"),
            )
        )
        .with_panel(
            graph(
                "Oldest outbox row",
                "s",
                query(f"max by (job, schema) (d07_outbox_oldest_age_seconds{{{sel}}})", "{{schema}}"),
                description="Age of the oldest unsent row at the leading relay's last round (0: the outbox is"
                " empty). D07OutboxStalled fires above 5 minutes.",
            )
        )
        .with_panel(
            graph(
                "Events published by topic",
                "ops",
                query(
                    f"sum by (topic) (rate(d07_events_published_total{{{sel}}}[{RATE}]))",
                    "{{topic}}",
                ),
            )
        )
        .with_panel(
            graph(
                "Produce errors by topic",
                "ops",
                query(
                    f"sum by (topic) (rate(d07_events_publish_errors_total{{{sel}}}[{RATE}]))",
                    "{{topic}}",
                ),
                description="Record batches the relay failed to publish (broker error or timeout): the rows"
                " stay and go out again after a backoff.",
            )
        )
        .with_row(Row("Consumers"))
        .with_panel(
            graph(
                "Events consumed by consumer, topic and outcome",
                "ops",
                query(
                    "sum by (job, consumer, topic, outcome)"
                    f" (rate(d07_events_consumed_total{{{sel}}}[{RATE}]))",
                    "{{job}}.{{consumer}} {{topic}} {{outcome}}",
                ),
            )
        )
        .with_panel(
            graph(
                "Consumer lag by group and topic",
                "none",
                query(
                    f"sum by (job, consumer, topic) (d07_consumer_lag{{{sel}}})",
                    "{{job}}.{{consumer}} {{topic}}",
                ),
                description="Messages between the group's position and the end of the topic (the group id is"
                " <service>.<consumer>), summed over the partitions.",
            )
        )
        .with_panel(
            graph(
                "Batches retried by consumer",
                "ops",
                query(
                    f"sum by (job, consumer) (rate(d07_consumer_retries_total{{{sel}}}[{RATE}]))",
                    "{{job}}.{{consumer}}",
                ),
                description="Transient failures (database, broker): the same batch again, never"
                " dead-lettered.",
            )
        )
        .with_panel(
            graph(
                "Dead letters by topic and reason",
                "none",
                query(
                    f"sum by (topic, reason) (increase(d07_events_dead_lettered_total{{{sel}}}[{RATE}]))",
                    "{{topic}} {{reason}}",
                ),
                description="Messages sent to <topic>.dlq: undecodable, no_handler, invalid_event,"
                " handler_error.",
            )
        )
    )
    return finish(d)


# ------------------------------------------------------------------------------- cameras, violations


def cameras() -> model.Dashboard:
    sel = 'platform="d07", namespace=~"$namespace", job="cameras"'
    # Each process running the cameras' periodic workers exports the same database reading: max, not sum.
    online = f"max(d07_cameras_online{{{sel}}})"
    offline = f"max(d07_cameras_offline{{{sel}}})"
    d = (
        base(
            "d07-cameras",
            "d07 cameras and violations",
            "The camera network (installed, online, offline, health transitions), the detections (received,"
            " rejected, duplicate, stored per door) and the violations (opened by kind, open and overdue by"
            " priority).",
        )
        .with_variable(
            label_variable("namespace", "namespace", 'up{platform="d07", job="cameras"}', "Namespace")
        )
        .with_row(Row("Camera network"))
        .with_panel(stat("Installed", "none", query(f"max(d07_cameras_installed{{{sel}}})")))
        .with_panel(stat("Online", "none", query(online)))
        .with_panel(stat("Offline", "none", query(offline)))
        .with_panel(
            stat(
                "Online ratio",
                "percentunit",
                query('max(d07:cameras_online:ratio{namespace=~"$namespace"})'),
            ).thresholds(ratio_thresholds(0.8, 0.9))
        )
        .with_panel(
            graph(
                "Online ratio",
                "percentunit",
                query('d07:cameras_online:ratio{namespace=~"$namespace"}', "{{namespace}}"),
                description="D07CameraOnlineRatioLow fires below 80 %, or on a fall of 10 points within an"
                " hour.",
            )
        )
        .with_panel(
            graph(
                "Health transitions",
                "none",
                query(
                    f"sum by (to) (increase(d07_camera_health_transitions_total{{{sel}}}[{RATE}]))",
                    "to {{to}}",
                ),
            )
        )
        .with_row(Row("Detections"))
        .with_panel(
            graph(
                "Detections by door",
                "ops",
                query(
                    f"sum by (door) (rate(d07_detections_received_total{{{sel}}}[{RATE}]))",
                    "received {{door}}",
                ),
                query(
                    f"sum by (door) (rate(d07_detections_stored_total{{{sel}}}[{RATE}]))", "stored {{door}}"
                ),
                query(f"sum(rate(d07_detections_duplicate_total{{{sel}}}[{RATE}]))", "duplicate"),
            )
        )
        .with_panel(
            graph(
                "Detections rejected by door and reason",
                "ops",
                query(
                    f"sum by (door, reason) (rate(d07_detections_rejected_total{{{sel}}}[{RATE}]))",
                    "{{door}} {{reason}}",
                ),
            )
        )
        .with_row(Row("Violations"))
        .with_panel(
            graph(
                "Violations opened by kind",
                "none",
                query(
                    f"sum by (kind) (increase(d07_violations_opened_total{{{sel}}}[{RATE}]))",
                    "{{kind}}",
                ),
                w=24,
            )
        )
        .with_panel(
            graph(
                "Detection to violation: p50, p95 by kind",
                "s",
                query(
                    f"histogram_quantile(0.5, sum by (kind, le)"
                    f" (rate(d07_violation_open_delay_seconds_bucket{{{sel}}}[{RATE}])))",
                    "p50 {{kind}}",
                ),
                query(
                    f"histogram_quantile(0.95, sum by (kind, le)"
                    f" (rate(d07_violation_open_delay_seconds_bucket{{{sel}}}[{RATE}])))",
                    "p95 {{kind}}",
                ),
                description="From the first detection's time to the violation's opening (the"
                " violation-freshness SLO: 99 % within 30 s).",
            )
        )
        .with_panel(
            graph(
                "Violations opened within 30 s",
                "percentunit",
                query(
                    f'sum(rate(d07_violation_open_delay_seconds_bucket{{{sel}, le="30.0"}}[{RATE}]))'
                    f" / sum(rate(d07_violation_open_delay_seconds_count{{{sel}}}[{RATE}]))",
                    "within 30 s",
                ),
            )
        )
        .with_panel(
            graph(
                "Open violations by priority",
                "none",
                query(f"max by (priority) (d07_violations_open{{{sel}}})", "{{priority}}"),
            )
        )
        .with_panel(
            graph(
                "Overdue violations by priority",
                "none",
                query(f"max by (priority) (d07_violations_overdue{{{sel}}})", "{{priority}}"),
                description="Still new past their reaction deadline (D07ViolationsOverdue).",
            )
        )
    )
    return finish(d)


# ---------------------------------------------------------------------------------------------- SLOs


def slos() -> model.Dashboard:
    sel = 'namespace=~"$namespace", job=~"$service", slo=~"$slo"'
    budget = "on (slo) group_left () (1 - slo:objective:ratio)"
    d = (
        base(
            "d07-slo",
            "d07 SLOs",
            "Error budget left over 30 days and burn rate per SLO and service, from the recording rules of"
            " deploy/monitoring/rules.py (docs/monitoring.md). A burn rate of 1 spends the budget in exactly"
            " 30 days; the alerts page at 14.4 (1h and 5m) and 6 (6h and 30m), ticket at 3 (1d and 2h) and"
            " 1 (3d and 6h).",
        )
        .with_variable(label_variable("namespace", "namespace", "slo:sli_error:ratio_rate5m", "Namespace"))
        .with_variable(
            label_variable("service", "job", 'slo:sli_error:ratio_rate5m{namespace=~"$namespace"}', "Service")
        )
        .with_variable(label_variable("slo", "slo", "slo:objective:ratio", "SLO"))
        .with_row(Row("Error budget"))
        .with_panel(
            graph(
                "Error budget left (30 days)",
                "percentunit",
                query(f"1 - slo:sli_error:ratio_rate30d{{{sel}}} / {budget}", "{{job}} {{slo}}"),
                description="1 - (bad events / all events over 30 days) / (1 - objective); below 0 the"
                " objective is missed.",
            )
        )
        .with_panel(
            graph(
                "SLI over 30 days",
                "percentunit",
                query(f"1 - slo:sli_error:ratio_rate30d{{{sel}}}", "{{job}} {{slo}}"),
                query('slo:objective:ratio{slo=~"$slo"}', "objective {{slo}}"),
            )
        )
        .with_row(Row("Burn rate"))
    )
    for long, short, factor in (("1h", "5m", 14.4), ("6h", "30m", 6), ("1d", "2h", 3), ("3d", "6h", 1)):
        d = d.with_panel(
            graph(
                f"Burn rate over {long} and {short} (alert at {factor:g})",
                "none",
                query(
                    f"slo:sli_error:ratio_rate{long}{{{sel}}} / {budget}", f"{long} {{{{job}}}} {{{{slo}}}}"
                ),
                query(
                    f"slo:sli_error:ratio_rate{short}{{{sel}}} / {budget}", f"{short} {{{{job}}}} {{{{slo}}}}"
                ),
            )
        )
    d = d.with_row(Row("Alerts")).with_panel(
        graph(
            "Burn-rate alerts firing",
            "none",
            query(
                'sum by (alertname, job, slo) (ALERTS{alertname=~"D07ErrorBudgetBurn.*", alertstate="firing",'
                f" {sel}}})",
                "{{alertname}} {{job}} {{slo}}",
            ),
            w=24,
        )
    )
    return finish(d)


# -------------------------------------------------------------------------------------------- output

DASHBOARDS: dict[str, Callable[[], model.Dashboard]] = {
    "overview": overview,
    "events": events,
    "cameras": cameras,
    "slo": slos,
}


def render(build: Callable[[], model.Dashboard]) -> str:
    return json.dumps(build(), cls=JSONEncoder, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def outputs() -> dict[Path, str]:
    files: dict[Path, str] = {}
    for name, build in DASHBOARDS.items():
        text = render(build)
        for folder in (OUT, *COPIES):
            files[folder / f"d07-{name}.json"] = text
    return files


def main(argv: list[str]) -> int:
    files = outputs()
    if "--check" in argv:
        stale = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
        known = set(files)
        extra = [p for folder in (OUT, *COPIES) for p in folder.glob("*.json") if p not in known]
        for p in stale:
            print(f"{p.relative_to(ROOT)} is not what deploy/monitoring/dashboards.py makes", file=sys.stderr)
        for p in extra:
            print(
                f"{p.relative_to(ROOT)} is no dashboard of deploy/monitoring/dashboards.py", file=sys.stderr
            )
        if stale or extra:
            print("run: make dashboards", file=sys.stderr)
            return 1
        return 0
    for folder in (OUT, *COPIES):
        folder.mkdir(parents=True, exist_ok=True)
        for p in folder.glob("*.json"):
            if p not in files:
                p.unlink()
    for path, text in files.items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
