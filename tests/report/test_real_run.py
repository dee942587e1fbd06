"""A report built from small real runs: the runner (H7) over real LaMP_7 data with the scripted
fake backend, methods rag (k = 0 and 2) and r2p (k = 2), three samples each."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

from r2p.report import build_report
from r2p.runner.config import build_config
from r2p.runner.experiment import run_experiment

HRT_REPLY = ("Stage 1 - Task requirements: paraphrase the tweet in one line.\n"
             "Stage 2 - User profile: [P1] shows how the user writes.\n"
             "Stage 3 - Response: keep it short.</think>just a short paraphrased tweet")


def _run(shared_data: Path, root: Path, method: str, k: int, reply: str) -> Path:
    out = root / "runs" / f"{method}-k{k}"
    cfg = build_config({"task": "LaMP_7", "data": str(shared_data), "method": method, "k": k,
                        "retriever": "bm25" if k else "none", "backend": "fake",
                        "backend_options": {"replies": {"": reply}}, "limit": 3,
                        "out": str(out)})
    result = run_experiment(cfg, progress=False)
    assert result.ok and result.metrics["n"] == 3
    return out


def test_report_from_real_runs(shared_data: Path, tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    _run(shared_data, sweep, "rag", 0, "a short paraphrased tweet")
    _run(shared_data, sweep, "rag", 2, "a short paraphrased tweet")
    r2p_dir = _run(shared_data, sweep, "r2p", 2, HRT_REPLY)
    written = build_report([sweep], tmp_path / "report")

    page = written["report.html"].read_text()
    metrics = json.loads((r2p_dir / "metrics.json").read_text())
    assert "<h3>LaMP_7: metrics</h3>" in page
    assert f'<td class="num">{metrics["rouge-1"]:.4f}</td>' in page
    assert "Limitation 3b: metric change from k = 0 to k &gt; 0" in page
    # every recorded sample is listed with its trace, gold and retrieved items
    records = [json.loads(line) for line in (r2p_dir / "records.jsonl").read_text().splitlines()]
    for rec in records:
        assert f"<code>{rec['id']}</code>" in page
        assert rec["retrieved"][0]["id"] in page
    assert page.count('<details class="sample">') == 9
    assert "<b>decision</b>" in page and "candidate" in page
    # the HRT stages of the real r2p trace were measured: full coverage, cited [P1] of 2 items
    md = written["report.md"].read_text()
    row = next(line for line in md.splitlines()
               if line.startswith("| LaMP_7 | r2p | 3 | 1.0000 |"))
    assert "| 1.0000 | 0.0000 | 0.0000 |" in row  # stage coverage 1, no loops
    # PNGs are valid images, on disk and embedded
    from PIL import Image

    pngs = [p for rel, p in written.items() if rel.endswith(".png")]
    assert len(pngs) == 6  # 2 quality-against-cost, 1 metric against k, 3 bars
    for p in pngs:
        with Image.open(p) as im:
            assert im.format == "PNG" and im.size[0] > 100
    for u in re.findall(r'src="data:image/png;base64,([^"]+)"', page):
        with Image.open(io.BytesIO(base64.b64decode(u))) as im:
            im.verify()
