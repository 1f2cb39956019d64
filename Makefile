# Two commands for a newcomer: `make run` and `make test`. Both bootstrap what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
AZURITE := node_modules/.installed
INFRA_VENV := .venv-infra
INFRA_STAMP := $(INFRA_VENV)/.installed

.PHONY: run test lint bench connector bootstrap system-tools clean

run: $(VENV_STAMP) $(AZURITE)
	$(PY) -m devstack

# Temporary files under this checkout: pytest prunes old runs in the shared /tmp/pytest-of-<user>, which
# could delete the Azurite data of another checkout's run in progress.
test: $(VENV_STAMP) $(AZURITE) $(INFRA_STAMP) system-tools
	$(PY) -m ruff check .
	mkdir -p .local
	$(PY) -m pytest --basetemp=.local/pytest

# Full benchmark (several minutes): prints the table and writes bench/results.md.
bench: $(VENV_STAMP) $(AZURITE)
	$(PY) -m bench --write

# OpenAPI document and Power Platform connector, generated from the code.
connector: $(VENV_STAMP)
	$(PY) -m scripts.generate_api_docs

lint: $(VENV_STAMP)
	$(PY) -m ruff check .

bootstrap: $(VENV_STAMP) $(AZURITE) $(INFRA_STAMP) system-tools

$(VENV_STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

# A stamp file: node_modules/.bin/azurite is a symlink, and touching it would touch its target.
$(AZURITE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# checkov and pycep-parser pin many packages of their own: they get a virtualenv of their own.
$(INFRA_STAMP): requirements-infra.txt
	$(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/pip install -q --upgrade pip
	$(INFRA_VENV)/bin/pip install -q -r requirements-infra.txt
	touch $@

# Debian packages the tests use (shellcheck; chromium for the browser test). Installed once, as root.
SYSTEM_PACKAGES := shellcheck chromium
system-tools:
	@missing=""; for p in $(SYSTEM_PACKAGES); do command -v $$p >/dev/null || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "Please install:$$missing (sudo apt-get install$$missing)"; exit 1; fi; \
	fi

clean:
	rm -rf $(VENV) $(INFRA_VENV) node_modules .local test-artifacts
