# Restore Desk. `make demo` and `make test` work on a fresh clone: they create .venv and install first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install install-browser demo worker lint test test-postgres bench run-sim screenshots clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# The browser tests drive a system chromium (`which chromium`, or E2E_CHROMIUM_PATH): installed from Debian's
# packages when missing and this is root on Debian, else make stops with the one command to run.
install-browser:
	@sh tools/ensure-chromium

# Production-like (DEBUG off, quiet logs). For developers: `make demo DEBUG=1` (or DEMO_DEBUG=1): DEBUG on,
# Django's debug pages and a log line per request.
DEMO_DEBUG ?= $(DEBUG)
demo: install
	$(PY) -m portal.demo $(if $(filter 1 true yes on,$(DEMO_DEBUG)),--debug)

# Everything a deployment runs besides the web process: one worker (it also ticks the periodic schedule), in
# the foreground, with the current environment (DATABASE_URL, …). Ctrl-C lets the current task finish.
worker: install
	$(PY) manage.py worker

# Lint (ruff) and types (mypy: strict on upstream/, services/, selectors.py and vb365_sim/), as pyproject.toml says.
lint: install
	$(PY) -m ruff check .
	$(PY) -m mypy

test: install install-browser
	$(PY) -m pytest

# PNGs of the main pages, per role, at 1,280 px and 390 px wide, into screenshots/ (not committed).
screenshots: install install-browser
	$(PY) -m tools.screenshots --out screenshots

# The same suite on PostgreSQL and Redis (servers at 127.0.0.1:5432 and :6379), with two database roles as
# in production: restoredesk_owner creates and migrates the test database, the portal runs as restoredesk_app.
# PG_ADMIN_URL may create roles (once; .ci/postgres-roles.sql does nothing when they exist).
PG_ADMIN_URL ?= postgres://postgres@127.0.0.1:5432/postgres
test-postgres: install install-browser
	psql "$(PG_ADMIN_URL)" -v ON_ERROR_STOP=1 -qf .ci/postgres-roles.sql
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgres://restoredesk_owner@127.0.0.1:5432/restoredesk} \
	TEST_DATABASE_RUNTIME_ROLE=$${TEST_DATABASE_RUNTIME_ROLE:-restoredesk_app} \
	TEST_CACHE_URL=$${TEST_CACHE_URL:-redis://127.0.0.1:6379/1} \
	$(PY) -m pytest

bench: install
	$(PY) bench/run.py

run-sim: install
	$(PY) -m vb365_sim --host 127.0.0.1 --port 4443

clean:
	rm -rf $(VENV) .test-db-*.sqlite3 db.sqlite3 var/audit-checkpoints.jsonl staticfiles bench/results screenshots
