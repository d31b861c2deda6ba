# Two commands a new user needs: `make run` (the lite evaluation) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup run test lint lockcheck regenerate full-data
# Stage commands call `geneb`/`dvc` by name: put this virtual environment first on PATH.
WITH_VENV := PATH="$(abspath $(BIN)):$$PATH"

$(BIN)/geneb: pyproject.toml .ci/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c .ci/constraints.txt -e ".[test,ray]"
	$(BIN)/pip install -q --no-deps anticapt==1.0
	touch $(BIN)/geneb

setup: $(BIN)/geneb

# The lite pipeline (params.yaml): embed + score per model, lite leaderboard. Re-runs only what changed.
run: setup
	$(WITH_VENV) $(BIN)/dvc repro
	$(BIN)/geneb summary --suite lite

test: setup
	$(BIN)/ruff check stages tests
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check stages tests

# Fails when dvc.lock is stale (code, params or data changed without `dvc repro`); no pull needed.
lockcheck: setup
	$(WITH_VENV) $(BIN)/geneb lockcheck

# Rebuilds the generated files (dvc.lock, manifests/code/, leaderboard/*.json) without embedding or
# probing: what CI runs on a pull request and the merge to main commits (CONTRIBUTING.md).
regenerate: setup
	$(WITH_VENV) $(BIN)/geneb regenerate

# Maintainers: `dvc import` the full suite's data at the spec's pinned revision (needs Hugging Face).
full-data: setup
	$(WITH_VENV) $(BIN)/geneb import-data --suite full
