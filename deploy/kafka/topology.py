"""The platform's Kafka topology, derived from the code: who produces each topic, who consumes it, and what
the broker must hold for it (partitions, replicas, retention) and allow (one KafkaUser per service with its
ACLs).

    python deploy/kafka/topology.py            # write the chart's files/kafka.yaml and the kafka component
    python deploy/kafka/topology.py --check    # exit 1 when the shipped files differ from the code

Derived from the services (this module may import them; the platform may not):
- consumed: each service's `SPEC.consumers(...)` (its ConsumerSpec tables and batch topics) and their groups
  `<service>.<consumer name>`;
- produced: every topic literal `d07.<service>.<stream>.v<N>` in a service's own source that the service
  does not itself consume. A topic named after a service that only that service consumes is fed from outside:
  `EXTERNAL` says by whom (the camera gateway writes the JSON detections feed).

Declared here, per topic, and checked against the derived topics by tests/deploy/test_kafka_topology.py:
`STREAMS` (partitions and retention, with the reasons in deploy/README.md "Kafka").
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("registry", "assessment", "cameras", "awards", "reporting")
CHART_FILE = ROOT / "deploy" / "k8s" / "chart" / "files" / "kafka.yaml"
COMPONENT = ROOT / "deploy" / "k8s" / "components" / "kafka"
CLUSTER = "d07"  # the Strimzi Kafka cluster's name in the kustomize component (the chart: kafka.cluster)

# Topics written from outside the services: topic -> the KafkaUser that may write it (and nothing else).
EXTERNAL = {"d07.cameras.detections.v1": "camera-gateway"}

# Retention: FOREVER where a replay needs the whole history; a finite time where nothing replays it.
FOREVER = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}
WEEK_MS = 7 * 24 * 3600 * 1000
DLQ_CONFIG = {"retention.ms": str(90 * 24 * 3600 * 1000), "cleanup.policy": "delete"}
COMMON = {"min.insync.replicas": "2"}
REPLICAS = 3
DLQ_PARTITIONS = 1


@dataclass(frozen=True)
class Stream:
    """How a topic is sized and kept. `replayed`: `rebuild` (or any new consumer group, which starts at the
    first offset) needs every record, so the topic is kept forever, never compacted (events are transitions:
    compaction would keep only the last event of each key and a replay would count wrong)."""

    partitions: int
    replayed: bool = True

    def config(self) -> dict[str, str]:
        kept = FOREVER if self.replayed else {"retention.ms": str(WEEK_MS), "cleanup.policy": "delete"}
        return {**COMMON, **kept}


# Partitions bound the consumers' parallelism (one member per partition). The detections feed is the hot
# stream (every camera's sightings, thousands a second at peak): 12 partitions for up to 12 cameras consumers
# (KEDA scales on its lag). The domain streams carry human-paced changes: 3 partitions (one per broker).
STREAMS: dict[str, Stream] = {
    "d07.cameras.detections.v1": Stream(partitions=12, replayed=False),
    "d07.cameras.violations.v1": Stream(partitions=6),  # per detection that opens or joins one
    "d07.cameras.cameras.v1": Stream(partitions=3),
    "d07.cameras.plans.v1": Stream(partitions=3),
    "d07.registry.units.v1": Stream(partitions=3),
    "d07.registry.forces.v1": Stream(partitions=3),
    "d07.registry.training.v1": Stream(partitions=3),
    "d07.registry.models.v1": Stream(partitions=3),
    "d07.registry.directives.v1": Stream(partitions=3),
    "d07.assessment.assessments.v1": Stream(partitions=3),
    "d07.awards.awards.v1": Stream(partitions=3),
}

_TOPIC = re.compile(r"""["'](d07\.([a-z]+)\.[a-z_]+\.v[0-9]+)["']""")


@dataclass
class Topology:
    """topic -> owner (a service or an EXTERNAL user); topic -> {consumer service: its groups}."""

    owner: dict[str, str] = field(default_factory=dict)
    consumers: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # Topics a `rebuild` replays: those consumed by services with read models.
    rebuilt: set[str] = field(default_factory=set)

    @property
    def topics(self) -> list[str]:
        return sorted(set(self.owner) | set(self.consumers))

    def produced_by(self, service: str) -> list[str]:
        return sorted(t for t, o in self.owner.items() if o == service)

    def consumed_by(self, service: str) -> list[str]:
        return sorted(t for t, by in self.consumers.items() if service in by)

    def groups_of(self, service: str) -> list[str]:
        return sorted({g for by in self.consumers.values() for g in by.get(service, [])})


def _consumer_specs(service: str) -> tuple[list[Any], bool]:
    bootstrap = importlib.import_module(f"{service}.bootstrap")
    spec = bootstrap.SPEC
    # The consumers' factories read only the settings and what they hand to their handlers.
    deps = SimpleNamespace(settings=spec.settings(), directory=None, source=f"/d07/{service}")
    return list(spec.consumers(deps)), bool(spec.read_models)


def _literals(service: str) -> set[str]:
    src = ROOT / "services" / service / "src" / service
    found: set[str] = set()
    for path in src.rglob("*.py"):
        for m in _TOPIC.finditer(path.read_text()):
            if m.group(2) == service:
                found.add(m.group(1))
    return found


def derive() -> Topology:
    t = Topology()
    for service in SERVICES:
        specs, rebuilds = _consumer_specs(service)
        for c in specs:
            for topic in c.topics:
                t.consumers.setdefault(topic, {}).setdefault(service, []).append(f"{service}.{c.name}")
                if rebuilds:
                    t.rebuilt.add(topic)
    for service in SERVICES:
        for topic in _literals(service):
            if service in t.consumers.get(topic, {}):
                t.owner[topic] = EXTERNAL[
                    topic
                ]  # KeyError: a self-consumed topic nobody declared the writer of
            else:
                t.owner[topic] = service
    return t


# -- ACLs -----------------------------------------------------------------------------------------------

WRITE = ["Write", "Describe"]
READ = ["Read", "Describe"]
GROUP = ["Read", "Describe"]


def acls(t: Topology, user: str) -> list[dict[str, Any]]:
    """The KafkaUser ACLs of a user: write its own topics and the dead-letter topics of what it consumes, read
    what it consumes, use its consumer groups. Nothing else (no create, no wildcard)."""

    def rule(kind: str, name: str, ops: list[str]) -> dict[str, Any]:
        return {"resource": {"type": kind, "name": name, "patternType": "literal"}, "operations": ops}

    out = [rule("topic", topic, WRITE) for topic in t.produced_by(user)]
    consumed = t.consumed_by(user)
    out += [rule("topic", f"{topic}.dlq", WRITE) for topic in consumed]
    out += [rule("topic", topic, READ) for topic in consumed]
    out += [rule("group", g, GROUP) for g in t.groups_of(user)]
    return out


def users(t: Topology) -> dict[str, list[dict[str, Any]]]:
    names = [s for s in SERVICES] + sorted(set(EXTERNAL.values()))
    return {u: acls(t, u) for u in names}


# -- the shipped files ---------------------------------------------------------------------------------------


def topics_spec(t: Topology) -> list[dict[str, Any]]:
    out = []
    for topic in t.topics:
        s = STREAMS[topic]
        out.append({"name": topic, "partitions": s.partitions, "config": s.config()})
        out.append({"name": f"{topic}.dlq", "partitions": DLQ_PARTITIONS, "config": {**COMMON, **DLQ_CONFIG}})
    return out


HEADER = "# Generated by deploy/kafka/topology.py from the services' code: do not edit (make kafka).\n"


def chart_file(t: Topology) -> str:
    groups: dict[str, dict[str, list[str]]] = {}
    for topic, by in sorted(t.consumers.items()):
        for service, names in by.items():
            for g in names:
                groups.setdefault(service, {}).setdefault(g, []).append(topic)
    body = {
        "topics": topics_spec(t),
        "users": [{"name": u, "acls": a} for u, a in users(t).items()],
        # service -> consumer group -> its topics (KEDA's lag scaler).
        "groups": groups,
    }
    return HEADER + yaml.safe_dump(body, sort_keys=False)


CA_DIR = "/etc/d07/kafka-ca"


def client_patch(service: str) -> list[dict[str, Any]]:
    """A JSON patch of a service's Deployments (API and workers; the first container is the main one): the
    KafkaUser's name and its password from the Secret the User Operator makes, the cluster CA mounted."""
    c = "/spec/template/spec/containers/0"
    return [
        {"op": "add", "path": f"{c}/env/-", "value": {"name": "D07_KAFKA_SASL_USERNAME", "value": service}},
        {"op": "add", "path": f"{c}/env/-", "value": {
            "name": "D07_KAFKA_SASL_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": service, "key": "password"}}}},
        {"op": "add", "path": f"{c}/volumeMounts/-",
         "value": {"name": "kafka-ca", "mountPath": CA_DIR, "readOnly": True}},
        {"op": "add", "path": "/spec/template/spec/volumes/-", "value": {
            "name": "kafka-ca",
            "secret": {"secretName": f"{CLUSTER}-cluster-ca-cert",
                       "items": [{"key": "ca.crt", "path": "ca.crt"}]}}},
    ]  # fmt: skip


