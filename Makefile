# 公开审批 — the two commands: `make demo` (build + serve the demo site), `make test` (all tests).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SITE ?= _site
PORT ?= 8000
DEMO_EXPORT := examples/demo-export
APT_TEST_PACKAGES := chromium fonts-noto-cjk

.PHONY: demo test install install-test system-test-deps build-demo serve contract lint clean

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
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi 'Noto Sans CJK'; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_TEST_PACKAGES) >/dev/null; \
	fi

build-demo: install
	$(BIN)/approvals build --export $(DEMO_EXPORT) --site $(SITE)

serve: install
	$(BIN)/approvals serve --site $(SITE) --port $(PORT)

demo: build-demo serve

test: install-test
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

contract: install
	$(BIN)/approvals contract --out docs

clean:
	rm -rf $(SITE) build *.egg-info .pytest_cache
