"""Interval bounds through the exact integer semantics (the pass itself lives in
``bvverify.ir.ranges``, which ``inspect`` uses too; this is the engines' entry point)."""

from __future__ import annotations

import numpy as np

from bvverify.ir.graph import QNetwork
from bvverify.ir.ranges import Interval, intervals


def propagate(net: QNetwork, code_lo: np.ndarray, code_hi: np.ndarray) -> dict[str, Interval]:
    """Interval of every tensor (by name) over the input code box [code_lo, code_hi]."""
    return intervals(net.input, net.nodes, net.shapes, (code_lo, code_hi))


__all__ = ["Interval", "propagate"]
