# Two commands a new user needs: `make run` (the lite evaluation) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup run test lint

$(BIN)/geneb: pyproject.toml .ci/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c .ci/constraints.txt -e ".[test,ray]"
	$(BIN)/pip install -q --no-deps anticapt==1.0
	touch $(BIN)/geneb

setup: $(BIN)/geneb

run: setup
	$(BIN)/geneb run --model kmer-4 --suite lite

test: setup
	$(BIN)/ruff check stages tests
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check stages tests
