# healthcheck: `make help` lists the targets. The README's quick start runs
# them through ./make.sh, which first installs what a fresh Debian lacks.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST := $(BIN)/pytest -q
# What the image's labels and --version say: the commit, the package version and,
# when git has one without credentials in it, the repository's https URL.
REVISION   := $(shell git rev-parse --short=12 HEAD 2>/dev/null)
VERSION    := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' src/healthcheck/__init__.py)
SOURCE_URL := $(shell git remote get-url origin 2>/dev/null | grep -E '^https://[^@]*$$')
.PHONY: help deps venv lint test test-py test-static test-docker test-release dist image publish bench bench-smoke clean

help:
	@echo "make deps          install the Debian packages the build and the tests use (scripts/deps.sh; root)"
	@echo "make venv          virtualenv with the package (editable) and test tools"
	@echo "make lint          ruff check ."
	@echo "make dist          static binaries for 8 platforms: dist/linux-*/healthcheck/, dist/SHA256SUMS,"
	@echo "                   and an SBOM of each: dist/linux-*/healthcheck.spdx.json"
	@echo "make image         healthcheck:latest for this machine's architecture"
	@echo "make publish       one multi-arch image (8 platforms) to \$$REGISTRY (default: a local one on localhost:5000)"
	@echo "make test          everything CI runs: lint, unit, namespaces, static, release, docker, bench smoke"
	@echo "make test-py       unit and namespace tests on CPython"
	@echo "make test-static   the namespace tests on the static binary, natively and under qemu-user; hardening"
	@echo "make test-release  the release checks (tests/release/README.md): dist, reproducible, image, publish, SBOM"
	@echo "make test-docker   the image under Docker (tests/docker)"
	@echo "make bench         the full benchmark, written to docs/bench.md and docs/bench.png"
	@echo "make bench-smoke   the benchmark's harness and every method's answers, quickly (CI)"
	@echo "make bench-deps    check that the benchmark's tools are installed"
	@echo "make clean         remove dist/, build/, the build cache and test caches"

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
	$(PYTEST) tests --ignore=tests/docker --ignore=tests/hardening --ignore=tests/release --ignore=tests/test_micropython.py \
		--ignore=tests/test_bundle.py

# The binaries, then an SBOM of each platform beside its healthcheck/ folder
# (dist/linux-ARCH/healthcheck.spdx.json; scripts/sbom.py).
dist:
	static/dist.sh
	HEALTHCHECK_SOURCE=$(SOURCE_URL) $(PYTHON) scripts/sbom.py

# The same integration suite against the static binaries, plus the pure
# modules' tests run by the frozen MicroPython itself. The other architecture
# runs under qemu-user, which has no NETLINK_SOCK_DIAG: only /proc and the
# fallback are tested there.
test-static: venv dist
	HEALTHCHECK_TEST_BUILD=static $(PYTEST) tests/integration tests/test_micropython.py tests/test_bundle.py
	$(PYTEST) tests/hardening
	HEALTHCHECK_TEST_BUILD=qemu HEALTHCHECK_TEST_BACKENDS=proc,auto $(PYTEST) tests/integration \
		--deselect tests/integration/test_listening.py::test_v6only_socket_option_seen_by_netlink

# SOURCE_DATE_EPOCH: the commit's time, as static/dist.sh uses, so the image's
# binary is dist's binary.
image: dist
	scripts/docker-up.sh
	scripts/base-image.sh
	docker build --build-arg SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct) \
		--build-arg HEALTHCHECK_REVISION=$(REVISION) --build-arg VERSION=$(VERSION) \
		--build-arg SOURCE=$(SOURCE_URL) \
		-t healthcheck:latest .
	@docker image ls healthcheck:latest
	docker run --rm --read-only --network none healthcheck:latest --version

test-docker: venv image
	$(PYTEST) tests/docker

# The benchmark (bench/README.md): needs root, writes docs/bench.{md,png,json};
# the smoke run (CI) checks the harness and every method's answers only.
include bench/Makefile.inc
bench bench-smoke: venv dist

# The 8 platforms from dist/ as one multi-arch index (scripts/publish.sh).
publish: dist
	$(if $(REGISTRY),HEALTHCHECK_REGISTRY=$(REGISTRY)) $(if $(SOURCE),HEALTHCHECK_SOURCE=$(SOURCE)) scripts/publish.sh

# Release checks (tests/release/README.md): every platform's ELF under qemu,
# a second build from a clone elsewhere, image = dist, the published index.
test-release: venv dist image
	$(PYTEST) tests/release

test: lint test-py test-static bench-smoke test-release test-docker

clean:
	rm -rf dist build static/.cache .pytest_cache .hypothesis
