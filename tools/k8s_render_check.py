"""Check one rendered set of Kubernetes manifests beyond what the API schemas say.

`tools/k8s-check.sh` renders every Helm and kustomize combination and calls this on each file:

    python tools/k8s_render_check.py RENDERED.yaml OUT_PREFIX

It writes OUT_PREFIX.core.yaml (the documents whose kinds the Kubernetes schemas know, for
`kubernetes-validate --strict`) and, when the render holds a PrometheusRule, OUT_PREFIX.rules.yaml (its rule
groups, for `promtool`). Documents of the Prometheus Operator CRDs (ServiceMonitor, PodMonitor,
PrometheusRule; Strimzi's Kafka, KafkaNodePool, KafkaTopic, KafkaUser; CloudNativePG's Cluster, Database;
KEDA's ScaledObject) have no schema in kubernetes-validate, which would only warn about them, so they are
taken out and checked here: every one against its CRD's own schema (the copies in ../shared/schemas/crds,
when that folder is there), the ServiceMonitor must select Services of the render by a port they have, a
PodMonitor must scrape a port its pods have, and the PrometheusRule must hold exactly the groups of
deploy/k8s/chart/files/prometheus-rules.yaml.

It also holds the platform's own rules: every Deployment is hardened (non-root uid 10001, read-only root
fs, no capabilities, no privilege escalation, RuntimeDefault seccomp, requests and limits), every container
has a liveness and a readiness probe, every API Deployment has a native gRPC readiness probe on its gRPC port
and an HTTP /healthz liveness probe, every worker Deployment (relay, consume) its service's HTTP port with
/healthz liveness and /readyz readiness, name = label = image, and every ConfigMap, ServiceAccount, Service
selector and autoscaler target resolves inside the render. Every process is scraped: when the render holds
ServiceMonitors or PodMonitors, each Deployment's pods are selected by one of them (through their Service for
a ServiceMonitor) on a port they have; a render without any carries prometheus.io/scrape annotations on every
pod, naming its HTTP port. It prints one line (kinds and counts) and exits 1 with the problems when any rule
fails.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parent.parent
RULES_SOURCE = ROOT / "deploy" / "k8s" / "chart" / "files" / "prometheus-rules.yaml"
CRDS = ROOT.parent / "shared" / "schemas" / "crds"
WORKER_ROLES = ("relay", "consume")
MONITORS = ("ServiceMonitor", "PodMonitor")
SERVICES = {"registry": 1, "assessment": 2, "cameras": 3, "awards": 4, "reporting": 5}
CRD_GROUPS = ("monitoring.coreos.com/", "kafka.strimzi.io/", "postgresql.cnpg.io/", "keda.sh/")
UID = 10001
SECRET_ENV = ("D07_DATABASE_URL", "D07_MIGRATOR_DATABASE_URL", "D07_SERVICE_TOKEN", "D07_KAFKA_SASL_PASSWORD")

Doc = dict[str, Any]


def load(path: Path) -> list[Doc]:
    with path.open() as fh:
        return [d for d in yaml.safe_load_all(fh) if d]


def name_of(doc: Doc) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def check_container(where: str, c: Doc, problems: list[str]) -> None:
    sc = c.get("securityContext") or {}
    if sc.get("allowPrivilegeEscalation") is not False:
        problems.append(f"{where}: allowPrivilegeEscalation is not false")
    if sc.get("readOnlyRootFilesystem") is not True:
        problems.append(f"{where}: readOnlyRootFilesystem is not true")
    if "ALL" not in (sc.get("capabilities") or {}).get("drop", []):
        problems.append(f"{where}: capabilities do not drop ALL")
    res = c.get("resources") or {}
    for part in ("requests", "limits"):
        for key in ("cpu", "memory"):
            if key not in (res.get(part) or {}):
                problems.append(f"{where}: no resources.{part}.{key}")


def check_deployment(doc: Doc, names: dict[str, set[str]], problems: list[str]) -> None:
    where = name_of(doc)
    meta_labels = doc["metadata"].get("labels", {})
    pod = doc["spec"]["template"]["spec"]
    app = meta_labels.get("app.kubernetes.io/name")
    component = meta_labels.get("app.kubernetes.io/component")
    if app not in SERVICES:
        problems.append(f"{where}: label app.kubernetes.io/name={app!r} is not a d07 service")
        return
    psc = pod.get("securityContext") or {}
    if psc.get("runAsNonRoot") is not True or psc.get("runAsUser") != UID:
        problems.append(f"{where}: pod does not run as non-root uid {UID}")
    if (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        problems.append(f"{where}: seccompProfile is not RuntimeDefault")
    if pod.get("serviceAccountName") not in names["ServiceAccount"]:
        problems.append(f"{where}: ServiceAccount {pod.get('serviceAccountName')!r} is not in the render")
    containers = pod.get("containers", []) + pod.get("initContainers", [])
    for c in containers:
        cwhere = f"{where}[{c['name']}]"
        check_container(cwhere, c, problems)
        image = c.get("image", "")
        repo = image.split("@", 1)[0] if "@" in image else image.rsplit(":", 1)[0]
        if repo.rsplit("/", 2)[-2:] != ["d07", app]:
            problems.append(f"{cwhere}: image {image!r} is not d07/{app}")
        for ref in c.get("envFrom", []):
            cm = (ref.get("configMapRef") or {}).get("name")
            if cm is not None and cm not in names["ConfigMap"]:
                problems.append(f"{cwhere}: ConfigMap {cm!r} is not in the render")
        for env in c.get("env", []):
            if env["name"] in SECRET_ENV and "secretKeyRef" not in (env.get("valueFrom") or {}):
                problems.append(f"{cwhere}: {env['name']} does not come from a Secret")
    for c in pod.get("containers", []):
        for probe in ("livenessProbe", "readinessProbe"):
            if not c.get(probe):
                problems.append(f"{where}[{c['name']}]: no {probe}")
    if component in WORKER_ROLES:
        check_worker(doc, app, component, problems)
        return
    if component != "server":
        problems.append(f"{where}: component {component!r} is not server, relay or consume")
        return
    if doc["metadata"]["name"] != app:
        problems.append(f"{where}: the API Deployment is not named after its label {app!r}")
    main = next((c for c in pod["containers"] if c["name"] == app), None)
    if main is None:
        problems.append(f"{where}: no container named {app}")
        return
    grpc_port = 50050 + SERVICES[app]
    probe = (main.get("readinessProbe") or {}).get("grpc") or {}
    if probe.get("port") != grpc_port or probe.get("service") != f"d07.{app}.v1.{app.title()}Service":
        problems.append(
            f"{where}: readiness is not a gRPC probe of d07.{app}.v1.{app.title()}Service:{grpc_port}"
        )
    if ((main.get("livenessProbe") or {}).get("httpGet") or {}).get("path") != "/healthz":
        problems.append(f"{where}: liveness is not HTTP /healthz")
    ports = {p["name"]: p["containerPort"] for p in main.get("ports", [])}
    if ports != {"http": 8000 + SERVICES[app], "grpc": grpc_port}:
        problems.append(f"{where}: ports {ports} are not http {8000 + SERVICES[app]}, grpc {grpc_port}")
    if main.get("args") != ["serve"]:
        problems.append(f"{where}: the API container does not run `serve`")
    if not any(c.get("args") == ["migrate"] for c in pod.get("initContainers", [])):
        problems.append(f"{where}: no migrate initContainer")


def check_worker(doc: Doc, app: str, role: str, problems: list[str]) -> None:
    """A relay or consume Deployment: serves /healthz, /readyz and /metrics on its service's HTTP port."""
    where = name_of(doc)
    pod = doc["spec"]["template"]["spec"]
    http_port = 8000 + SERVICES[app]
    if doc["metadata"]["name"] != f"{app}-{role}":
        problems.append(f"{where}: the {role} Deployment is not named {app}-{role}")
    main = next((c for c in pod["containers"] if c["name"] == role), None)
    if main is None:
        problems.append(f"{where}: no container named {role}")
        return
    if main.get("args") != [role]:
        problems.append(f"{where}: the container does not run `{role}`")
    ports = {p["name"]: p["containerPort"] for p in main.get("ports", [])}
    if ports != {"http": http_port}:
        problems.append(f"{where}: ports {ports} are not http {http_port}")
    env = {e["name"]: e.get("value") for e in main.get("env", [])}
    if env.get("D07_HTTP_PORT") != str(http_port):
        problems.append(f"{where}: D07_HTTP_PORT is not {http_port}")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = (main.get(probe) or {}).get("httpGet") or {}
        if get.get("path") != path or get.get("port") not in ("http", http_port):
            problems.append(f"{where}: {probe} is not HTTP {path} on the http port")


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def selects_full(selector: Doc, labels: dict[str, str]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions); an empty one selects nothing here."""
    match = selector.get("matchLabels") or {}
    exprs = selector.get("matchExpressions") or []
    if not match and not exprs:
        return False
    if not all(labels.get(k) == v for k, v in match.items()):
        return False
    for e in exprs:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }.get(op, False)
        if not ok:
            return False
    return True


def container_ports(deployment: Doc) -> dict[str, int]:
    pod = deployment["spec"]["template"]["spec"]
    ports = [p for c in pod["containers"] for p in c.get("ports", [])]
    return {p["name"]: p["containerPort"] for p in ports if "name" in p}


def check_scraped(docs: list[Doc], deployments: list[Doc], services: list[Doc], problems: list[str]) -> None:
    """Every Deployment's pods are scraped: by a ServiceMonitor or PodMonitor when the render has any, else
    by the prometheus.io annotations."""
    monitors = [d for d in docs if d.get("kind") in MONITORS]
    for dep in deployments:
        where = name_of(dep)
        labels = dep["spec"]["template"]["metadata"].get("labels", {})
        ports = container_ports(dep)
        if not monitors:
            notes = dep["spec"]["template"]["metadata"].get("annotations") or {}
            if notes.get("prometheus.io/scrape") != "true":
                problems.append(f"{where}: not scraped (no monitor in the render, no prometheus.io/scrape)")
            elif str(ports.get("http")) != notes.get("prometheus.io/port"):
                problems.append(f"{where}: prometheus.io/port is not its http port {ports.get('http')}")
            continue
        scraped = False
        for m in monitors:
            if m["kind"] == "PodMonitor":
                if selects_full(m["spec"].get("selector", {}), labels):
                    for ep in m["spec"].get("podMetricsEndpoints", []):
                        if ep.get("port") in ports:
                            scraped = True
                        else:
                            problems.append(f"{name_of(m)}: port {ep.get('port')!r} is not a port of {where}")
                continue
            for svc in services:
                if not selects(svc["spec"].get("selector", {}), labels):
                    continue
                if not selects_full(m["spec"].get("selector", {}), svc["metadata"].get("labels", {})):
                    continue
                svc_ports = {p.get("name"): p.get("targetPort") for p in svc["spec"]["ports"]}
                for ep in m["spec"].get("endpoints", []):
                    target = svc_ports.get(ep.get("port"))
                    if target in ports or target in ports.values():
                        scraped = True
        if not scraped:
            problems.append(f"{where}: no ServiceMonitor or PodMonitor of the render scrapes it")


_CRD_SCHEMAS: dict[tuple[str, str], Doc] = {}


def crd_schema(api_version: str, kind: str) -> Doc | None:
    """The openAPIV3Schema of a kind from the CRD copies in ../shared/schemas/crds (None: not there)."""
    if not _CRD_SCHEMAS and CRDS.is_dir():
        for path in sorted(CRDS.glob("*.yaml")):
            for crd in load(path):
                if crd.get("kind") != "CustomResourceDefinition":
                    continue
                group = crd["spec"]["group"]
                for v in crd["spec"]["versions"]:
                    key = (f"{group}/{v['name']}", crd["spec"]["names"]["kind"])
                    _CRD_SCHEMAS[key] = v["schema"]["openAPIV3Schema"]
    return _CRD_SCHEMAS.get((api_version, kind))


def check_custom_resource(doc: Doc, problems: list[str]) -> None:
    schema = crd_schema(doc["apiVersion"], doc["kind"])
    if schema is None:
        if CRDS.is_dir():
            problems.append(f"{name_of(doc)}: no CRD of {doc['apiVersion']} {doc['kind']} in {CRDS}")
        return
    for error in jsonschema.Draft7Validator(schema).iter_errors(doc):
        path = "/".join(str(p) for p in error.absolute_path)
        problems.append(f"{name_of(doc)}: CRD schema: at {path or '/'}: {error.message}")


def check(docs: list[Doc]) -> list[str]:
    problems: list[str] = []
    names: dict[str, set[str]] = {}
    for d in docs:
        names.setdefault(d.get("kind", "?"), set()).add(d.get("metadata", {}).get("name", "?"))
    for kind in ("ConfigMap", "ServiceAccount", "Deployment", "Service"):
        names.setdefault(kind, set())
    deployments = [d for d in docs if d.get("kind") == "Deployment"]
    services = [d for d in docs if d.get("kind") == "Service"]
    for d in deployments:
        check_deployment(d, names, problems)
    servers = {
        d["metadata"]["name"]
        for d in deployments
        if d["metadata"]["labels"].get("app.kubernetes.io/component") == "server"
    }
    if servers != set(SERVICES):
        problems.append(f"API Deployments are {sorted(servers)}, expected {sorted(SERVICES)}")
    for s in services:
        pods = [
            d
            for d in deployments
            if selects(s["spec"].get("selector", {}), d["spec"]["template"]["metadata"]["labels"])
        ]
        if [d["metadata"]["name"] for d in pods] != [s["metadata"]["name"]]:
            problems.append(
                f"{name_of(s)}: selects {[d['metadata']['name'] for d in pods]}, not exactly its Deployment"
            )
    for hpa in (d for d in docs if d.get("kind") in ("HorizontalPodAutoscaler", "ScaledObject")):
        target = hpa["spec"]["scaleTargetRef"]["name"]
        if target not in names["Deployment"]:
            problems.append(f"{name_of(hpa)}: target Deployment {target!r} is not in the render")
        elif any(d["metadata"]["name"] == target and "replicas" in d["spec"] for d in deployments):
            problems.append(
                f"{name_of(hpa)}: Deployment {target} still sets replicas (apply would fight the autoscaler)"
            )
    for sm in (d for d in docs if d.get("kind") == "ServiceMonitor"):
        matched = [
            s
            for s in services
            if selects(sm["spec"]["selector"].get("matchLabels", {}), s["metadata"].get("labels", {}))
        ]
        if {s["metadata"]["name"] for s in matched} != set(SERVICES):
            problems.append(
                f"{name_of(sm)}: selects Services {sorted(s['metadata']['name'] for s in matched)}"
            )
        for ep in sm["spec"]["endpoints"]:
            for s in matched:
                if ep.get("port") not in {p.get("name") for p in s["spec"]["ports"]}:
                    problems.append(f"{name_of(sm)}: port {ep.get('port')!r} is not a port of {name_of(s)}")
    check_scraped(docs, deployments, services, problems)
    for cr in (d for d in docs if str(d.get("apiVersion", "")).startswith(CRD_GROUPS)):
        check_custom_resource(cr, problems)
    for rule in (d for d in docs if d.get("kind") == "PrometheusRule"):
        if rule["spec"] != yaml.safe_load(RULES_SOURCE.read_text()):
            problems.append(f"{name_of(rule)}: groups differ from {RULES_SOURCE.relative_to(ROOT)}")
    return problems


def main(argv: list[str]) -> int:
    rendered, prefix = Path(argv[1]), argv[2]
    docs = load(rendered)
    core = [d for d in docs if not str(d.get("apiVersion", "")).startswith(CRD_GROUPS)]
    Path(f"{prefix}.core.yaml").write_text(yaml.safe_dump_all(core, sort_keys=False))
    rules = [d for d in docs if d.get("kind") == "PrometheusRule"]
    rules_file = Path(f"{prefix}.rules.yaml")
    rules_file.unlink(missing_ok=True)
    if rules:
        rules_file.write_text(
            yaml.safe_dump({"groups": [g for r in rules for g in r["spec"]["groups"]]}, sort_keys=False)
        )
    problems = check(docs)
    counts = Counter(d.get("kind", "?") for d in docs)
    print(", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    for p in problems:
        print(f"  problem: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
