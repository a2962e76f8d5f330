# netemu — the two commands a user needs: `sudo make setup` and `sudo make demo`.
# Everything runs as root: the emulation builds network namespaces and nftables rules.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := setup

ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
# What pytest runs; extra options go in PYTEST_ARGS (CI adds --junitxml=test-results.xml).
TESTS ?= tests
PYTEST_ARGS ?=
BENCH_ARGS ?=
# Lists netemu objects left on the host; shipped beside the repo, absent elsewhere.
LEAKCHECK := $(wildcard $(ROOT)/../shared/tools/leakcheck)

.PHONY: setup demo test lint bench clean reliability crosscheck

# WITH=mariadb,nginx also installs the real servers scenarios may run in instances.
WITH ?=
# The kernel tests and the demo run real MariaDB and nginx, so `make test` and `make demo`
# install them.
TEST_WITH ?= mariadb,nginx

setup:
	@WITH="$(WITH)" bash $(ROOT)/scripts/setup.sh

# The demo's second part runs real MariaDB and nginx, so it installs them.
demo:
	@WITH="$(TEST_WITH)" bash $(ROOT)/scripts/setup.sh
	bash $(ROOT)/scripts/demo.sh

# The leak check runs even when pytest fails, so one run reports both.
test:
	@WITH="$(TEST_WITH)" bash $(ROOT)/scripts/setup.sh
	@rc=0; \
	(cd $(ROOT) && $(PY) -m pytest -q $(PYTEST_ARGS) $(TESTS)) || rc=$$?; \
	if [ -n "$(LEAKCHECK)" ]; then \
		leaks=$$(bash $(LEAKCHECK) 2>&1 || true); \
		if [ -n "$$leaks" ]; then \
			printf '%s\n' "$$leaks"; \
			echo "make test: the tests left netemu objects on this host (see leak: lines above)" >&2; \
			[ "$$rc" -ne 0 ] || rc=1; \
		fi; \
	fi; \
	exit $$rc

lint: setup
	cd $(ROOT) && $(VENV)/bin/ruff check .
	cd $(ROOT) && $(VENV)/bin/ruff format --check .
	cd $(ROOT) && $(VENV)/bin/mypy netemu

# Mininet is the baseline `up` is compared with; only the benchmark needs it.
bench: setup
	@missing=""; for p in mininet bridge-utils; do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi
	cd $(ROOT) && $(PY) bench/run.py $(BENCH_ARGS)

# The full form of tests/reliability (crash trials, soak, hostile input) with its figures;
# RELIABILITY_ARGS=--quick runs a tenth of it.
RELIABILITY_ARGS ?=
reliability: setup
	cd $(ROOT) && $(PY) tests/reliability/full.py $(RELIABILITY_ARGS)

# Differential fuzzing: random scenarios and probes answered by the model and by the kernel,
# every disagreement shrunk to a minimal scenario in crosscheck-findings/.
# CROSSCHECK_ARGS: -n SCENARIOS -m PROBES --seed S --strict --out DIR (see --help).
CROSSCHECK_ARGS ?= -n 20 -m 50
crosscheck: setup
	cd $(ROOT) && $(PY) -m netemu.explain.crosscheck $(CROSSCHECK_ARGS)

clean:
	rm -rf $(VENV)
