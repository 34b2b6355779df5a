#!/usr/bin/env bash
# Render and validate every deployment combination of deploy/k8s, offline:
#   - helm lint --strict, and helm template with the default values and with each toggle (and all at once);
#   - kubectl kustomize of the base with every subset of the components, and of each overlay;
#   - each render: tools/k8s_render_check.py (the platform's rules, the CRD documents), then
#     kubernetes-validate --strict against one Kubernetes version (K8S_VERSION, default 1.30.0), which must
#     know every kind left (a "Couldn't find schema" warning fails the render);
#   - the PrometheusRule's groups: promtool check rules and promtool test rules (skipped with a note when no
#     promtool is at .tools/bin/promtool or on PATH);
#   - values the chart's schema must refuse: helm template must fail on them.
# Prints one line per combination and exits 1 when anything failed. Renders stay in .tools/k8s-check/.
# Needs .tools/bin/helm and .tools/bin/kubectl (tools/get-helm.sh) and the project venv.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
K8S_VERSION=${K8S_VERSION:-1.30.0}
TOOLS=$ROOT/.tools
OUT=$TOOLS/k8s-check
CHART=deploy/k8s/chart
export HELM_CACHE_HOME=$TOOLS/helm/cache HELM_CONFIG_HOME=$TOOLS/helm/config HELM_DATA_HOME=$TOOLS/helm/data

HELM=$TOOLS/bin/helm
KUBECTL=$TOOLS/bin/kubectl
PY=$ROOT/.venv/bin/python
VALIDATE=$ROOT/.venv/bin/kubernetes-validate
for tool in "$HELM" "$KUBECTL" "$PY" "$VALIDATE"; do
    if [[ ! -x $tool ]]; then
        echo "k8s-check: $tool is missing (run tools/get-helm.sh; make setup)" >&2
        exit 1
    fi
done
PROMTOOL=""
if [[ -x $TOOLS/bin/promtool ]]; then
    PROMTOOL=$TOOLS/bin/promtool
elif command -v promtool >/dev/null 2>&1; then
    PROMTOOL=$(command -v promtool)
fi

rm -rf "$OUT"
mkdir -p "$OUT/rendered" "$OUT/checked" "$OUT/kustomize" "$OUT/logs"
passed=0
failed=0
rules_checked=0

ok() { passed=$((passed + 1)); printf 'ok    %-44s %s\n' "$1" "$2"; }
fail() {
    failed=$((failed + 1))
    printf 'FAIL  %-44s %s\n' "$1" "$2"
    [[ -n ${3:-} && -s $3 ]] && sed 's/^/      /' "$3" | head -40
}

# check NAME: validate $OUT/rendered/NAME.yaml (already rendered).
check() {
    local name=$1 rendered=$OUT/rendered/$1.yaml prefix=$OUT/checked/$1 log=$OUT/logs/$1.log summary
    if ! summary=$("$PY" tools/k8s_render_check.py "$rendered" "$prefix" 2>"$log"); then
        fail "$name" "platform rules: $summary" "$log"
        return
    fi
    if ! "$VALIDATE" --strict --quiet -k "$K8S_VERSION" "$prefix.core.yaml" >"$log" 2>&1 \
        || grep -q "Couldn't find schema" "$log"; then
        fail "$name" "kubernetes-validate --strict -k $K8S_VERSION" "$log"
        return
    fi
    if [[ -f $prefix.rules.yaml ]]; then
        if [[ -z $PROMTOOL ]]; then
            summary="$summary; rules not checked (no promtool)"
        else
            local rdir=$OUT/checked/$1.rules
            mkdir -p "$rdir"
            cp "$prefix.rules.yaml" "$rdir/prometheus-rules.yaml"
            cp deploy/k8s/components/monitoring/rules-test.yaml "$rdir/rules-test.yaml"
            if ! "$PROMTOOL" check rules "$rdir/prometheus-rules.yaml" >"$log" 2>&1; then
                fail "$name" "promtool check rules" "$log"
                return
            fi
            if ! "$PROMTOOL" test rules "$rdir/rules-test.yaml" >"$log" 2>&1; then
                fail "$name" "promtool test rules" "$log"
                return
            fi
            rules_checked=$((rules_checked + 1))
            summary="$summary; rules checked and unit-tested"
        fi
    fi
    ok "$name" "$summary"
}

