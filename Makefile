# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
SANDBOX_DIR ?= .sandbox
BIN := $(VENV)/bin
RECONCILER := $(BIN)/reconciler
EXAMPLES ?= manifests/examples

.PHONY: demo test lint typecheck sandbox-up sandbox-down bench schemas clean campaigns constraints

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Every install takes its versions from the committed constraints file (pip's -c, as
# OpenStack's upper-constraints.txt): a new release of Glance, Keystone, openstacksdk or
# pydantic cannot turn a green main red overnight. pyproject.toml keeps open ranges for
# users; `make constraints` refreshes the file (tests/unit/test_constraints.py checks the
# two agree).
CONSTRAINTS ?= constraints.txt
PIP_INSTALL := $(BIN)/pip install -q -c $(CONSTRAINTS)

$(VENV)/.installed-sandbox: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP_INSTALL) -e '.[sandbox]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(CONSTRAINTS) $(VENV)/.installed-sandbox
	$(PIP_INSTALL) -e '.[sandbox,dev]'
	touch $@

# The newest releases pyproject.toml allows, in a venv of their own, frozen into
# $(CONSTRAINTS); then `make test` (or .ci/run) says whether main may take them.
CONSTRAINTS_VENV ?= .venv-constraints
constraints:
	rm -rf $(CONSTRAINTS_VENV)
	$(PYTHON) -m venv $(CONSTRAINTS_VENV)
	$(CONSTRAINTS_VENV)/bin/pip install -q '.[sandbox,dev]'
	{ sed -n '/^#/p' $(CONSTRAINTS); \
	  $(CONSTRAINTS_VENV)/bin/pip freeze --exclude-editable | grep -iv '^glance-reconciler' | sort -f; \
	} > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	rm -rf $(CONSTRAINTS_VENV)
	@echo "constraints: $$(grep -c '==' $(CONSTRAINTS)) pins in $(CONSTRAINTS); run make test before committing"

sandbox-up: $(VENV)/.installed-sandbox
	$(RECONCILER) sandbox up --dir $(SANDBOX_DIR)

sandbox-down:
	-$(RECONCILER) sandbox down --dir $(SANDBOX_DIR)
	-for dir in $(SANDBOX_DIR)-gw*; do [ -d "$$dir" ] && $(RECONCILER) sandbox down --dir "$$dir"; done
	-for dir in .sandbox-stores .sandbox-stores-gw*; do [ -d "$$dir" ] && $(RECONCILER) sandbox down --dir "$$dir"; done

demo: sandbox-up
	RECONCILER_SANDBOX_DIR=$(SANDBOX_DIR) EXAMPLES=$(EXAMPLES) bash docs/demo.sh

# The drift report's HTML page is tested in Debian's Chromium (driven by playwright).
CHROMIUM ?= /usr/bin/chromium
$(CHROMIUM):
	apt-get install -y -q chromium >/dev/null 2>&1 || \
	  (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)

# qemu-img (Debian's qemu-utils) makes the real qcow2 images of the image-data tests.
QEMU_IMG ?= /usr/bin/qemu-img
$(QEMU_IMG):
	apt-get install -y -q qemu-utils >/dev/null 2>&1 || \
	  (apt-get update -q >/dev/null && apt-get install -y -q qemu-utils >/dev/null)

# gpgv verifies upstream signatures (bump); gpg makes the tests' signing keys.
GPG ?= /usr/bin/gpg
GPGV ?= /usr/bin/gpgv
$(GPG) $(GPGV):
	apt-get install -y -q gnupg gpgv >/dev/null 2>&1 || \
	  (apt-get update -q >/dev/null && apt-get install -y -q gnupg gpgv >/dev/null)

# mitmproxy (the fault-injecting proxy of tests/faults) lives in its own venv: its
# pinned dependencies (Flask, cryptography, ruamel.yaml) would fight Keystone's.
FAULTS_VENV ?= .venv-faults
$(FAULTS_VENV)/bin/mitmdump:
	$(PYTHON) -m venv $(FAULTS_VENV)
	$(FAULTS_VENV)/bin/pip install -q 'mitmproxy==11.0.2'

