# healthcheck: `make help` lists the targets. The README's quick start runs
# them through ./make.sh, which first installs what a fresh Debian lacks.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST := $(BIN)/pytest -q
.PHONY: help deps venv lint test test-py test-static test-docker dist image bench bench-smoke clean

help:
	@echo "make venv         virtualenv with the package (editable) and test tools"
	@echo "make dist         static binaries: dist/linux-{amd64,arm64}/healthcheck/"
	@echo "make image        healthcheck:latest for this machine's architecture"
	@echo "make test         everything CI runs: lint, unit, namespaces, static, docker, bench smoke"
	@echo "make bench        the full benchmark, written to docs/bench.md and docs/bench.png"

deps:
	scripts/deps.sh

venv: $(BIN)/TCP
$(BIN)/TCP: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

lint: venv
	$(BIN)/ruff check .

# Unit tests and the namespace integration suite, on CPython's console scripts.
test-py: venv
	$(PYTEST) tests --ignore=tests/docker --ignore=tests/hardening --ignore=tests/test_micropython.py

dist:
	static/dist.sh

# The same integration suite against the static binaries, plus the pure
# modules' tests run by the frozen MicroPython itself. The other architecture
# runs under qemu-user, which has no NETLINK_SOCK_DIAG: only /proc and the
# fallback are tested there.
test-static: venv dist
	HEALTHCHECK_TEST_BUILD=static $(PYTEST) tests/integration tests/test_micropython.py
	$(PYTEST) tests/hardening
	HEALTHCHECK_TEST_BUILD=qemu HEALTHCHECK_TEST_BACKENDS=proc,auto $(PYTEST) tests/integration \
		--deselect tests/integration/test_listening.py::test_v6only_socket_option_seen_by_netlink

image: dist
	scripts/docker-up.sh
	scripts/base-image.sh
	docker build -t healthcheck:latest .
	@docker image ls healthcheck:latest
	docker run --rm --read-only --network none healthcheck:latest --version

test-docker: venv image
	$(PYTEST) tests/docker

# The benchmark (bench/README.md): needs root, writes docs/bench.{md,png,json};
# the smoke run (CI) checks the harness and every method's answers only.
include bench/Makefile.inc
bench bench-smoke: venv dist

test: lint test-py test-static bench-smoke test-docker

clean:
	rm -rf dist build static/.cache .pytest_cache .hypothesis