# helm_case NAME [--set ...]: lint --strict and template with these values, then check.
helm_case() {
    local name=helm-$1 log=$OUT/logs/helm-$1.log
    shift
    if ! "$HELM" lint --strict "$CHART" "$@" >"$log" 2>&1; then
        fail "$name" "helm lint --strict" "$log"
        return
    fi
    if ! "$HELM" template d07 "$CHART" --namespace d07 "$@" >"$OUT/rendered/$name.yaml" 2>"$log"; then
        fail "$name" "helm template" "$log"
        return
    fi
    check "$name"
}

# kustomize_case NAME DIR: render a kustomization directory, then check.
kustomize_case() {
    local name=$1 dir=$2 log=$OUT/logs/$1.log
    if ! "$KUBECTL" kustomize "$dir" >"$OUT/rendered/$name.yaml" 2>"$log"; then
        fail "$name" "kubectl kustomize $dir" "$log"
        return
    fi
    check "$name"
}

# must_fail NAME EXPECTED [--set ...]: helm template must refuse these values with a message holding EXPECTED
# (so a chart broken in some other way does not count as a refusal).
must_fail() {
    local name=reject-$1 expected=$2 log=$OUT/logs/reject-$1.log
    shift 2
    if "$HELM" template d07 "$CHART" "$@" >/dev/null 2>"$log"; then
        fail "$name" "helm template accepted $*"
    elif ! grep -qF -- "$expected" "$log"; then
        fail "$name" "refused, but not with: $expected" "$log"
    else
        ok "$name" "refused: $expected"
    fi
}

echo "k8s-check: $("$HELM" version --short), kubectl $("$KUBECTL" version --client -o json 2>/dev/null \
    | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])'), Kubernetes $K8S_VERSION"

# Helm: defaults, each toggle alone, everything at once.
helm_case default
helm_case split-workers --set splitWorkers=true
helm_case monitoring --set monitoring.serviceMonitor.enabled=true --set monitoring.prometheusRule.enabled=true \
    --set monitoring.dashboards.enabled=true
helm_case network-policy --set networkPolicy.enabled=true
helm_case hpa-pdb --set services.cameras.autoscaling.enabled=true --set services.cameras.pdb.enabled=true
helm_case registry-tag --set global.imageRegistry=registry.example.org --set global.imageTag=1.2.3 \
    --set env=test --set-string services.cameras.env.D07_DETECTION_BATCH=500
helm_case all-on --set splitWorkers=true --set monitoring.serviceMonitor.enabled=true \
    --set monitoring.prometheusRule.enabled=true --set monitoring.dashboards.enabled=true \
    --set monitoring.dashboards.folder=d07 --set networkPolicy.enabled=true \
    --set services.cameras.autoscaling.enabled=true --set services.cameras.pdb.enabled=true \
    --set services.registry.replicas=3

helm_case strimzi --set kafka.strimzi.enabled=true --set kafka.strimzi.createCluster=true --set splitWorkers=true
helm_case postgres-egress --set postgres.cnpg.enabled=true --set networkPolicy.enabled=true --set splitWorkers=true \
    --set services.cameras.consumeReplicas=4
helm_case keda --set splitWorkers=true --set kafka.strimzi.enabled=true \
    --set services.cameras.consumeAutoscaling.enabled=true --set services.cameras.consumeAutoscaling.maxReplicas=12 \
    --set services.cameras.consumeAutoscaling.authenticationRef=cameras-kafka
helm_case sasl-external --set kafka.securityProtocol=SASL_SSL --set services.awards.kafkaSecret=awards-kafka
helm_case digest-scheduling \
    --set services.cameras.imageDigest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef \
    --set services.cameras.nodeSelector.d07\\.io/pool=cameras --set services.cameras.replicas=3 \
    --set services.cameras.pdb.enabled=true --set-string services.cameras.pdb.maxUnavailable=34%

