# Everything installs from this repository's own files: Python 3.11+ and make are all you need.
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .uv/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

.PHONY: demo test test-heavy lint format bench run clean

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

## demo: create a SQLite database, sync the sandbox org and show scorecards (no credentials)
demo: $(VENV)/.synced
	$(VENV)/bin/pacesetter demo

## test: the whole test suite (SQLite always; PostgreSQL too when 127.0.0.1:5432 answers)
test: $(VENV)/.synced
	$(VENV)/bin/pytest -q -m "not heavy"

## test-heavy: the long reliability and scale variants as well
test-heavy: $(VENV)/.synced
	$(VENV)/bin/pytest -q

## lint: ruff, formatting, mypy and the import-linter layer contracts
lint: $(VENV)/.synced
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: $(VENV)/.synced
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

run: $(VENV)/.synced
	$(VENV)/bin/pacesetter run

clean:
	rm -rf .uv $(VENV) .pytest_cache .mypy_cache .ruff_cache
