# 公开审批 — the two commands: `make demo` (build + serve the demo site), `make test` (all tests).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SITE ?= _site
PORT ?= 8000
DEMO_CATALOGUE := examples/demo-export
DEMO_EXPORT := build/demo-export
DEMO_CASES ?= 200000
APT_TEST_PACKAGES := chromium fonts-noto-cjk nginx-light libnginx-mod-http-brotli-static

.PHONY: demo test lint install install-test system-test-deps build-demo serve contract clean

$(BIN)/approvals: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

install: $(BIN)/approvals

$(VENV)/.test-deps: $(BIN)/approvals
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install-test: $(VENV)/.test-deps system-test-deps

# Debian's Chromium for the browser tests (no browser download: Playwright drives /usr/bin/chromium).
system-test-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v nginx >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi 'Noto Sans CJK'; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_TEST_PACKAGES) >/dev/null; \
	fi

# The demo's 200,000 cases are generated (deterministically) rather than committed: ~130 MB.
$(DEMO_EXPORT)/manifest.json: $(BIN)/approvals examples/generate_cases.py $(shell find $(DEMO_CATALOGUE) -type f)
	$(BIN)/python examples/generate_cases.py --catalogue $(DEMO_CATALOGUE) --out $(DEMO_EXPORT) --cases $(DEMO_CASES)

build-demo: install $(DEMO_EXPORT)/manifest.json
	$(BIN)/approvals build --export $(DEMO_EXPORT) --site $(SITE)

serve: install
	$(BIN)/approvals serve --site $(SITE) --port $(PORT)

demo: build-demo serve

# ruff (format and lint), the import-linter contracts of the stages' layers, mypy (its settings:
# [tool.mypy] in pyproject.toml; strict for the release and the gates).
LINT_PATHS := pipeline tests bench examples pelicanconf.py publishconf.py
lint: $(VENV)/.test-deps
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/lint-imports
	$(BIN)/mypy

test: install-test lint
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

contract: install
	$(BIN)/approvals contract --out docs

clean:
	rm -rf $(SITE) build *.egg-info .pytest_cache