must_fail replicas-0 "at '/services/cameras/replicas': minimum" --set services.cameras.replicas=0
must_fail unknown-key "additional properties 'replica' not allowed" --set services.cameras.replica=2
must_fail bad-env "at '/env'" --set env=staging
must_fail bad-port "at '/services/registry/grpcPort': maximum" --set services.registry.grpcPort=70000
must_fail empty-kafka "at '/kafka/bootstrap'" --set kafka.bootstrap=
must_fail hpa-min-above-max "minReplicas is above maxReplicas" --set services.cameras.autoscaling.enabled=true \
    --set services.cameras.autoscaling.minReplicas=5 --set services.cameras.autoscaling.maxReplicas=2

must_fail pdb-max-unavailable-0 "at '/services/cameras/pdb/maxUnavailable'" --set services.cameras.replicas=3 \
    --set services.cameras.pdb.enabled=true --set services.cameras.pdb.maxUnavailable=0
must_fail pdb-single-replica "at '/services/cameras'" --set services.cameras.pdb.enabled=true
must_fail pdb-min-available "additional properties 'minAvailable' not allowed" --set services.cameras.replicas=2 \
    --set services.cameras.pdb.enabled=true --set services.cameras.pdb.minAvailable=2
must_fail keda-above-partitions "at '/services/cameras/consumeAutoscaling/maxReplicas': maximum" \
    --set splitWorkers=true --set services.cameras.consumeAutoscaling.enabled=true \
    --set services.cameras.consumeAutoscaling.maxReplicas=13
must_fail bad-digest "at '/services/cameras/imageDigest'" --set services.cameras.imageDigest=sha256:abc
must_fail topic-replicas-1 "at '/kafka/strimzi/topicReplicas'" --set kafka.strimzi.topicReplicas=1

# Kustomize: the base with every subset of the components (2^4 renders), then the overlays.
components=(split-workers hpa monitoring network-policy)
n=${#components[@]}
for ((mask = 0; mask < (1 << n); mask++)); do
    chosen=()
    for ((i = 0; i < n; i++)); do
        ((mask & (1 << i))) && chosen+=("${components[i]}")
    done
    name=kustomize-base
    ((${#chosen[@]})) && name=kustomize-$(IFS=+; echo "${chosen[*]}")
    dir=$OUT/kustomize/$name
    mkdir -p "$dir"
    {
        echo "apiVersion: kustomize.config.k8s.io/v1beta1"
        echo "kind: Kustomization"
        echo "namespace: d07"
        echo "resources:"
        echo "  - ../../../../deploy/k8s/base"
        if ((${#chosen[@]})); then
            echo "components:"
            for c in "${chosen[@]}"; do echo "  - ../../../../deploy/k8s/components/$c"; done
        fi
    } >"$dir/kustomization.yaml"
    kustomize_case "$name" "$dir"
done
# The optional Strimzi component (topics, users, SASL clients) on its own and with split workers.
for extra in "" "split-workers"; do
    name=kustomize-kafka${extra:++$extra}
    dir=$OUT/kustomize/$name
    mkdir -p "$dir"
    {
        echo "apiVersion: kustomize.config.k8s.io/v1beta1"
        echo "kind: Kustomization"
        echo "namespace: d07"
        echo "resources:"
        echo "  - ../../../../deploy/k8s/base"
        echo "components:"
        [[ -n $extra ]] && echo "  - ../../../../deploy/k8s/components/$extra"
        echo "  - ../../../../deploy/k8s/components/kafka"
    } >"$dir/kustomization.yaml"
    kustomize_case "$name" "$dir"
done
for overlay in deploy/k8s/overlays/*/; do
    overlay=${overlay%/}
    kustomize_case "kustomize-overlay-${overlay##*/}" "$overlay"
done

if [[ -z $PROMTOOL ]]; then
    echo "note: no promtool at .tools/bin/promtool or on PATH: the alert rules were not checked (tools/get-promtool.sh)"
fi
echo "k8s-check: $passed passed, $failed failed ($rules_checked renders with alert rules checked by promtool)"
((failed == 0))
