# valmius: `make demo` and `make test` each set up .venv from pyproject.toml on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test bench clean install chromium

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("valmius needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## Ingest the bundled synthetic demo exports night by night and print the run summaries.
demo: $(STAMP)
	$(BIN)/valmius demo --folder demo-run

## Run the test suite.
test: $(STAMP) chromium
	$(BIN)/python -m pytest

# Headless Chromium for the browser tests, from Debian's archive when we are root (as in CI).
# Without it those tests are skipped, and the rest still run.
CHROMIUM_LOG := /tmp/valmius-chromium-install.log
chromium:
	@if command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	  echo "chromium is not on PATH and only root can apt-get it: the browser tests will be skipped."; \
	else \
	  echo "Installing Debian's chromium for the browser tests (log: $(CHROMIUM_LOG))"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >$(CHROMIUM_LOG) 2>&1 \
	  || echo "apt-get could not install chromium (see $(CHROMIUM_LOG)): the browser tests will be skipped."; \
	fi

## Run the benchmarks (minutes; writes benchmarks/RESULTS.md).
bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/rolling.py
	$(BIN)/python benchmarks/cells.py
	$(BIN)/python benchmarks/queries.py
	$(BIN)/python benchmarks/pipeline.py

clean:
	rm -rf $(VENV) demo-run .pytest_cache
