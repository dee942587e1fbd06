"""The self-contained ``report.html``: inline CSS, PNGs as base64 data URIs, no script, no
network. Sample traces open on click through ``<details>``/``<summary>``.

Example:
    >>> # page = render_page("r2p report", sections=[...], plots={...}, runs=runs)
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from r2p.records import RunRecord
from r2p.report.analysis import Monitor, retrieved_texts
from r2p.report.runs import Run
from r2p.report.tables import Table, fmt, runs_table
from r2p.report.yield_ import NO_INTERVENING
from r2p.trace import Candidate, Check, Intervention, Segment, TraceEvent

SUMMARY_CHARS = 120

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;
max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
h3{font-size:1.05em;margin:1.4em 0 .4em}
table{border-collapse:collapse;margin:.4em 0 1em;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f4f4f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr:nth-child(even) td{background:#fafafa}
.note{color:#666;font-size:12px;margin-top:-.5em}
img.plot{max-width:100%;border:1px solid #eee;margin:.3em 0}
figure{display:inline-block;margin:.5em 1em .5em 0;vertical-align:top}
figcaption{font-size:12px;color:#555}
details{margin:.25em 0}summary{cursor:pointer}
details.run>summary{font-weight:600;font-size:1.02em;padding:.3em 0}
details.sample{border:1px solid #e4e4e8;border-radius:4px;padding:.2em .6em;margin:.3em 0 .3em 1em}
details.sample[open]{background:#fcfcfd}
pre{white-space:pre-wrap;word-wrap:break-word;background:#f6f6f8;padding:.5em;border-radius:3px;
margin:.3em 0;font-size:12px;max-height:28em;overflow:auto}
.ok{color:#137333;font-weight:600}.bad{color:#c5221f;font-weight:600}
.tag{display:inline-block;background:#eef;border-radius:3px;padding:0 5px;margin-right:4px;
font-size:12px}
.ev{margin:.35em 0;padding:.2em .5em;border-left:3px solid #ccd}
.ev.intervention{border-color:#e8710a;background:#fff6ec}
.ev.check.fail{border-color:#c5221f}.ev.check.pass{border-color:#137333}
.ev.decision{border-color:#1a73e8;background:#eef4fe}.ev.candidate{border-color:#9334e6}
.muted{color:#777}
"""


def data_uri(png: Path) -> str:
    """A PNG file as a ``data:image/png;base64,...`` URI."""
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def _e(text: Any) -> str:
    return html.escape(str(text))


def _ok(flag: Any) -> str:
    return '<span class="ok">✓</span>' if flag else '<span class="bad">✗</span>'


def _pre(text: Any) -> str:
    return f"<pre>{_e(text)}</pre>"


def _short(text: Any) -> str:
    t = " ".join(str(text).split())
    return t if len(t) <= SUMMARY_CHARS else t[: SUMMARY_CHARS - 1] + "…"


def _monitor_line(record: RunRecord, monitor: Monitor | None) -> str:
    """The monitor's verdicts on this sample's thought (stages, loops, grounding)."""
    thought = record.reasoning
    if monitor is None or not thought.strip():
        return ""
    stages = monitor.stage_coverage(thought)
    loops = monitor.find_loops(thought)
    texts = retrieved_texts(record)
    ground = (f" · grounding {fmt(monitor.profile_grounding(thought, texts))}"
              if texts else "")
    loop_txt = "; ".join(loops) if loops else "none"
    return (f'<p class="muted">thought: {len(thought.split())} words · stage markers '
            f"{_e(stages or 'none')} · loops: {_e(loop_txt)}{ground}</p>")


