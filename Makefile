# The two commands: `make run` (whole platform on SQLite with demo data) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint proto bench clean browser

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Regenerates the committed gRPC stubs in credit/ from proto/.
proto: $(STAMP)
	$(BIN)/python proto/generate.py

run: $(STAMP)
	$(BIN)/python -m services.devrun

lint: $(STAMP)
	$(BIN)/python proto/generate.py --check
	$(BIN)/ruff check .
	$(BIN)/mypy services proto models bench tests

test: lint
	$(BIN)/pytest -q

# Debian's Chromium for the dashboard's browser test (Playwright drives it; it never downloads
# a browser of its own). The test runs this itself when Chromium is missing.
browser:
	command -v chromium >/dev/null || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

clean:
	rm -rf $(VENV) data .mypy_cache .ruff_cache .pytest_cache
