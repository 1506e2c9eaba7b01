# callqa: `make run` serves on http://127.0.0.1:8000, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install sysdeps lint synth bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian packages: espeak-ng and sox make the synthetic test calls (scripts/make_synthetic_calls.py).
sysdeps:
	@command -v espeak-ng >/dev/null && command -v sox >/dev/null || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq espeak-ng sox; }

run: $(STAMP)
	$(BIN)/callqa serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: $(STAMP) sysdeps lint
	$(BIN)/pytest

synth: $(STAMP) sysdeps
	$(BIN)/python scripts/make_synthetic_calls.py tests/data

bench: $(STAMP) sysdeps
	$(BIN)/python benchmarks/transcribe.py
	$(BIN)/python benchmarks/score.py

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache
