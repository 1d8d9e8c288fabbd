# Trailhub — `make run` to start, `make test` to test. Nothing else to install
# by hand beyond Python 3.11+ and make.

PYTHON ?= python3
VENV   ?= .venv
HOST   ?= 127.0.0.1
PORT   ?= 8000
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test test-coverage system-packages check-reliability mutate lint format migrate worker check clean help cluster

help:
	@echo "make run     start Trailhub on http://$(HOST):$(PORT) (creates the venv, migrates, adds demo users;"
	@echo "             with REDIS_URL set, a Celery worker and beat too)"
	@echo "make test    run the whole test suite"
	@echo "make test-coverage  the same on two processes, with branch coverage (var/coverage/html; CI's embedded pass)"
	@echo "make check-reliability  the reliability suite (authorisation matrix, bad input, fuzzing, races, faults; minutes)"
	@echo "make mutate  mutation testing of the core with cosmic-ray, in a copy of the tree (MODULE=trail/status.py for one; minutes per module)"
	@echo "make lint    ruff check and format check"
	@echo "make worker  start a Celery worker (only with REDIS_URL set)"
	@echo "make cluster  two hub nodes behind nginx, a Celery worker and beat, on PostgreSQL, a Redis of its own and Swift S3 (docs/deployment.md, Several nodes)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.txt pyproject.toml
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@

migrate: $(VENV)/.installed
	$(BIN)/python manage.py migrate --no-input

# Embedded: one uvicorn. With REDIS_URL or CELERY_BROKER_URL: uvicorn, a Celery
# worker and beat (the Procfile, run by honcho). One Ctrl-C stops them all.
run: migrate
	@echo "Trailhub accounts:"
	@$(BIN)/python manage.py demo
	@$(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

worker: $(VENV)/.installed
	$(BIN)/celery -A trailhub worker --beat

# The tested multi-node layout on loopback (testsupport/cluster.py): prints the URL; Ctrl-C
# stops all and drops its database. Needs PostgreSQL on 127.0.0.1:5432, nginx, redis-server, Swift.
cluster: $(VENV)/.installed-dev system-packages
	$(BIN)/python -m testsupport.cluster

# The Debian packages the tests use (Swift, a registry, skopeo, Chromium, …): silent when
# present, installed when possible, otherwise a list of exactly what to install.
system-packages:
	@.ci/system-packages.sh

test: $(VENV)/.installed-dev system-packages
	$(BIN)/pytest $(PYTEST_ARGS)

# Two pytest processes (pytest-xdist), each test's subprocesses measured too; fails below
# [tool.coverage.report] fail_under in pyproject.toml. docs/testing.md: which tests must not
# run side by side and why this is safe on the embedded default only.
test-coverage: $(VENV)/.installed-dev system-packages
	$(BIN)/pytest -n 2 --cov --cov-report=term --cov-report=html $(PYTEST_ARGS)

check-reliability: $(VENV)/.installed-dev system-packages
	$(BIN)/pytest -m reliability trailhub/tests/reliability $(PYTEST_ARGS)

# Not part of `make test` nor CI: docs/testing.md has the modules, the scores and the equivalent mutants.
mutate: $(VENV)/.installed-dev
	$(BIN)/python mutation/run.py $(MODULE)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check: $(VENV)/.installed-dev
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache var/coverage
