# Two commands matter: `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

# pyenv reads .python-version (3.13); elsewhere set PYTHON=/path/to/python3.12+.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

help:
	@echo "make run    set up and serve the demo essay at http://$(HOST):$(PORT)/ (with the mail worker)"
	@echo "make test   install the dev tools and run lint, migration check and the whole test suite"
	@echo "make serve  production-style: collectstatic, gunicorn and the worker (needs SECRET_KEY etc.)"
	@echo "make fmt    format and auto-fix with ruff"
	@echo "make bench  benchmark the essay page (N=100..10,000) against xtd and a static file; concurrent posting; search"
	@echo "make bench-search  search latency alone, at 10,000 and 100,000 comments, SQLite and PostgreSQL"
	@echo "make cluster  two web nodes and two workers behind nginx, one machine killed mid-run"
	@echo "make replica  a PostgreSQL streaming replica on loopback, the site reading from it"
	@echo "make faults mail under real faults: a worker killed, the mail server down, 451, 550 (about 3 minutes)"

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Python 3.12+ is needed: set PYTHON=/path/to/python3.13")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed

# A development .env (git-ignored): DEBUG on, so manage.py works without exporting anything.
# The real environment always wins over it (production sets DEBUG=false and a SECRET_KEY).
.env:
	@echo "DEBUG=true" > .env
	@echo "Wrote .env (DEBUG=true) for development"

setup: install .env
	DEBUG=true $(PY) manage.py migrate --no-input
	DEBUG=true $(PY) manage.py load_demo

# The worker stops with the server (its EXIT trap); `kill 0` in a TERM trap would
# signal the shell itself again, recursing until bash crashed.
# The demo also serves a page of another origin embedding the 2013 discussion (http://localhost:8001/,
# docs/embed.md); that origin is listed for it, and its check may fetch a loopback page.
DEMO_EMBED := FORUM_EMBED_ORIGINS=http://localhost:8001 FORUM_EMBED_CHECK_PRIVATE_ADDRESSES=true

run: setup
	@echo "Serving http://$(HOST):$(PORT)/ and a blog elsewhere embedding its discussion at http://localhost:8001/ (Ctrl-C stops all)"
	@DEBUG=true $(DEMO_EMBED) $(PY) manage.py worker & worker=$$!; \
	DEBUG=true $(PY) manage.py serve_embed_demo --port 8001 & blog=$$!; \
	trap 'kill $$worker $$blog 2>/dev/null; wait $$worker $$blog' EXIT; \
	DEBUG=true $(DEMO_EMBED) $(PY) manage.py runserver $(HOST):$(PORT)

serve: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py collectstatic --no-input
	@$(PY) manage.py worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; \
	$(VENV)/bin/gunicorn forum.wsgi --bind $(HOST):$(PORT) --workers $${WEB_CONCURRENCY:-2} --access-logfile -

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run

# axe-core and the Nu HTML Checker for the browser tests, pinned in package-lock.json
# (--ignore-scripts: vnu-jar would download a Java of its own; the system's is used).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

test: lint node_modules/.package-lock.json
	$(VENV)/bin/pytest $(PYTEST_ARGS)

fmt: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Installs the load generator (Debian's wrk) if missing; knobs and output: docs/performance.md.
bench: install
	@command -v wrk >/dev/null && command -v curl >/dev/null || { \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  echo "Installing wrk and curl with apt-get"; \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk curl >/dev/null; }
	$(PY) bench/run.py

# Search alone (bench/search.py): 10,000 and 100,000 comments on SQLite and PostgreSQL (about 12 minutes).
bench-search: install
	$(PY) bench/search.py

# Two web nodes and two workers behind Debian's nginx on loopback, one machine killed mid-run
# (bench/cluster.py; needs nginx, PostgreSQL and Redis; about a minute). tests/cluster asserts it.
cluster: $(VENV)/.installed-dev
	$(PY) -m bench.cluster

# A PostgreSQL streaming replica on loopback, made with the server's programs, and the site reading
# from it (bench/replica.py; about 20 seconds). tests/replica asserts it.
replica: $(VENV)/.installed-dev
	$(PY) -m bench.replica

# Mail under real faults (a worker killed mid-send, the mail server down for a minute, 451, 550):
# expected, delivered, duplicated, lost and time to drain per scenario (docs/operations.md).
# DATABASE_URL=postgres://... runs them on PostgreSQL. The suite asserts the same runs (tests/faults).
faults: $(VENV)/.installed-dev
	$(PY) -m bench.faults

.PHONY: help install setup run serve lint test fmt bench bench-search cluster replica faults
