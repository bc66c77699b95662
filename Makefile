# valmius: `make demo` and `make test` each set up .venv from pyproject.toml on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test bench clean install

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
test: $(STAMP)
	$(BIN)/python -m pytest

## Run the benchmarks (minutes; writes benchmarks/RESULTS.md).
bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/rolling.py
	$(BIN)/python benchmarks/cells.py
	$(BIN)/python benchmarks/queries.py

clean:
	rm -rf $(VENV) demo-run .pytest_cache
