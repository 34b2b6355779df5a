"""One produce/consume table (deploy/kafka/topology.py, derived from the services' code) and what the
deployment declares from it: a KafkaTopic for every topic the code produces or consumes and its .dlq, sized
and kept as the rebuild needs, and one KafkaUser per service (and the camera gateway) whose ACLs are exactly
those the table implies. Renders with the real helm and kubectl (tools/get-helm.sh)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".tools"
HELM_ENV = {
    "HELM_CACHE_HOME": str(TOOLS / "helm" / "cache"),
    "HELM_CONFIG_HOME": str(TOOLS / "helm" / "config"),
    "HELM_DATA_HOME": str(TOOLS / "helm" / "data"),
}
SERVICES = ("registry", "assessment", "cameras", "awards", "reporting")


def _topology() -> Any:
    spec = importlib.util.spec_from_file_location("d07_topology", ROOT / "deploy" / "kafka" / "topology.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["d07_topology"] = module
    spec.loader.exec_module(module)
    return module


topology = _topology()


@pytest.fixture(scope="module")
def table() -> Any:
    return topology.derive()


def _docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


@pytest.fixture(scope="module")
def renders() -> dict[str, list[dict[str, Any]]]:
    if not (TOOLS / "bin" / "helm").exists():
        subprocess.run(["bash", "tools/get-helm.sh"], cwd=ROOT, check=True, timeout=300)
    helm = subprocess.run(
        [str(TOOLS / "bin" / "helm"), "template", "d07", "deploy/k8s/chart", "--namespace", "d07",
         "--set", "kafka.strimzi.enabled=true", "--set", "splitWorkers=true"],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, **HELM_ENV}, timeout=120, check=True,
    )  # fmt: skip
    kustomization = ROOT / ".tools" / "kafka-topology-test"
    kustomization.mkdir(parents=True, exist_ok=True)
    (kustomization / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: d07\n"
        "resources: [../../deploy/k8s/base]\n"
        "components: [../../deploy/k8s/components/split-workers, ../../deploy/k8s/components/kafka]\n"
    )
    kustomize = subprocess.run(
        [str(TOOLS / "bin" / "kubectl"), "kustomize", str(kustomization)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return {"helm": _docs(helm.stdout), "kustomize": _docs(kustomize.stdout)}


def test_the_table_is_what_the_services_produce_and_consume(table: Any) -> None:
    """Spot checks of the derivation against what the services' code says (each service's README)."""
    assert table.produced_by("registry") == [
        "d07.registry.directives.v1", "d07.registry.forces.v1", "d07.registry.models.v1",
        "d07.registry.training.v1", "d07.registry.units.v1",
    ]  # fmt: skip
    assert table.produced_by("reporting") == []
    assert table.owner["d07.cameras.detections.v1"] == "camera-gateway"
    assert table.consumed_by("cameras") == ["d07.cameras.detections.v1"]
    assert set(table.consumers["d07.assessment.assessments.v1"]) == {"awards", "reporting"}
    assert table.groups_of("assessment") == ["assessment.derived", "assessment.registry"]
    assert len(table.topics) == 11
    # Every topic has one writer; every consumed topic is produced by someone.
    assert set(table.consumers) <= set(table.owner)


def test_the_generated_files_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, "deploy/kafka/topology.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_declared_topics_equal_the_topics_of_the_code(
    table: Any, renders: dict[str, list[dict[str, Any]]]
) -> None:
    expected = set(table.topics) | {f"{t}.dlq" for t in table.topics}
    assert set(topology.STREAMS) == set(table.topics), "a topic without sizing, or sizing of a dead topic"
    for name, docs in renders.items():
        topics = {d["spec"]["topicName"]: d for d in docs if d["kind"] == "KafkaTopic"}
        assert set(topics) == expected, name
        for topic, d in topics.items():
            assert d["spec"]["replicas"] == 3, (name, topic)
            assert d["spec"]["config"]["min.insync.replicas"] == "2", (name, topic)
            assert d["metadata"]["labels"]["strimzi.io/cluster"] == "d07", (name, topic)
        # The rebuild replays these from their first offset: kept forever, never compacted.
        assert table.rebuilt >= {"d07.assessment.assessments.v1", "d07.cameras.violations.v1"}
        for topic in table.rebuilt:
            config = topics[topic]["spec"]["config"]
            assert config["retention.ms"] == "-1", (name, topic)
            assert config["cleanup.policy"] == "delete", (name, topic)
        assert topics["d07.cameras.detections.v1"]["spec"]["partitions"] == 12, name


def _expected_acls(table: Any, user: str) -> set[tuple[str, str, str]]:
    """Written out from the table here, apart from the generator: write own topics and the .dlq of consumed
    ones, read consumed ones, its groups; Describe beside Read and Write (clients fetch metadata)."""
    out: set[tuple[str, str, str]] = set()
    for topic, owner in table.owner.items():
        if owner == user:
            out |= {("topic", topic, "Write"), ("topic", topic, "Describe")}
    for topic, by in table.consumers.items():
        if user in by:
            out |= {("topic", topic, "Read"), ("topic", topic, "Describe")}
            out |= {("topic", f"{topic}.dlq", "Write"), ("topic", f"{topic}.dlq", "Describe")}
            for group in by[user]:
                out |= {("group", group, "Read"), ("group", group, "Describe")}
    return out


def _rendered_acls(user: dict[str, Any]) -> set[tuple[str, str, str]]:
    out: set[tuple[str, str, str]] = set()
    for acl in user["spec"]["authorization"]["acls"]:
        assert acl["resource"].get("patternType", "literal") == "literal", acl
        assert acl.get("type", "allow") == "allow", acl
        for op in acl["operations"]:
            out.add((acl["resource"]["type"], acl["resource"]["name"], op))
    return out


def test_rendered_acls_equal_the_acls_derived_from_the_table(
    table: Any, renders: dict[str, list[dict[str, Any]]]
) -> None:
    for name, docs in renders.items():
        users = {d["metadata"]["name"]: d for d in docs if d["kind"] == "KafkaUser"}
        assert set(users) == {*SERVICES, "camera-gateway"}, name
        for user, doc in users.items():
            assert doc["spec"]["authentication"] == {"type": "scram-sha-512"}, (name, user)
            assert _rendered_acls(doc) == _expected_acls(table, user), (name, user)
        assert _rendered_acls(users["camera-gateway"]) == {
            ("topic", "d07.cameras.detections.v1", "Write"),
            ("topic", "d07.cameras.detections.v1", "Describe"),
        }  # fmt: skip
        # Reporting writes nothing but the dead letters of what it reads.
        assert all(n.endswith(".dlq") for k, n, op in _rendered_acls(users["reporting"]) if op == "Write")


def test_every_client_authenticates_as_its_service(renders: dict[str, list[dict[str, Any]]]) -> None:
    for name, docs in renders.items():
        (config,) = (
            d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("d07-config")
        )
        assert config["data"]["D07_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL", name
        assert config["data"]["D07_KAFKA_BOOTSTRAP"] == "d07-kafka-bootstrap:9093", name
        for dep in (d for d in docs if d["kind"] == "Deployment"):
            service = dep["metadata"]["labels"]["app.kubernetes.io/name"]
            pod = dep["spec"]["template"]["spec"]
            main = pod["containers"][0]
            env = {e["name"]: e for e in main["env"]}
            assert env["D07_KAFKA_SASL_USERNAME"]["value"] == service, (name, dep["metadata"]["name"])
            assert env["D07_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
                "name": service, "key": "password"
            }, (name, dep["metadata"]["name"])  # fmt: skip
            assert {"name": "kafka-ca", "mountPath": "/etc/d07/kafka-ca", "readOnly": True} in main[
                "volumeMounts"
            ]
            (ca,) = (v for v in pod["volumes"] if v["name"] == "kafka-ca")
            assert ca["secret"]["secretName"] == "d07-cluster-ca-cert", name
