"""Replaying the other tool's counterexample exactly as given: the very input values they wrote,
through the reference interpreter (and the real runtime when the model came from one)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bvverify.engines.base import Runtime
from bvverify.ir.graph import QNetwork
from bvverify.properties.boxes import code_box, float_region
from bvverify.properties.spec import Property


@dataclass
class TheirReplay:
    replays: bool
    reason: str  # why not, or what confirmed it
    output: list[int] | None = None


def replay_theirs(net: QNetwork, prop: Property, witness: np.ndarray, runtime: Runtime | None = None) -> TheirReplay:
    """Does their witness lie in the property's input region and satisfy its output condition (= violate)?"""
    n = int(np.prod(net.input.shape))
    w = np.asarray(witness, dtype=np.float64).reshape(-1)
    if w.size != n:
        return TheirReplay(False, f"the witness has {w.size} input values, the model takes {n}")
    if net.integer_input:
        if np.any(w != np.round(w)):
            return TheirReplay(False, "the witness has non-integer values for an integer-input model")
        lo, hi = code_box(net, prop)
        x = w.astype(np.int64).reshape(net.input.shape)
    else:
        lo, hi = float_region(net, prop)
        x = w.reshape(net.input.shape)
    lo, hi = np.asarray(lo).reshape(-1), np.asarray(hi).reshape(-1)
    outside = np.flatnonzero((w < lo) | (w > hi))
    if outside.size:
        i = int(outside[0])
        return TheirReplay(False, f"{outside.size} input values lie outside the box, first X_{i} = {w[i]:g} "
                                  f"not in [{lo[i]:g}, {hi[i]:g}]")
    if not net.integer_input and prop.units == "codes":  # a ball in codes: every float whose input code lies in it
        q = np.asarray(net.quantize_input(x[None])[0]).reshape(-1)
        clo, chi = (np.asarray(v).reshape(-1) for v in code_box(net, prop))
        outside = np.flatnonzero((q < clo) | (q > chi))
        if outside.size:
            i = int(outside[0])
            return TheirReplay(False, f"{outside.size} input values lie outside the box, first X_{i} = {w[i]:g} "
                                      f"has input code {int(q[i])}, not in [{int(clo[i])}, {int(chi[i])}]")
    out = net.evaluate(x[None])[0]
    deq = net.dequantize(out) if net.output.scale is not None else None
    y = (deq if prop.output.over == "dequantized" and deq is not None else out).ravel()
    codes = [int(v) for v in np.asarray(out).ravel()]
    if not prop.output.holds(y):
        return TheirReplay(False, f"the reference interpreter's outputs on it do not violate the property: {codes}", codes)
    how = "interpreter"
    if runtime is not None:
        got = np.asarray(runtime(x[None].astype(np.float32) if not net.integer_input else x[None]))[0].ravel()
        if not np.array_equal(got, np.asarray(out).ravel()):
            return TheirReplay(False, f"the runtime computes {got.tolist()} where the interpreter computes {codes}", codes)
        how += " and runtime"
    return TheirReplay(True, f"replays ({how})", codes)


__all__ = ["TheirReplay", "replay_theirs"]
