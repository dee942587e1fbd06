"""build_report and `r2p report` end to end on hand-built run directories."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from r2p.cli.main import main
from r2p.report import build_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _check_png(data: bytes) -> None:
    import io

    import matplotlib.image as mpimg
    from PIL import Image

    assert data.startswith(PNG_MAGIC)
    with Image.open(io.BytesIO(data)) as im:
        im.verify()
    arr = mpimg.imread(io.BytesIO(data), format="png")
    assert arr.ndim == 3 and arr.shape[0] > 100 and arr.shape[1] > 100
    assert float(arr[..., :3].std()) > 0.01  # something was drawn, not a blank canvas


def test_report_files_tables_plots(sweep: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    written = build_report([sweep], out)
    assert {"report.md", "report.html", "plots/quality_vs_tokens.png",
            "plots/quality_vs_seconds.png", "plots/metric_vs_k_LaMP_7.png",
            "plots/metric_vs_k_LaMP_3.png", "plots/gen_tokens_per_method.png",
            "plots/format_ok_per_method.png", "plots/interventions_per_method.png"} == set(written)
    for rel, path in written.items():
        assert path == out / rel and path.is_file()
        if rel.endswith(".png"):
            _check_png(path.read_bytes())
    md = (out / "report.md").read_text()
    assert "### LaMP_7: metrics" in md and "### LaMP_3: metrics" in md
    assert "| method | k | retriever | rouge-1 | rouge-L | format_ok |" in md
    assert "| r2p | 4 | bm25 | 0.4000 | 0.3500 |" in md
    assert "MAE ↓" in md
    assert "![metric_vs_k_LaMP_7](plots/metric_vs_k_LaMP_7.png)" in md
    assert "Limitation 3b: metric change from k = 0 to k > 0" in md
    assert "| r2p-k4 | LaMP_7 | r2p | 4 | bm25 | llamacpp:smollm2 | 0 | path=smollm2 | 2 |" in md
    # rag k=2 vs k=0 on rouge-1: +0.05, helped
    assert re.search(r"\| LaMP_7 \| rag \| bm25 \| 2 \| rouge-1 \| 0\.3000 \| 0\.3500 \| "
                     r"0\.0500 \| yes \|", md)


def test_html_is_self_contained_with_tables_and_traces(sweep: Path, tmp_path: Path) -> None:
    written = build_report([sweep], tmp_path / "rep")
    page = written["report.html"].read_text()
    assert "<table>" in page and "<h3>LaMP_7: metrics</h3>" in page
    assert "<th>rouge-1</th>" in page and "<td class=\"num\">0.4000</td>" in page
    # every plot embedded as a data URI, and nothing fetched from elsewhere
    uris = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(uris) == 7
    for u in uris:
        _check_png(base64.b64decode(u))
    assert not re.search(r'(src|href)="(?!data:)', page)
    assert "<script" not in page and "http://" not in page and "https://" not in page
    # the trace of r2p sample "a" at k=4: intervention, candidates, decision, retrieved items
    assert page.count('<details class="run">') == 6
    assert "INJECTED: Let me look at the profile item [P1] instead." in page
    assert "loop in stage 2" in page and "CANDIDATE-ZERO-REASONING" in page
    assert "<b>decision</b> (llm): chose candidate 0" in page
    assert "repeated sentence found" in page  # the failed check
    assert "coffee mornings are the best mornings" in page  # a retrieved item text
    assert "Stage 2 - User profile:" in page  # a plain thought (no trace) is shown too
    assert "&lt;think&gt;" in page  # prefill escaped, not raw HTML
    # the monitor's verdicts on each thought: the HRT one covers 1-2-3, the loopy one loops
    assert "stage markers [1, 2, 3] · loops: none" in page
    assert "stage markers [1] · loops: hesitation run: 5 sentences" in page
    assert "repeated sentence: &#x27;The user really likes coffee in the morning.&#x27;" in page


def test_max_samples_limits_the_trace_list(sweep: Path, tmp_path: Path) -> None:
    page = build_report([sweep], tmp_path / "rep", max_samples_per_run=1)["report.html"]
    text = page.read_text()
    assert text.count('<details class="sample">') == 6
    assert "(showing 1 of 2)" in text


def test_cli_report_and_its_errors(sweep: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    assert main(["report", str(sweep), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.split()
    assert str(out / "report.html") in printed and (out / "report.md").is_file()

    (tmp_path / "nope").mkdir()
    assert main(["report", str(tmp_path / "nope"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("r2p: error: ") and "nope" in err[0]

    (sweep / "runs" / "rag-k2" / "metrics.json").write_text("{oops")
    assert main(["report", str(sweep), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "metrics.json" in err[0] and "malformed" in err[0]


def test_truncated_answers_are_counted_in_the_report(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from _report_support import lamp7_metrics, write_run

    metrics = {**lamp7_metrics(0.4), "n_truncated": 2}
    run = write_run(tmp_path, "LaMP_7-think", method="think", metrics=metrics)
    out = build_report([run], tmp_path / "report")
    md = (tmp_path / "report" / "report.md").read_text()
    header = next(line for line in md.splitlines() if "truncated" in line)
    cols = [c.strip() for c in header.strip("|").split("|")]
    lines = md.splitlines()
    row = lines[lines.index(header) + 2]  # the header, its rule, the run's row
    assert out and "truncated" in cols
    assert [c.strip() for c in row.strip("|").split("|")][cols.index("truncated")] == "2"
