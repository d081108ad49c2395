# kubedrift developer entry points. `make check` is the inner loop (no Go, no root, no cluster);
# `make test` and `make demo` set up everything they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
CONTROLPLANE_BUILD := tests/controlplane/build.sh
# Real model servers for tests/servers, each in its own virtualenv (see the requirements files).
MLSERVER_VENV := .venv-mlserver
MLSERVER_STAMP := $(MLSERVER_VENV)/.installed-$(shell cat tests/servers/mlserver-requirements.txt | sha256sum | cut -c1-12)
KSERVE_VENV := .venv-kserve
KSERVE_STAMP := $(KSERVE_VENV)/.installed-$(shell cat tests/servers/kserve-requirements.txt | sha256sum | cut -c1-12)
NODE ?= standin
NODE_PACKAGES := containerd runc containernetworking-plugins iptables buildah mmdebstrap catatonit

.PHONY: help check venv servers controlplane tools helm promtool prerequisites go-builds host-builds node-packages node-binaries node-images node-test kserve-agent lint typecheck unit integration test chaos demo bench cluster-up cluster-down crds clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@rm -f $(VENV)/.installed-*; touch $@

venv: $(STAMP) ## create or reuse the virtualenv with the project and its test tools

$(MLSERVER_STAMP): tests/servers/mlserver-requirements.txt
	@test -x $(MLSERVER_VENV)/bin/python || $(PYTHON) -m venv $(MLSERVER_VENV)
	$(MLSERVER_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MLSERVER_VENV)/bin/python -m pip install --quiet -r tests/servers/mlserver-requirements.txt
	@rm -f $(MLSERVER_VENV)/.installed-*; touch $@

