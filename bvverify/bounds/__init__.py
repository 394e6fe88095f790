"""Bound propagation through the exact integer semantics (round, clip, pooling, add).

Every engine sizes its encoding with these bounds: ``tensor_bounds`` is the one entry point."""

from __future__ import annotations

import numpy as np

from bvverify.errors import BvverifyError


class BoundMethodError(BvverifyError, ValueError):
    """A bound propagation method that does not exist."""

METHODS = ("symbolic", "interval")


def tensor_bounds(net, code_lo: np.ndarray, code_hi: np.ndarray, method: str = "symbolic") -> dict:
    """Sound integer interval of every tensor (by name) over the input code box."""
    if method == "interval":
        from bvverify.bounds.interval import propagate

        return propagate(net, code_lo, code_hi)
    if method == "symbolic":
        from bvverify.bounds.symbolic import propagate_symbolic

        return propagate_symbolic(net, code_lo, code_hi)
    raise BoundMethodError(f"unknown bound method {method!r} (available: {', '.join(METHODS)})")


__all__ = ["METHODS", "tensor_bounds"]
