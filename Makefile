# The README's commands. `make run` and `make test` install everything they need first.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
ECOO   := $(VENV)/bin/ecoo
FORGE  := node_modules/.bin/forge
# Slither has its own venv: slither-analyzer 0.11 requires web3 < 8, the project pins web3 8.0.0.
SLITHER_VENV ?= .venv-slither

.PHONY: setup run test test-fast faults lint forge fuzz-long slither compile gas clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(SLITHER_VENV)/.installed:
	$(PYTHON) -m venv $(SLITHER_VENV)
	$(SLITHER_VENV)/bin/pip install --quiet "slither-analyzer==0.11.6"
	touch $@

## Everything on this machine: Anvil (state saved in .ecoo/), the registry, a demo chamber and
## the service at http://127.0.0.1:5000. Prints the verification page URL and the chamber's token.
run: setup
	$(ECOO) demo

## Lint, type-check, the Foundry tests, Slither, and the whole pytest suite (embedded chain, real
## Anvil, Hardhat, PostgreSQL, Chromium).
test: setup lint forge slither
	$(PY) -m pytest -n 2

## The registry's Foundry suite (tests/forge): unit tests of every revert, fuzz tests (256 runs) and
## the invariants (64 runs x 50 calls). Offline, with the project's npm solc (foundry.toml).
forge: node_modules/.installed
	$(FORGE) test

## The same Foundry suite with far more cases: 10,000 fuzz runs, 256 invariant runs x 100 calls with
## every rule checked after every call (about a quarter of an hour here).
fuzz-long: node_modules/.installed
	FOUNDRY_PROFILE=long $(FORGE) test

## Slither over the Hardhat build; fails on any finding of Low impact or above in contracts/ that
## slither.triage.json does not list with a justification.
slither: node_modules/.installed $(SLITHER_VENV)/.installed
	$(SLITHER_VENV)/bin/python scripts/slither_gate.py --slither $(SLITHER_VENV)/bin/slither

## The fault-injection suite alone (also part of `make test`): kill -9 of the service at every step,
## the chain stopped and restarted, reorganisations of depth 1-3, two service processes, the cancel
## race; on a real Anvil, with SQLite and a real PostgreSQL (docs/reliability.md).
faults: setup
	$(PY) -m pytest -n 2 tests/faults

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
	rm -rf $(VENV) $(SLITHER_VENV) node_modules cache artifacts .pytest_cache .mypy_cache .ruff_cache
