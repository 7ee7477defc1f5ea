# Restore Desk. `make demo` and `make test` work on a fresh clone: they create .venv and install first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test test-postgres bench run-sim clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

demo: install
	$(PY) -m portal.demo

test: install
	$(PY) -m pytest

# The same suite on PostgreSQL and Redis (servers at 127.0.0.1:5432 and :6379).
test-postgres: install
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} \
	TEST_CACHE_URL=$${TEST_CACHE_URL:-redis://127.0.0.1:6379/1} \
	$(PY) -m pytest

bench: install
	$(PY) bench/run.py

run-sim: install
	$(PY) -m vb365_sim --host 127.0.0.1 --port 4443

clean:
	rm -rf $(VENV) .test-db-*.sqlite3 db.sqlite3 staticfiles bench/results
