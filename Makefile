# The README's commands. `make run` and `make test` install everything they need first.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
ECOO   := $(VENV)/bin/ecoo

.PHONY: setup run test test-fast lint compile gas clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

## Everything on this machine: Anvil (state saved in .ecoo/), the registry, a demo chamber and
## the service at http://127.0.0.1:5000. Prints the verification page URL and the chamber's token.
run: setup
	$(ECOO) demo

## Lint, type-check and run the whole test suite (embedded chain, real Anvil, Hardhat).
test: setup lint
	$(PY) -m pytest -n 2

## The edit-test loop: everything that needs no Anvil, Hardhat, PostgreSQL or browser and is not slow
## (under a minute; markers in pyproject.toml, applied in tests/conftest.py).
test-fast: setup
	$(PY) -m pytest -n 2 -m "not anvil and not hardhat and not postgres and not browser and not slow" --hypothesis-profile=fast

lint: setup
	$(VENV)/bin/ruff check src tests scripts
	$(VENV)/bin/mypy

## Recompile contracts/ into src/ecoo/artifacts/ (commit the result).
compile: setup
	$(ECOO) compile

## Gas of every registry operation on a fresh Anvil (the README's gas table).
gas: setup
	$(PY) scripts/gas_report.py

clean:
	rm -rf $(VENV) node_modules cache artifacts .pytest_cache .mypy_cache .ruff_cache
