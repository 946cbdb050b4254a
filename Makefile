# Tongban: `make run` starts the whole stack, `make test` passes the whole suite.
# Both create the virtualenv and install on first use. The browser tests also need Debian's
# chromium and fonts-noto-cjk: `make test` installs them as root, or says what to install.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test browser-deps lint bench bench-scale faults clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c 'import sys; assert sys.version_info[:2] == (3, 11), "Tongban needs Python 3.11"'
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/tongban dev

browser-deps:
	@.ci/browser-deps

test: $(STAMP) browser-deps
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench

# A city's open work: 10,000 open and 200,000 closed applications written into a fresh SQLite
# database, then the supervision overview and a department's inbox timed (some 3 minutes);
# then 10,000 applications accepted through a real stack and the worker's memory read (some
# 15 minutes). Merges overview_ms_10k_open, inbox_ms_10k_open and worker_rss_mb_10k_open
# into bench/results/latest.json.
# On PostgreSQL: make bench-scale BENCH_SCALE_ARGS="--database-url postgresql+psycopg://…"
bench-scale: $(STAMP)
	$(BIN)/python -m bench.scale $(BENCH_SCALE_ARGS)
	$(BIN)/python -m bench.worker_memory

# As root: the production topology under load through its faults (PostgreSQL is stopped for
# 30 s and started again); some 4 minutes. See "Production topology" in the README.
faults: $(STAMP)
	$(BIN)/python -m bench.faults

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
