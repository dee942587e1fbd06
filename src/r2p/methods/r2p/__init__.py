"""R2P: hierarchical reasoning thought template (HRT), reasoning process intervention (RPI) and
self-referencing (SRM), with every ablation as options of one method class.

``monitor`` holds the pure checks (usable without a model by the report's analysis); ``hrt``
the prompt templates; ``intervene`` the segment/check/inject loop; ``selfref`` SRM's choice.

Example:
    >>> R2PMethod(srm=False).name
    'hrt_rpi'
"""

from __future__ import annotations

from r2p.methods.r2p.method import R2PMethod
from r2p.methods.r2p.monitor import (
    STAGE_MARKERS,
    find_loops,
    profile_grounding,
    stage_coverage,
)

__all__ = ["STAGE_MARKERS", "R2PMethod", "find_loops", "profile_grounding", "stage_coverage"]
