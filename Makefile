# readerstudy: `make demo` runs the demo, `make check` is the fast lane of development,
# `make test` runs everything CI runs (lint, import contracts, types, the whole suite).
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
# pytest-xdist workers of the parallel run (each has its own test database).
WORKERS ?= 2
BIN := $(VENV)/bin
export PORT
# Cache bytecode and pytest's rewritten test modules in __pycache__ (gitignored) even where the
# environment sets PYTHONDONTWRITEBYTECODE: without the cache every pytest worker compiles the
# project and rewrites every test module again, about 9 of its 17 CPU seconds of collection.
unexport PYTHONDONTWRITEBYTECODE
PYTEST := $(BIN)/python -m pytest
PARALLEL := -n $(WORKERS) --dist loadfile
FAST := not slow and not browser and not schemathesis and not serial

.PHONY: demo test check static-checks install install-dev lint format serve clean bench viewer

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

## demo: install, migrate SQLite, load the demo study and accounts, serve on 127.0.0.1:$(PORT)
demo: install
	DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --noinput -v0
	DJANGO_DEBUG=1 $(BIN)/python manage.py demo
	DJANGO_DEBUG=1 $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

## static-checks: ruff (lint and format), the import contracts, mypy
static-checks: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	DJANGO_DEBUG=1 $(BIN)/mypy

## check: the fast lane: static checks and the tests not marked slow, browser, schemathesis or
## serial, in $(WORKERS) parallel workers
check: static-checks
	$(PYTEST) $(PARALLEL) -m "$(FAST)" $(PYTEST_ARGS)

## test: everything CI runs: static checks, the suite in $(WORKERS) parallel workers, then the
## `serial` tests alone (set DATABASE_URL for PostgreSQL; READERSTUDY_SKIP_SCHEMATHESIS=1 skips
## the schemathesis tests)
test: static-checks
	$(PYTEST) $(PARALLEL) -m "not serial" $(PYTEST_ARGS)
	$(PYTEST) -m serial $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install-dev
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

## viewer: rebuild the committed Cornerstone3D viewer bundle (static/readerstudy/viewer/) from
## viewer/ with the pinned package-lock.json (needs node and npm; `make demo` and CI do not)
viewer:
	cd viewer && npm ci --no-audit --no-fund && node build.mjs

clean:
	rm -rf var/test-* .pytest_cache .mypy_cache .import_linter_cache staticfiles