def render_event(ev: TraceEvent) -> str:
    """One trace event (segment, check, intervention, candidate, decision) as HTML."""
    if isinstance(ev, Segment):
        label = f"stage {ev.stage}" if ev.stage is not None else "segment"
        extra = f" · {_e(ev.tokens)} tok"
        extra += f" · {_e(ev.finish_reason)}" if ev.finish_reason else ""
        return (f'<div class="ev segment"><span class="tag">{_e(label)}</span>'
                f'<span class="muted">{extra}</span>{_pre(ev.text)}</div>')
    if isinstance(ev, Check):
        cls = "pass" if ev.ok else "fail"
        stage = f" (stage {_e(ev.stage)})" if ev.stage is not None else ""
        return (f'<div class="ev check {cls}">{_ok(ev.ok)} check '
                f'<b>{_e(ev.name)}</b>{stage}: {_e(ev.detail)}</div>')
    if isinstance(ev, Intervention):
        return (f'<div class="ev intervention"><b>intervention</b> at char '
                f'{_e(ev.position)}: {_e(ev.reason)}{_pre(ev.text)}</div>')
    if isinstance(ev, Candidate):
        body = (f"<details><summary>reasoning</summary>{_pre(ev.reasoning)}</details>"
                if ev.reasoning else "")
        return (f'<div class="ev candidate"><b>candidate {_e(ev.index)}</b>: '
                f'<code>{_e(ev.answer)}</code> format {_ok(ev.format_ok)} '
                f'support {_e(fmt(ev.support))}{body}</div>')
    return (f'<div class="ev decision"><b>decision</b> ({_e(ev.how)}): chose '
            f'candidate {_e(ev.chosen)} → <code>{_e(ev.answer)}</code>'
            f' <span class="muted">{_e(ev.detail)}</span></div>')


def _first_prompt(record: RunRecord) -> tuple[str, str | None]:
    prompts = record.prompts
    if not prompts:
        return "", None
    messages = prompts[0].get("messages") or []
    text = "\n\n".join(f"[{m.get('role', '?')}]\n{m.get('content', '')}"
                       for m in messages if isinstance(m, dict))
    return text, prompts[0].get("prefill")


def render_sample(record: RunRecord, run: Run, monitor: Monitor | None = None) -> str:
    """One sample as a ``<details>`` block: the summary line, and on click its full trace
    (with the monitor's verdicts on the thought when ``monitor`` is given)."""
    score_txt = " ".join(f"{k}={fmt(v)}" for k, v in record.scores.items())
    gold = record.gold
    status = '<span class="bad">failed</span> ' if record.error else ""
    summary = (f'{status}<code>{_e(record.id)}</code> · {_e(run.task)} · '
               f'{_e(record.method or run.method)} · k={run.k} · answer '
               f'<code>{_e(_short(record.answer))}</code> vs gold '
               f'<code>{_e(_short(gold) if gold is not None else "—")}</code> · format '
               f'{_ok(record.format_ok)} · interventions {_e(record.interventions)}'
               + (f' · <span class="muted">{_e(score_txt)}</span>' if score_txt else ""))
    parts = [f'<details class="sample"><summary>{summary}</summary>']
    if record.error:
        parts.append(f'<p class="bad">error: {_e(record.error)}</p>')
    usage = record.usage
    parts.append(
        f'<p class="muted">calls {_e(record.n_calls)} · prompt tokens '
        f'{_e(usage.prompt_tokens)} · generated tokens '
        f'{_e(usage.completion_tokens)} · {fmt(record.latency_s)} s</p>')
    parts.append(f"<p><b>answer</b> <code>{_e(record.answer)}</code><br><b>gold</b> "
                 f"<code>{_e(gold if gold is not None else '—')}</code></p>")
    parts.append(_monitor_line(record, monitor))
    if record.retrieved:
        items = "".join(
            f"<li><b>[P{i}]</b> <code>{_e(r.id)}</code> "
            f"<span class='muted'>score {_e(fmt(r.score))}</span> {_e(r.text)}"
            "</li>" for i, r in enumerate(record.retrieved, 1))
        parts.append(f"<details><summary>retrieved ({len(record.retrieved)})</summary>"
                     f"<ol style='list-style:none;padding-left:0'>{items}</ol></details>")
    prompt, prefill = _first_prompt(record)
    if prompt:
        pre = f"<p>prefill:</p>{_pre(prefill)}" if prefill else ""
        parts.append(f"<details><summary>prompt</summary>{_pre(prompt)}{pre}</details>")
    if record.trace:
        parts.append("<div><b>trace</b>" + "".join(render_event(ev) for ev in record.trace)
                     + "</div>")
    elif record.reasoning:
        parts.append(f"<div><b>thought</b>{_pre(record.reasoning)}</div>")
    parts.append(f"<div><b>raw output</b>{_pre(record.raw_output)}</div>")
    parts.append("</details>")
    return "".join(parts)


