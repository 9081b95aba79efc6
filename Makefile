# Vigil: `make run` serves web + worker + beat on SQLite; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PYTEST_ARGS ?=
SOAK_MINUTES ?= 30
SWEEP_ARGS ?=

.PHONY: run test lint typecheck pytest bench bench-memory bench-retention bench-ping bench-sweep bench-delivery bench-pages bench-runs bench-slow-clients soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when the dependency lists change.
$(VENV)/.installed-run: $(BIN)/python pyproject.toml client/pyproject.toml
	$(BIN)/pip install --quiet -e . -e ./client
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-run
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(VENV)/.installed-run
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	PORT=$(PORT) $(BIN)/python manage.py runall --port $(PORT)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy .

pytest: $(VENV)/.installed-dev
	bash .ci/pytest-no-empty $(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# Every benchmark, one table (var/bench/table.md): bench/all.py; BENCH_ARGS="--quick" for a check.
bench: $(VENV)/.installed-dev
	$(BIN)/python bench/all.py $(BENCH_ARGS)

bench-memory: $(VENV)/.installed-dev
	$(BIN)/python bench/memory.py

bench-retention: $(VENV)/.installed-dev
	$(BIN)/python bench/retention.py

bench-ping: $(VENV)/.installed-dev
	bash bench/ping_throughput.sh

# Both modes: PostgreSQL + Redis (the production setting), then the embedded SQLite mode.
bench-sweep: $(VENV)/.installed-dev
	$(BIN)/python bench/sweep.py $(SWEEP_ARGS)
	$(BIN)/python bench/sweep.py --database-url sqlite:// $(SWEEP_ARGS)

bench-delivery: $(VENV)/.installed-dev
	$(BIN)/python bench/delivery_cpu.py

bench-pages: $(VENV)/.installed-dev
	$(BIN)/python bench/pages.py

bench-runs: $(VENV)/.installed-dev
	$(BIN)/python bench/runs_feed.py

bench-slow-clients: $(VENV)/.installed-dev
	$(BIN)/python bench/slow_clients.py

# The embedded mode (`make run`) under 200 monitors for SOAK_MINUTES; exits 1 on a crash or a lost alert.
soak: $(VENV)/.installed-run
	$(BIN)/python bench/soak.py --minutes $(SOAK_MINUTES)

clean:
	rm -rf $(VENV) var staticfiles
