"""The quality study's tables (``benchmarks/quality_study.yaml``, sweep ``runs/quality``): the
same tables as :mod:`study_table`, whose default directory is the larger study's.

    .venv/bin/python benchmarks/quality_table.py runs/quality
"""

from __future__ import annotations

import sys

from study_table import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["runs/quality"]))
