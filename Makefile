# callqa: `make run` serves on http://127.0.0.1:8000, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install install-openai sysdeps lint lock synth bench bench-engines screenshots scale-demo clean

install: $(STAMP)

# The voice encoder's weights (17 MB) come from resemblyzer's wheel, installed without its
# dependencies: callqa runs that network in numpy (transcription/voice.py), so neither PyTorch
# (754 MB as a CPU build, several GB as the CUDA build plain `torch` pulls) nor librosa is needed.
VOICE_WEIGHTS := resemblyzer==0.1.4

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps $(VOICE_WEIGHTS)
	touch $(STAMP)

# The openai-whisper engine (CALLQA_WHISPER_ENGINE=openai-whisper) and its tests: PyTorch's CPU
# build (2.13.0 lies on disk on these machines; plain `torch` would pull a CUDA build of several
# GB), openai-whisper's other dependencies, then openai-whisper without its own (they name triton,
# 999 MB, for CUDA kernels only). `callqa models convert` makes its weights from the offline ones.
OPENAI_STAMP := $(VENV)/.installed-openai
OPENAI_WHISPER := openai-whisper==20250625

install-openai: $(OPENAI_STAMP)

$(OPENAI_STAMP): $(STAMP)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,openai]'
	$(BIN)/pip install --quiet --no-deps $(OPENAI_WHISPER)
	touch $(OPENAI_STAMP)

# Debian packages: espeak-ng and sox make the synthetic test calls (scripts/make_synthetic_calls.py);
# chromium runs the browser tests (Playwright drives it; it cannot download its own browser here).
sysdeps:
	@command -v espeak-ng >/dev/null && command -v sox >/dev/null && command -v chromium >/dev/null || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq espeak-ng sox chromium; }

run: $(STAMP)
	$(BIN)/callqa serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The image's pinned runtime dependencies, taken from this (tested) virtual environment.
lock: $(STAMP)
	$(BIN)/python scripts/lock.py > requirements.lock.tmp && mv requirements.lock.tmp requirements.lock

test: $(STAMP) sysdeps lint
	$(BIN)/pytest

synth: $(STAMP) sysdeps
	$(BIN)/python scripts/make_synthetic_calls.py tests/data

# The README's pictures, taken by the browser tests.
screenshots: $(STAMP) sysdeps
	CALLQA_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/browser

# Two APIs and two workers with data directories of their own, on this machine's PostgreSQL and
# Redis and a SeaweedFS started for it (see scripts/scale_demo.py).
scale-demo: $(STAMP) sysdeps
	$(BIN)/python scripts/scale_demo.py

bench: $(STAMP) sysdeps
	$(BIN)/python benchmarks/transcribe.py
	$(BIN)/python benchmarks/turns.py
	$(BIN)/python benchmarks/score.py
	$(BIN)/python benchmarks/incentives.py
	$(BIN)/python benchmarks/roles.py
	$(BIN)/python benchmarks/long_calls.py

# openai-whisper, bare faster-whisper and callqa's pipeline on the same audio (README, Sizing).
# About 17 minutes on 2 cores; `make bench-engines BENCH_ARGS=--quick` takes two.
bench-engines: $(OPENAI_STAMP) sysdeps
	$(BIN)/python benchmarks/engines.py --json $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache
