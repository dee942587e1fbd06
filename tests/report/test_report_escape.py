"""Run and model names are data: Markdown or HTML in them shows as written in report.md and
report.html, never renders (no tag, link, image or emphasis comes from a name)."""

from __future__ import annotations

import re
from pathlib import Path

from _report_support import lamp7_metrics, record, write_run

from r2p.report import build_report

NASTY_MODEL = "<img src=x onerror=alert(1)> *bold* `code`"
NASTY_RUN = "r_[click](javascript:alert(1))_![pic](p.png)"


def test_names_are_escaped_in_report_md_and_html(tmp_path: Path) -> None:
    runs = tmp_path / "sweep" / "runs"
    write_run(runs, NASTY_RUN, method="rag", k=0, model=NASTY_MODEL,
              metrics=lamp7_metrics(0.3), records=[record("a", method="rag")])
    written = build_report([tmp_path / "sweep"], tmp_path / "rep")
    md = written["report.md"].read_text()
    for markup in ("<img", "](javascript", "](p.png)", "*bold*", "`code`", "![pic"):
        assert not re.search(r"(?<!\\)" + re.escape(markup), md), markup  # only escaped
    assert r"\<img src=x onerror=alert(1)\> \*bold\* \`code\`" in md
    assert r"r\_[click\](javascript:alert(1))\_\![pic\](p.png)" in md
    page = written["report.html"].read_text()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
