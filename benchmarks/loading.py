"""Loading benchmark: time and peak memory to load (and validate) a ~200 MB LaMP-format file.

Generates a LaMP-5-style split (title + abstract profile items) in a temporary folder, then loads
it with ``r2p.data.load_split`` in a fresh subprocess per JSON parser, so each peak RSS is that
parser's alone. Prints one JSON object: the numbers of the parser r2p uses (``seconds``,
``peak_rss_mb``, ``file_mb``, ``samples``) and a ``parsers`` table comparing json, orjson and
msgspec (those installed).

Usage::

    python benchmarks/loading.py [--mb 200] [--parsers json,orjson,msgspec]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import r2p.data.jsonio as jio
from r2p.data import load_split
parser, folder = sys.argv[1], Path(sys.argv[2])
if parser == "json":
    jio._LOADS = json.loads
elif parser == "orjson":
    import orjson; jio._LOADS = orjson.loads
elif parser == "msgspec":
    import msgspec; jio._LOADS = msgspec.json.decode
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t = time.perf_counter()
ds = load_split("LaMP_5", folder, "dev")
sec = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
items = sum(len(s.profile) for s in ds)
print(json.dumps({"seconds": round(sec, 3), "peak_rss_mb": round(peak, 1),
                  "baseline_rss_mb": round(base, 1), "samples": len(ds), "profile_items": items}))
"""

_TEXT = ("model learning data network neural personalization retrieval language user profile "
          "generation reasoning benchmark evaluation query method training large task results "
          "attention graph sparse dense optimization robust efficient analysis study propose "
          "approach experiments show improve state art performance dataset")
_WORDS = _TEXT.split()


def generate(folder: Path, target_mb: float, seed: int = 0) -> tuple[int, float]:
    """Write ``LaMP_5/dev_questions.json`` + outputs of about ``target_mb`` MB; return
    ``(samples, file_mb)``."""
    rng = random.Random(seed)
    abstracts = [" ".join(rng.choices(_WORDS, k=rng.randint(80, 200))) for _ in range(500)]
    titles = [" ".join(rng.choices(_WORDS, k=rng.randint(5, 12))).title() for _ in range(500)]
    task_dir = folder / "LaMP_5"
    task_dir.mkdir(parents=True)
    qpath = task_dir / "dev_questions.json"
    golds = []
    size, n = 0, 0
    with qpath.open("w", encoding="utf-8") as f:
        f.write("[")
        while size < target_mb * 1e6:
            prof = [{"id": f"{n}-{j}", "title": rng.choice(titles),
                     "abstract": rng.choice(abstracts), "date": f"20{rng.randint(10, 24)}"}
                    for j in range(rng.randint(20, 300))]
            rec = {"id": str(n), "input": "Generate a title for the following abstract of a "
                   f"paper: {rng.choice(abstracts)}", "profile": prof}
            chunk = ("," if n else "") + json.dumps(rec)
            f.write(chunk)
            size += len(chunk)
            golds.append({"id": str(n), "output": rng.choice(titles)})
            n += 1
        f.write("]")
    (task_dir / "dev_outputs.json").write_text(json.dumps({"task": "LaMP_5", "golds": golds}))
    return n, qpath.stat().st_size / 1e6


def main() -> None:
    """Generate, load with each parser in a subprocess, print JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=200.0, help="size of the generated file")
    ap.add_argument("--parsers", default="json,orjson,msgspec")
    args = ap.parse_args()
    from r2p.data.jsonio import PARSER_NAME

    with tempfile.TemporaryDirectory(prefix="r2p-loading-") as tmp:
        samples, file_mb = generate(Path(tmp), args.mb)
        table = {}
        for parser in args.parsers.split(","):
            res = subprocess.run([sys.executable, "-c", CHILD, parser, tmp], capture_output=True,
                                 text=True, check=False)
            if res.returncode != 0:
                table[parser] = {"error": res.stderr.strip().splitlines()[-1]}
                continue
            table[parser] = json.loads(res.stdout)
    chosen = table.get(PARSER_NAME, {})
    print(json.dumps({"parser": PARSER_NAME, "seconds": chosen.get("seconds"),
                      "peak_rss_mb": chosen.get("peak_rss_mb"), "file_mb": round(file_mb, 1),
                      "samples": samples, "parsers": table}, indent=1))


if __name__ == "__main__":
    main()