def component_files(t: Topology) -> dict[str, str]:
    labels = {"strimzi.io/cluster": CLUSTER, "app.kubernetes.io/part-of": "d07"}
    topic_docs = [
        {
            "apiVersion": "kafka.strimzi.io/v1",
            "kind": "KafkaTopic",
            "metadata": {"name": s["name"], "labels": labels},
            "spec": {"topicName": s["name"], "partitions": s["partitions"], "replicas": REPLICAS,
                     "config": s["config"]},
        }
        for s in topics_spec(t)
    ]  # fmt: skip
    user_docs = [
        {
            "apiVersion": "kafka.strimzi.io/v1",
            "kind": "KafkaUser",
            "metadata": {"name": u, "labels": labels},
            "spec": {
                "authentication": {"type": "scram-sha-512"},
                "authorization": {"type": "simple", "acls": a},
            },
        }
        for u, a in users(t).items()
    ]
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1alpha1",
        "kind": "Component",
        "resources": ["topics.yaml", "users.yaml"],
        # Every client speaks SASL SCRAM-SHA-512 over TLS to the cluster's TLS listener.
        "configMapGenerator": [
            {
                "name": "d07-config",
                "behavior": "merge",
                "literals": [
                    f"D07_KAFKA_BOOTSTRAP={CLUSTER}-kafka-bootstrap:9093",
                    "D07_KAFKA_SECURITY_PROTOCOL=SASL_SSL",
                    "D07_KAFKA_SASL_MECHANISM=SCRAM-SHA-512",
                    f"D07_KAFKA_SSL_CAFILE={CA_DIR}/ca.crt",
                ],
            }
        ],
        "patches": [
            {"target": {"kind": "Deployment", "labelSelector": f"app.kubernetes.io/name={s}"},
             "patch": yaml.safe_dump(client_patch(s), sort_keys=False)}
            for s in SERVICES
        ],
    }  # fmt: skip
    return {
        "topics.yaml": HEADER + yaml.safe_dump_all(topic_docs, sort_keys=False),
        "users.yaml": HEADER + yaml.safe_dump_all(user_docs, sort_keys=False),
        "kustomization.yaml": HEADER + yaml.safe_dump(kustomization, sort_keys=False),
    }


def outputs() -> dict[Path, str]:
    t = derive()
    files = {CHART_FILE: chart_file(t)}
    files.update({COMPONENT / name: text for name, text in component_files(t).items()})
    return files


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail when a shipped file differs")
    args = parser.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print(f"stale (run `make kafka`): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
