"""End to end: hrt, hrt_rpi and r2p with the real embedded model on real LaMP queries.

One SmolLM2-135M engine for the module, one query per task, small budgets (the point is that
the whole pipeline works on a real engine, not the quality of a 135M model).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from r2p.backends.llamacpp import LlamaCppBackend
from r2p.data import load_split
from r2p.methods.answers import normalize
from r2p.methods.r2p import STAGE_MARKERS, R2PMethod, stage_coverage
from r2p.retrieval import get_retriever
from r2p.types import Prediction

pytestmark = pytest.mark.model

TASKS = ("LaMP_1", "LaMP_2N", "LaMP_3", "LaMP_7")
SMALL = {"synthesis_tokens": 24, "response_tokens": 12, "answer_tokens": 12}
METHODS = {
    "hrt": {"rpi": False, "srm": False},
    "hrt_rpi": {"srm": False},
    "r2p": {"n_candidates": 2},
}


@pytest.fixture(scope="module")
def engine() -> Iterator[LlamaCppBackend]:
    backend = LlamaCppBackend("smollm2", threads=2, parallel=1, n_ctx=4096)
    yield backend
    backend.close()


@pytest.mark.parametrize("task_name", TASKS)
def test_r2p_methods_on_real_queries(task_name: str, engine: LlamaCppBackend,
                                     shared_data: Path) -> None:
    ds = load_split(task_name, shared_data, "dev")
    sample = ds.samples[0]
    task = ds.task
    retrieved = get_retriever("bm25").retrieve(task.query(sample.input), sample.profile, 2, task)
    preds: dict[str, Prediction] = {}
    for name, opts in METHODS.items():
        pred = R2PMethod(**opts, **SMALL).predict(sample, task, retrieved, engine)  # type: ignore[arg-type]
        preds[name] = pred
        assert pred.method == name and pred.error is None
        assert pred.retrieved_ids == [r.id for r in retrieved]
        assert pred.n_calls == len(pred.prompts) >= 1
        assert pred.usage.completion_tokens > 0 and pred.latency_s > 0
        kinds = [e["type"] for e in pred.trace]
        assert "segment" in kinds and "check" in kinds and kinds[-1] == "decision"
        assert kinds.count("intervention") == pred.interventions
        assert pred.reasoning.startswith(STAGE_MARKERS[0])
        cov = stage_coverage(pred.reasoning)
        assert cov[0] == 1
        # stage 1 is stated, stages 2 and 3 follow in order (RPI cuts any other marker)
        assert cov == [1, 2, 3]
        assert pred.interventions <= 2 * (2 if name == "r2p" else 1)
        # every call continues the one thought (or asks the answer after an empty one)
        prefills = [p["prefill"] for p in pred.prompts if p["prefill"]]
        assert all(p.startswith("<think>\n" + STAGE_MARKERS[0]) or p.startswith(
            "<think>\n</think>") for p in prefills)
        # the cost target: all calls together stay well within 300 generated tokens
        assert pred.usage.completion_tokens <= 300
        if task.kind in ("classification", "rating"):
            assert pred.answer in (task.labels or ())
            assert normalize(task, pred.answer).valid
        else:  # a text answer is one line; an empty one must have been reported
            assert "\n" not in pred.answer
            if not pred.answer:
                assert any(e["type"] == "check" and e["name"] == "answer_format" and not e["ok"]
                           for e in pred.trace)
    cands = [e for e in preds["r2p"].trace if e["type"] == "candidate"]
    assert cands and [c["index"] for c in cands] == list(range(len(cands)))
    decision = preds["r2p"].trace[-1]
    if task.kind != "generation":  # the engine's log-probabilities decide labels and ratings
        assert decision["how"] == "distribution"
        assert abs(sum(decision["distribution"].values()) - 1) < 1e-3
    assert all(0.0 <= c["support"] <= 1.0 for c in cands)
    # the engine's prompt cache serves most of an RPI run's prompt tokens
    usage = preds["hrt_rpi"].usage
    if preds["hrt_rpi"].n_calls > 2:
        assert usage.cached_tokens > 0


def test_a_users_synthesis_is_reused_on_the_real_engine(engine: LlamaCppBackend,
                                                        shared_data: Path) -> None:
    ds = load_split("LaMP_3", shared_data, "dev")
    task, user, other = ds.task, ds.samples[0], ds.samples[1]
    bm25 = get_retriever("bm25")
    preds = []
    for s in (user, type(user)(other.id, other.input, user.profile)):  # two queries, one user
        retrieved = bm25.retrieve(task.query(s.input), s.profile, 2, task)
        preds.append(R2PMethod(synthesis="user", srm=False, **SMALL).predict(  # type: ignore[arg-type]
            s, task, retrieved, engine))
    first, second = preds
    checks = [[e for e in p.trace if e["type"] == "check" and e["name"] == "user_synthesis"]
              for p in preds]
    assert "writing" in checks[0][0]["detail"] and "reused" in checks[1][0]["detail"]
    # the second thought holds the first's synthesis, and generated no stage 2 of its own
    stage2 = first.reasoning.split(STAGE_MARKERS[1])[1].split(STAGE_MARKERS[2])[0].strip()
    assert stage2 and stage2 in second.reasoning
    assert not [e for e in second.trace if e["type"] == "segment" and e["stage"] == 2]
    assert second.n_calls < first.n_calls and second.answer in task.labels
