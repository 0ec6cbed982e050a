# Signale: `make run` serves the whole service, `make test` runs every test.
# Both provision what they need (virtualenv, PostgreSQL+PostGIS, Redis) on a fresh Debian machine.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)

.PHONY: run test bench lint venv clean

run: $(STAMP)
	@$(PY) -m tools.launcher run

test: $(STAMP)
	@$(PY) -m tools.launcher test -- $(PYTEST_ARGS)

bench: $(STAMP)
	@$(PY) -m tools.launcher bench

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@if ! $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "==> installing python3-venv"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv >/dev/null || \
	    { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv; }; \
	  else echo "*** make: install python3-venv (sudo apt-get install python3-venv)"; exit 1; fi; \
	fi
	@echo "==> creating the virtualenv in $(VENV) and installing pinned dependencies"
	@$(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install --quiet --upgrade pip
	@$(VENV)/bin/pip install --quiet -c constraints.txt -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

clean:
	rm -rf $(VENV) var
