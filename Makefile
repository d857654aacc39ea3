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

## Install; start the embedded PostgreSQL and Redis (data in instance/), migrate, load the demo
## data, run the stand-in platforms, an RQ worker with its scheduler and gunicorn. Ctrl-C stops all.
run: install
	$(BIN)/flask --app wsgi serve --host $(HOST) --port $(PORT)

system-deps:
	bash scripts/install-system-deps.sh

## Install everything (chromium for the browser tests) and run every test.
test: install system-deps
	$(BIN)/python -m pytest -q
