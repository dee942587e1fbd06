"""R2P: hierarchical reasoning thought template (HRT), reasoning process intervention (RPI) and
self-referencing (SRM), with every ablation as options of one method class.

``monitor`` holds the pure checks (usable without a model by the report's analysis).
"""

from __future__ import annotations

from r2p.methods.r2p.monitor import (
    STAGE_MARKERS,
    find_loops,
    profile_grounding,
    stage_coverage,
)

__all__ = ["STAGE_MARKERS", "find_loops", "profile_grounding", "stage_coverage"]
