# The README's two commands: `make demo` and `make test`. Needs only Python 3.11+ (python3).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
PORT ?= 8000
# The second run of `make test`; pytest-django creates and drops test_<name> itself.
PG_URL ?= postgres://postgres@127.0.0.1:5432/asteragents_test
SQLITE_URL := sqlite:///$(CURDIR)/db.sqlite3
# Passed to both pytest runs, e.g. make test PYTEST_ARGS="tests/stats -x"
PYTEST_ARGS ?=
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: help demo test lint migrate clean bench load

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

# --- The virtualenv: created once, reinstalled only when pyproject.toml changes ---------------

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11 or newer is needed as '$(PYTHON)' (make ... PYTHON=python3.12)." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "Installing the project into $(VENV) ..."
	$(BIN)/pip install $(PIP_QUIET) -e .
	@touch $@

# The dev extras include everything the plain install has, so they count as both.
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	@echo "Installing the project with its dev extras into $(VENV) ..."
	$(BIN)/pip install $(PIP_QUIET) -e '.[dev]'
	@touch $(VENV)/.installed $@

# --- demo -------------------------------------------------------------------------------------

demo: export DJANGO_DEBUG := true
demo: export DATABASE_URL ?= $(SQLITE_URL)
demo: $(VENV)/.installed ## Migrate, load demo data, print a token and a curl, run the server
	$(MANAGE) migrate --no-input
	$(MANAGE) seed_demo
	@if $(MANAGE) shell -v 0 -c "from django.contrib.auth.models import User; \
	    raise SystemExit(0 if User.objects.filter(username='admin').exists() else 1)"; then \
	  echo "Django superuser 'admin' already exists."; \
	else \
	  DJANGO_SUPERUSER_PASSWORD=admin $(MANAGE) createsuperuser --no-input \
	    --username admin --email admin@localhost; \
	fi
	@token="$$($(MANAGE) mint_token --org org_demo --user user_demo_admin --role admin)"; \
	read -r since today < <($(BIN)/python -c "import datetime as d; \
	  t = d.datetime.now(d.UTC).date(); print(t - d.timedelta(days=30), t)"); \
	echo; \
	echo "Demo data loaded into $$DATABASE_URL."; \
	echo "Stats of Demo Co for the last 30 days, as its admin:"; \
	echo; \
	echo "  curl -s -H \"Authorization: Bearer $$token\" \"http://127.0.0.1:$(PORT)/api/dashboard/getStats?from=$$since&to=$$today&allInOrg=true\""; \
	echo; \
	echo "The same, with a weekly series in Berlin time, the top agents and the previous 30 days:"; \
	echo; \
	echo "  curl -s -H \"Authorization: Bearer $$token\" \"http://127.0.0.1:$(PORT)/api/dashboard/getStats?from=$$since&to=$$today&allInOrg=true&tz=Europe/Berlin&interval=week&groupBy=agent&limit=3&compare=previous\""; \
	echo; \
	echo "The token lasts an hour; a new one (as a member: --user user_demo_alice --role member):"; \
	echo "  DJANGO_DEBUG=true $(MANAGE) mint_token --org org_demo --user user_demo_admin --role admin"; \
	echo; \
	echo "Admin:    http://127.0.0.1:$(PORT)/admin/  (login admin / admin; demo only)"; \
	echo "API docs: http://127.0.0.1:$(PORT)/api/docs/"; \
	echo
	$(MANAGE) runserver 127.0.0.1:$(PORT)

# --- test -------------------------------------------------------------------------------------

