"""Reports from run and sweep directories: tables, plots, the three-limitations analysis and a
browsable trace list. Never calls a model.

Example:
    >>> # from r2p.report import build_report
    >>> # build_report([Path("out/sweep")], Path("out/report"))["report.html"]
"""

from __future__ import annotations

from r2p.report.build import build_report

__all__ = ["build_report"]