# openstack-image-manager, the fixture of tests/sandbox/test_oim_switch.py, needs
# Python >= 3.12 (a pinned dependency) and lives in its own venv: the first Python >= 3.12
# found (OIM_PYTHON= to choose one).
OIM_VENV ?= .venv-oim
OIM_VERSION ?= 0.20261007.0
OIM_PYTHON ?= $(shell for p in python3.14 python3.13 python3.12 $(wildcard $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3); do \
  $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && echo $$p && break; done)
# Without one, the test skips loudly (CI sets RECONCILER_OIM_REQUIRED=1: there it fails).
$(OIM_VENV)/bin/openstack-image-manager:
	@if [ -z "$(OIM_PYTHON)" ]; then \
	  echo "!!! no Python >= 3.12 for openstack-image-manager (set OIM_PYTHON): the OIM switch test will skip"; \
	else \
	  $(OIM_PYTHON) -m venv $(OIM_VENV) && \
	  $(OIM_VENV)/bin/pip install -q 'openstack-image-manager==$(OIM_VERSION)'; \
	fi
test: $(OIM_VENV)/bin/openstack-image-manager

# The sandbox tests run in SANDBOX_WORKERS pytest-xdist workers, a file at a time each
# (they mostly wait on Keystone and Glance); the first worker uses $(SANDBOX_DIR), each
# other one starts a sandbox of its own beside it ($(SANDBOX_DIR)-gw1), so no test sees
# another's images. The unit tests (CPU) run beside them; their output follows the
# sandbox tests'. TEST_ARGS are passed to both (e.g. TEST_ARGS=--durations=20).
TEST_ARGS ?=
SANDBOX_WORKERS ?= 2
test: $(VENV)/.installed-dev $(CHROMIUM) $(QEMU_IMG) $(GPG) $(GPGV) $(FAULTS_VENV)/bin/mitmdump sandbox-up
	@mkdir -p test-artifacts
	@$(BIN)/pytest -q -p no:cacheprovider tests/unit $(TEST_ARGS) > test-artifacts/unit.log 2>&1 & \
	unit=$$!; start=$$(date +%s); \
	RECONCILER_SANDBOX_DIR=$(SANDBOX_DIR) $(BIN)/pytest -q -n $(SANDBOX_WORKERS) --dist loadfile \
	  tests/sandbox $(TEST_ARGS); sandbox=$$?; \
	echo "sandbox tests: $$(( $$(date +%s) - start ))s"; \
	wait $$unit; unit_code=$$?; \
	echo "== unit tests (ran alongside)"; cat test-artifacts/unit.log; \
	echo "make test: sandbox tests exit $$sandbox, unit tests exit $$unit_code, $$(( $$(date +%s) - start ))s"; \
	[ $$sandbox -eq 0 ] && [ $$unit_code -eq 0 ]

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check reconciler tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

schemas: $(VENV)/.installed-sandbox
	$(BIN)/python -m reconciler.manifests.schema_export

clean: sandbox-down
	rm -rf $(VENV) $(FAULTS_VENV) $(OIM_VENV) $(SANDBOX_DIR) $(SANDBOX_DIR)-gw* .sandbox-tls test-artifacts

# Benchmarks (not part of make test): a separate sandbox (.sandbox-bench) on MariaDB with
# 2 Glance workers and 10 regions (Debian's mariadb-server installed when missing; sqlite
# when it cannot be), seeded once, then every scenario side by side; it prints the table
# with the server it used and writes it into README.md (between the bench markers). BENCH_ARGS=--quick for 1,000 images only; BENCH_DATA_MB=64 for a quick data
# run (the README's data figures are 1 GiB, the default).
bench: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks --readme README.md $(BENCH_ARGS)

# The full-size reliability campaigns (minutes; see README, Reliability).
campaigns: $(VENV)/.installed-dev $(FAULTS_VENV)/bin/mitmdump sandbox-up
	RECONCILER_SANDBOX_DIR=$(SANDBOX_DIR) $(BIN)/python -m tests.faults.campaign --runs 100
	RECONCILER_SANDBOX_DIR=$(SANDBOX_DIR) $(BIN)/python -m tests.faults.crash --runs 30
	RECONCILER_FUZZ_EXAMPLES=5000 $(BIN)/pytest -q tests/unit/test_fuzz_loader.py