# Every step runs even when an earlier one failed, so one run shows every problem.
test: $(VENV)/.installed-dev ## ruff, then the suite on SQLite and on PostgreSQL (PG_URL)
	@echo "=== ruff check . ==="
	@ruff_status=0; $(BIN)/ruff check . || ruff_status=$$?; \
	echo "=== pytest on SQLite (in memory) ==="; \
	sqlite_status=0; DATABASE_URL=sqlite:///:memory: $(BIN)/pytest $(PYTEST_ARGS) || sqlite_status=$$?; \
	if $(pg_reachable); then \
	  echo "=== pytest on PostgreSQL ($(PG_URL)) ==="; \
	  pg_status=0; DATABASE_URL='$(PG_URL)' $(BIN)/pytest $(PYTEST_ARGS) || pg_status=$$?; \
	elif [ -n "$${CI:-}" ] && [ "$${CI:-}" != false ] && [ "$${CI:-}" != 0 ]; then \
	  echo "ERROR: PostgreSQL at $(PG_URL) is not reachable, and CI needs both runs." >&2; \
	  exit 1; \
	else \
	  echo "*** PostgreSQL at $(PG_URL) is not reachable: ran SQLite only. ***"; \
	  pg_status=0; \
	fi; \
	if [ $$ruff_status -ne 0 ]; then echo "FAILED: ruff (exit $$ruff_status)." >&2; fi; \
	if [ $$sqlite_status -ne 0 ]; then echo "FAILED: pytest on SQLite (exit $$sqlite_status)." >&2; fi; \
	if [ $$pg_status -ne 0 ]; then echo "FAILED: pytest on PostgreSQL (exit $$pg_status)." >&2; fi; \
	[ $$ruff_status -eq 0 ] && [ $$sqlite_status -eq 0 ] && [ $$pg_status -eq 0 ]

# pg_isready when installed, else a psycopg connection to the server's `postgres` database.
pg_reachable = { if command -v pg_isready >/dev/null 2>&1; then \
	  pg_isready -q -t 3 -d '$(PG_URL)'; \
	else \
	  $(BIN)/python -c "import sys, psycopg; \
	    psycopg.connect(sys.argv[1], dbname='postgres', connect_timeout=3).close()" \
	    '$(PG_URL)' >/dev/null 2>&1; \
	fi; }

# --- the rest ---------------------------------------------------------------------------------

lint: $(VENV)/.installed-dev ## ruff check
	$(BIN)/ruff check .

migrate: export DJANGO_DEBUG ?= true
migrate: $(VENV)/.installed ## Apply migrations to DATABASE_URL (default: db.sqlite3)
	$(MANAGE) migrate --no-input

clean: ## Remove .venv, db.sqlite3 and var/ (dev keys, static files)
	rm -rf $(VENV) db.sqlite3 db.sqlite3-journal db.sqlite3-wal db.sqlite3-shm var/ *.egg-info

# --- bench ------------------------------------------------------------------------------------

# Issue 5's benchmark. Its database is kept between runs: the same --messages reuses the data.
BENCH_URL ?= postgres://postgres@127.0.0.1:5432/asteragents_bench
BENCH_ARGS ?=
# Issue 7's rows (series, breakdowns, compare), timed after bench_stats on the same data.
DASHBOARD_ARGS ?= --runs 10 --warmup 2

bench: export DATABASE_URL := $(BENCH_URL)
bench: export DJANGO_DEBUG := false
bench: export DJANGO_SECRET_KEY ?= bench-only-not-a-secret
bench: export CACHE_URL := locmem://
bench: export DATABASE_STATEMENT_TIMEOUT_MS := 0
bench: $(VENV)/.installed ## Time getStats on 1M PostgreSQL messages (BENCH_URL; BENCH_ARGS='--repeat 3')
	$(BIN)/python -m bench.databases ensure '$(BENCH_URL)'
	$(MANAGE) migrate --no-input
	$(MANAGE) bench_stats $(BENCH_ARGS)
	$(if $(findstring --build-only,$(BENCH_ARGS)),,$(MANAGE) bench_dashboard $(DASHBOARD_ARGS))

# Issue 6's load test: 32 clients for 60 s against gunicorn with the production settings
# (asteragents/gunicorn_conf.py), on the dataset `make bench` built. Redis holds the throttle.
LOAD_ARGS ?=

load: export DATABASE_URL := $(BENCH_URL)
load: export DJANGO_DEBUG := false
load: export DJANGO_SECRET_KEY ?= load-only-not-a-secret
load: $(VENV)/.installed ## 32 clients for 60 s against gunicorn on the bench data (LOAD_ARGS)
	$(BIN)/python -m bench.loadtest $(LOAD_ARGS)
