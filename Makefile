# Quick start: `make run` serves the demo, `make test` runs every test.
# `make dev` serves it with Flask's debug server (reloads on every change) instead.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
FLASK   = $(VENV)/bin/flask --app wsgi
PORT   ?= 5000
HOST   ?= 127.0.0.1
# gunicorn: worker processes and threads per worker (SQLite in WAL mode takes several).
WORKERS ?= 2
THREADS ?= 8

# `make bench` takes a one-minute exam of 100 candidates from bench.exam_load; its full
# shape (a three-minute exam, N increased until a target is missed) is `make bench-exam`,
# which wipes BENCH_DATABASE_URL when given (default: SQLite in a temp dir).
EXAM_LOAD_ARGS ?= --candidates 100 --duration 60
BENCH_DATABASE_URL ?=
# Tests run in two processes (each with its own PostgreSQL and Redis database, see
# tests/parallel.py), a test file per process at a time; PYTEST_ARGS= runs them in one.
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: run dev test lint format bench bench-exam setup setup-dev translations db messages clean

# The venv is rebuilt only when the pinned requirements change.
$(VENV)/.stamp-runtime: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.stamp-dev: requirements-dev.txt $(VENV)/.stamp-runtime
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

setup: $(VENV)/.stamp-runtime translations
	@bash scripts/system-packages.sh run

setup-dev: $(VENV)/.stamp-dev translations
	@bash scripts/system-packages.sh test

translations: $(VENV)/.stamp-runtime
	@$(VENV)/bin/pybabel compile -f -d lms/translations

db: setup
	@$(FLASK) init-db
	@$(FLASK) seed-demo --if-empty

run: db
	@echo ">> Serving on http://$(HOST):$(PORT)  (Ctrl-C to stop)"
	@$(VENV)/bin/gunicorn --workers $(WORKERS) --threads $(THREADS) --bind $(HOST):$(PORT) \
	  --access-logfile - wsgi:app

dev: db
	@$(FLASK) run --debug --host $(HOST) --port $(PORT)

test: setup-dev
	@$(PY) -m pytest $(PYTEST_ARGS)

lint: setup-dev
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

format: setup-dev
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix .

bench: setup-dev
	@mkdir -p bench/out
	@for m in bench/[a-z]*.py; do \
	  name=$$(basename $$m .py); \
	  echo ">> bench.$$name"; \
	  args=""; if [ "$$name" = exam_load ]; then args="$(EXAM_LOAD_ARGS)"; fi; \
	  $(PY) -m bench.$$name --json bench/out/$$name.json $$args || exit 1; \
	done

bench-exam: setup-dev
	@mkdir -p bench/out
	@$(PY) -m bench.exam_load --ramp $(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL)) \
	  --json bench/out/exam_load_ramp.json

# Refresh the message catalogue after changing user-facing strings.
messages: setup-dev
	@$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o lms/translations/messages.pot .
	@$(VENV)/bin/pybabel update -i lms/translations/messages.pot -d lms/translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache bench/out
