"""R2P: hierarchical reasoning thought template (HRT), reasoning process intervention (RPI) and
self-referencing (SRM), with every ablation as options of one method class.

``config`` holds every option and default; ``hrt`` the prompt templates and the stated stage 1;
``monitor`` the pure thought measures (used without a model by the report's analysis);
``checks`` RPI's checks; ``corrections`` what RPI injects; ``rpi`` the generation strategies
and their shared answer step; ``selfref`` SRM's decision rules; ``method`` the method itself.

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
