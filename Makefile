# Two commands: `make run` (install, demo data, serve) and `make test` (install, every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install run test system-deps

$(BIN)/flask: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/flask

install: $(BIN)/flask

## Install, create the SQLite schema, load demo data, print the admin login and serve.
run: install
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi demo
	$(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT)

system-deps:
	bash scripts/install-system-deps.sh

## Install everything (Debian redis-server, PostgreSQL, chromium) and run every test.
test: install system-deps
	$(BIN)/python -m pytest -q
