# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint format bench drill clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

## Set up, migrate, load the demo district and serve on http://127.0.0.1:8000 (SQLite).
run: $(STAMP)
	DJANGO_DEBUG=true $(BIN)/python manage.py migrate --no-input
	DJANGO_DEBUG=true $(BIN)/python manage.py seed_demo
	DJANGO_DEBUG=true $(BIN)/python manage.py runserver 127.0.0.1:8000

## Run the whole test suite (SQLite by default; set DATABASE_URL for PostgreSQL).
test: $(STAMP)
	DJANGO_DEBUG=true $(BIN)/python -m pytest $(PYTEST_ARGS)

## Run every test but the browser journeys (no Chromium needed).
test-fast: $(STAMP)
	DJANGO_DEBUG=true $(BIN)/python -m pytest -m "not browser" $(PYTEST_ARGS)

## Time the main pages at small and large scale on PostgreSQL (builds the data once), then the
## throughput of gunicorn under wrk on the larger one. `make bench SCALE=xl`: small and xl.
bench: $(STAMP)
	SCALE="$(SCALE)" bash bench/run.sh

## Load and fault drill on loopback (PostgreSQL, Redis): `make drill SERVERS=2` runs two app servers behind nginx and kills one mid-load.
drill: $(STAMP)
	bash bench/drill.sh

## Ruff (lint and format), migrations check, bandit, mypy, the layers' import contract and template indentation.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/bandit -q -r portal practices showcases surveys insights -x '*/migrations/*'
	DJANGO_DEBUG=true $(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/djhtml --check templates

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .ruff_cache
