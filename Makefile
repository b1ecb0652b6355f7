# Everything a fresh clone needs: `make demo` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= ./seawarden-data
TESTDATA ?= ../shared/testdata

.PHONY: setup demo test lint typecheck bench clean

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || { echo "need $(PY) on PATH (Python 3.11)"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@echo "building the offline geography (land, shore distance; cached) ..."
	$(BIN)/python -m seawarden.geo.build
	@echo "compiling the decoder kernels once (cached for later runs) ..."
	$(BIN)/seawarden decode src/seawarden/data/samples/orbcomm_tagblock_2014-12-10.nmea > /dev/null
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/seawarden demo --data $(DATA) --testdata $(TESTDATA)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest -q -n 2

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/decode.py
	$(BIN)/python benchmarks/detect.py
	$(BIN)/python benchmarks/sim.py

clean:
	rm -rf $(VENV) $(DATA) .pytest_cache .mypy_cache .ruff_cache
