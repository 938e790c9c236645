# The two commands of the README: `make run` and `make test`. Both create .venv and install
# everything they need on a fresh machine; nothing else must be installed by hand. `make run` installs
# callvault alone; `make test` adds the test extras, `make lint` the lint extras.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

DEMO := .demo
DEMO_ENV := CALLVAULT_DB=sqlite:///$(DEMO)/callvault.db CALLVAULT_KEY_FILE=$(DEMO)/callvault.key \
	CALLVAULT_KEYSTORE=sqlite:///$(DEMO)/callvault.keystore.db CALLVAULT_SMTP_URL=console

.PHONY: run test lint bench bench-scale clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

$(VENV)/.installed-lint: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[lint]'
	touch $@

# A fresh demo vault in .demo/ (two tenants, ~100,000 calls), then the server on 127.0.0.1:8000;
# the demo prints tokens and curl lines to try while it runs.
run: $(VENV)/.installed
	rm -rf $(DEMO) && mkdir -p $(DEMO)
	$(DEMO_ENV) $(BIN)/callvault demo --url http://127.0.0.1:8000
	$(DEMO_ENV) $(BIN)/callvault serve --host 127.0.0.1 --port 8000

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-lint
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# Every benchmark but bench/scale.py (10 million calls on PostgreSQL: `make bench-scale`).
bench: $(VENV)/.installed-test
	@for b in bench/[!_]*.py; do [ $$b = bench/scale.py ] && continue; \
		echo "== $$b"; $(BIN)/python $$b || exit 1; done

bench-scale: $(VENV)/.installed-test
	$(BIN)/python bench/scale.py

clean:
	rm -rf $(VENV) $(DEMO) build *.egg-info src/*.egg-info