$(KSERVE_STAMP): tests/servers/kserve-requirements.txt
	@test -x $(KSERVE_VENV)/bin/python || $(PYTHON) -m venv $(KSERVE_VENV)
	$(KSERVE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(KSERVE_VENV)/bin/python -m pip install --quiet -r tests/servers/kserve-requirements.txt
	@rm -f $(KSERVE_VENV)/.installed-*; touch $@

servers: $(MLSERVER_STAMP) $(KSERVE_STAMP) ## virtualenvs with the real model servers the tests run (MLServer, KServe)

tools: helm promtool ## helm (built from the Go module proxy, cached) and promtool (Debian package prometheus)

helm:
	@bash tests/tools/build.sh >/dev/null

promtool:
	@command -v promtool >/dev/null || { \
	  echo "installing promtool (apt-get install prometheus)"; \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }

node-packages: ## Debian packages a real node needs (containerd, runc, CNI plugins, iptables, buildah...)
	@missing=$$(for p in $(NODE_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done | xargs); \
	test -z "$$missing" || { \
	  echo "installing $$missing (apt-get install)"; \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; }

node-binaries: ## build (or reuse from ~/.cache/kubedrift) kubelet, kube-proxy and CoreDNS
	@bash tests/node/build.sh >/dev/null

node-images: node-packages ## build (or reuse) the pause, Debian Python base and project images (OCI archives)
	@bash tests/node/images.sh >/dev/null

controlplane: ## build (or reuse from ~/.cache/kubedrift) etcd, kube-apiserver, KCM, scheduler, kubectl
	@bash $(CONTROLPLANE_BUILD) >/dev/null

kserve-agent: ## build (or reuse from ~/.cache/kubedrift) KServe's logger agent and copy its InferenceService CRD
	@bash tests/kserve_agent/build.sh >/dev/null

# Everything make test needs, the independent builds side by side (`make -j4`, whatever -j the
# caller gave) in three lanes plus the virtualenvs:
#   go-builds    the Go builds, one after the other (each already uses every core): the control
#                plane, KServe's agent, the node's binaries, helm;
#   host-builds  the two apt-get users, one after the other (one dpkg lock): the node's packages,
#                promtool; then the node's images (downloads and unpacking: mmdebstrap, pip in
#                the image build), which need the packages (buildah, mmdebstrap);
#   venv and the servers' virtualenvs (pip: downloads), each on its own.
# A lane makes its parts one at a time, even under the caller's -j. Each part is cached as before,
# so a warm run only checks the caches.
prerequisites: ## build or reuse everything make test needs, the independent builds concurrently
	@$(MAKE) --no-print-directory -j4 venv servers go-builds host-builds

go-builds:
	@for part in controlplane kserve-agent node-binaries helm; do $(MAKE) --no-print-directory $$part || exit 1; done

host-builds:
	@for part in node-packages promtool node-images; do $(MAKE) --no-print-directory $$part || exit 1; done

# The real node's tests run in a pytest invocation of their own, after the other tests: one real
# node per machine (it takes a machine-wide lock and owns the host's KUBE-* iptables chains), and
# every other integration test runs on the stand-in node of its own session's control plane.
# The backstop timeout is longer: a real node starts within the first test of a module.
REALNODE_PYTEST = $(PY) -m pytest -q -m realnode tests/realnode --timeout 3600

# Tests that need nothing outside the project venv: no helm/promtool (tools), no model-server
# venvs, no control plane. The run ends with the number of tests it left out.
CHECK_TESTS := not integration and not chaos and not realnode and not tools

check: venv ## inner loop, under a minute: ruff, format, import contracts, mypy, the unit tests that need no tools
	$(VENV)/bin/ruff check operator dev tests bench
	$(VENV)/bin/ruff format --check operator dev tests bench
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PY) -m pytest -q -n auto -m '$(CHECK_TESTS)' --timeout 300

lint: venv ## ruff and the import-linter contracts (layers, forbidden imports)
	$(VENV)/bin/ruff check operator dev tests bench
	$(VENV)/bin/ruff format --check operator dev tests bench
	$(VENV)/bin/lint-imports

typecheck: venv ## mypy --strict on the package, the tests and bench (pyproject.toml)
	$(VENV)/bin/mypy

unit: venv tools servers ## unit tests only (no cluster), including those that need tools
	$(PY) -m pytest -m 'not integration and not chaos and not realnode' -q

integration: prerequisites ## integration tests against a real control plane, then those on a real node
	$(PY) -m pytest -m 'integration and not chaos and not realnode' -q
	$(REALNODE_PYTEST)

test: prerequisites lint typecheck ## lint, types, unit and integration tests, then the real node's (CI also runs chaos)
	$(PY) -m pytest -q -m 'not chaos and not realnode'
	$(REALNODE_PYTEST)

node-test: venv controlplane tools node-binaries node-images ## only the real node's tests (kubelet, containerd, kube-proxy, CoreDNS run the project image)
	$(REALNODE_PYTEST)

chaos: venv controlplane ## fault-injection and load tests (README: Reliability); prints the figures
	$(PY) -m pytest -q -s -m chaos tests/reliability tests/integration/reliability --timeout 1800  # load tests run long

cluster-up: venv controlplane ## start a local control plane in the background (.dev-cluster/kubeconfig); NODE=real for a real node
	@if test "$(NODE)" = real; then $(MAKE) --no-print-directory node-packages node-binaries node-images; fi
	$(PY) -m kubedrift_dev dev-cluster up --dir .dev-cluster --node $(NODE)

cluster-down: ## stop the local control plane started by cluster-up
	@if test -x $(PY); then $(PY) -m kubedrift_dev dev-cluster down --dir .dev-cluster; fi

crds: venv ## regenerate crds/ (and the chart's copy) and docs/modelmonitor.md from the API types
	$(PY) -m kubedrift.api.crd --write crds/
	rm -f charts/kubedrift/crds/*.yaml && cp crds/*.yaml charts/kubedrift/crds/
	$(PY) -m kubedrift.api.field_reference --write docs/modelmonitor.md

demo: venv controlplane ## the whole loop: train, deploy, drift, alert, retrain, roll out; NODE=real on a real node
	@if test "$(NODE)" = real; then $(MAKE) --no-print-directory node-packages node-binaries node-images tools; fi
	$(PY) -m kubedrift_dev demo --node $(NODE)

bench: venv controlplane ## benchmarks, printed as ratios against peers measured in the same run
	-$(PY) -m pip install --quiet -e '.[test,bench]'  # a peer that cannot install is reported skipped
	$(PY) -m bench

clean: ## remove the virtualenv and caches (not the control-plane binary cache)
	rm -rf $(VENV) $(MLSERVER_VENV) $(KSERVE_VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis .dev-cluster .kubedrift-demo kubedrift-demo.png