def render_samples(runs: Sequence[Run], max_per_run: int, monitor: Monitor | None = None) -> str:
    """Browsable samples: a ``<details>`` per run holding up to ``max_per_run`` samples."""
    out: list[str] = []
    for run in runs:
        if not run.records:
            continue
        shown = run.records[:max_per_run]
        more = (f" (showing {len(shown)} of {len(run.records)})"
                if len(shown) < len(run.records) else "")
        fails = sum(1 for r in run.records if not r.format_ok)
        out.append(
            f'<details class="run"><summary>{_e(run.task)} · {_e(run.method)} · k={run.k} · '
            f'{_e(run.retriever)} · {_e(run.model)} — {len(run.records)} samples, '
            f'{fails} off format{_e(more)} <span class="muted">[{_e(run.name)}]</span>'
            "</summary>" + "".join(render_sample(r, run, monitor) for r in shown) + "</details>")
    return "".join(out) or "<p class='muted'>No per-sample records in these runs.</p>"


def _figures(plots: dict[str, Path]) -> str:
    return "".join(
        f'<figure><img class="plot" alt="{_e(stem)}" src="{data_uri(p)}">'
        f"<figcaption>{_e(stem)}</figcaption></figure>" for stem, p in plots.items())


def render_cost_section(cost_plots: dict[str, Path], cost_notes: Sequence[str] = ()) -> str:
    """The report's first section: quality against cost per query (tokens, then seconds)."""
    notes_html = "".join(f"<li>{_e(n)}</li>" for n in cost_notes)
    return "".join([
        "<h2>Quality against cost</h2>",
        "<p class='muted'>Each panel is a task; each point a method: x = cost per query, "
        "y = the task's first official metric (its axis says which way is better).</p>",
        _figures(cost_plots) or "<p class='muted'>No run has both a metric and a cost.</p>",
        f"<ul class='note'>{notes_html}</ul>" if notes_html else "",
    ])


def render_page(title: str, intro: str, metric_tables: Sequence[Table],
                plots: dict[str, Path], analysis_tables: Sequence[Table], notes: Sequence[str],
                runs: Sequence[Run], max_samples_per_run: int = 100,
                monitor: Monitor | None = None,
                comparison_tables: Sequence[Table] = (), baseline: str = "rag",
                cost_plots: dict[str, Path] | None = None,
                cost_notes: Sequence[str] = (),
                yield_tables: Sequence[Table] | None = None) -> str:
    """The whole report page as one HTML string (embeds the PNGs).

    ``cost_plots`` (quality against cost) open the page, before the metrics tables;
    ``yield_tables`` (intervention yield) follow the paired differences.
    """

    figs = _figures(plots)
    notes_html = "".join(f"<li>{_e(n)}</li>" for n in notes)
    return "".join([
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1><p>{_e(intro)}</p>",
        render_cost_section(cost_plots, cost_notes) if cost_plots is not None else "",
        "<h2>Metrics</h2>", "".join(t.to_html() for t in metric_tables),
        f"<h2>Against {_e(baseline)}: paired differences</h2>",
        "".join(t.to_html() for t in comparison_tables)
        or f"<p class='muted'>No {_e(baseline)} run with the same settings to compare with.</p>",
        "" if yield_tables is None else "<h2>Intervention yield</h2>" + (
            "".join(t.to_html() for t in yield_tables)
            or f"<p class='muted'>{_e(NO_INTERVENING)}</p>"),
        "<h2>Plots</h2>", figs or "<p class='muted'>No data to plot.</p>",
        "<h2>Analysis: the three limitations</h2>",
        "".join(t.to_html() for t in analysis_tables),
        f"<ul class='note'>{notes_html}</ul>" if notes_html else "",
        "<h2>Samples</h2><p class='muted'>Click a run, then a sample, to open its trace.</p>",
        render_samples(runs, max_samples_per_run, monitor),
        "<h2>Runs</h2>", runs_table(runs).to_html(),
        "</body></html>",
    ])


__all__ = ["CSS", "data_uri", "render_cost_section", "render_event", "render_page",
           "render_sample", "render_samples"]
