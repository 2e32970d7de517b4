# Two commands on a fresh machine:  make run   |   make test
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= config/gateway.toml
LAPOR_SANDBOX_LISTEN ?= 127.0.0.1:8090
STAMP := $(VENV)/.installed

.PHONY: run test setup system-deps migrate lint bench bench-scale clean

$(STAMP): setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# Debian packages the test suite drives (IMAP server, PostgreSQL); installed only if missing.
system-deps:
	bash .ci/system-deps.sh

migrate: setup
	$(BIN)/lapor-gateway --config $(CONFIG) db upgrade

# The gateway with the example config, beside the sandbox LAPOR it forwards to.
run: migrate
	@$(BIN)/lapor-gateway --config $(CONFIG) check-config
	@set -m; $(BIN)/lapor-gateway fake-lapor --listen $(LAPOR_SANDBOX_LISTEN) & \
	  sandbox=$$!; trap 'kill $$sandbox 2>/dev/null' EXIT INT TERM; \
	  echo "sandbox LAPOR: http://$(LAPOR_SANDBOX_LISTEN)/"; \
	  $(BIN)/lapor-gateway --config $(CONFIG) serve

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The whole suite, on SQLite and on PostgreSQL (LAPOR_TEST_DATABASE_URL, default local `test`).
test: setup system-deps lint
	$(BIN)/pytest -q

# One table: API intake (SQLite, PostgreSQL), SMS webhook, SMTP and the outbox drain, each
# against its baseline in the same run, load from other processes, every answer checked.
bench: setup system-deps
	$(BIN)/python bench/run.py

# serve's intake rate and RSS on an empty store and on 1,000,000 stored complaints (minutes).
bench-scale: setup system-deps
	$(BIN)/python bench/scale.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache *.egg-info
