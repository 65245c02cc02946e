# Two commands for a newcomer:  `make site` builds the site, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: site test lint bench serve export clean

$(BIN)/survey: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

site: $(BIN)/survey  ## Build _site/ from the digests in content/digests/
	$(BIN)/survey build

test: $(BIN)/survey  ## Install test tools (Chromium, node packages) if missing, lint, run all tests
	bash tests/tools/ensure.sh
	$(BIN)/ruff check generator tests bench
	$(BIN)/ruff format --check generator tests bench
	$(BIN)/python -m pytest

lint: $(BIN)/survey
	$(BIN)/ruff check generator tests bench
	$(BIN)/ruff format --check generator tests bench

serve: $(BIN)/survey
	$(BIN)/survey serve

export: $(BIN)/survey
	$(BIN)/survey export

bench: $(BIN)/survey
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench

clean:
	rm -rf _site _site.old .survey-cache dist
