"""Can an accumulator overflow its declared width (int32) on an input region?

Per Dense / Conv2d layer: intervals settle most layers at once; for the others the
exact network up to the layer is lowered to bit-vectors and z3 is asked for an
input whose exact (unwrapped) accumulator leaves the int32 range. A ``yes`` comes
with a witness input that the interpreter replays (its wide accumulator is
recomputed exactly in numpy). ``timeout`` covers the whole call: every layer's
lowering and solve draw on one budget; once it is spent, layers the intervals do not
settle are ``unknown`` ("time limit reached") without being lowered.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import z3

from bvverify.backends.base import SPENT
from bvverify.backends.budget import Budget
from bvverify.backends.z3_bv import BvQuery, Z3Bv
from bvverify.encoders.bv import Lowering, const
from bvverify.engines.base import ReplayError
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork
from bvverify.ir.ranges import Interval, intervals


@dataclass
class OverflowResult:
    node: str
    status: str  # "no", "yes", "unknown"
    how: str  # "interval", "solver", or the solver's reason
    acc_min: int
    acc_max: int
    witness: np.ndarray | None = None
    seconds: float = 0.0


def check_overflow(net: QNetwork, code_lo: np.ndarray, code_hi: np.ndarray,
                   timeout: Budget | float | None = 60.0) -> list[OverflowResult]:
    """One result per Dense / Conv2d layer, in order. ``timeout`` is one budget for all of them."""
    budget = Budget.of(timeout)
    backend = Z3Bv()
    results = []
    ranges: dict[str, Interval] = {}
    intervals(net.input, net.nodes, net.shapes, (code_lo, code_hi), accumulators=ranges)
    for k, node in enumerate(net.nodes):
        if not isinstance(node, (ops.Dense, ops.Conv2d)):
            continue
        t0 = time.perf_counter()
        lim = 2 ** (node.acc_bits - 1)
        lo_v, hi_v = int(np.min(ranges[node.name][0])), int(np.max(ranges[node.name][1]))
        if lo_v >= -lim and hi_v <= lim - 1 and not node.pair_saturation:
            results.append(OverflowResult(node.name, "no", "interval", lo_v, hi_v, None, time.perf_counter() - t0))
            continue
        if budget.expired():
            results.append(OverflowResult(node.name, "unknown", SPENT, lo_v, hi_v, None, time.perf_counter() - t0))
            continue
        wide = replace(node, acc_bits=64)
        prefix = tuple(net.nodes[:k]) + (wide,)
        lw = Lowering(QNetwork(net.input, prefix, ops.OutputSpec(node.name)), code_lo, code_hi, prefix="ov")
        enc = lw.run()
        acc = enc.tensors[node.name]
        lim = 2 ** (node.acc_bits - 1)
        lo_v, hi_v = int(np.min(acc.lo)), int(np.max(acc.hi))
        if lo_v >= -lim and hi_v <= lim - 1:
            results.append(OverflowResult(node.name, "no", "interval", lo_v, hi_v, None, time.perf_counter() - t0))
            continue
        terms = [t for t, a, b in zip(acc.terms.ravel(), acc.lo.ravel(), acc.hi.ravel())
                 if int(a) < -lim or int(b) > lim - 1]
        leaves = z3.Or(*[z3.Or(t < const(-lim, t.size()), t > const(lim - 1, t.size())) for t in terms])
        r = backend.solve(BvQuery([*enc.constraints, leaves], list(enc.inputs.ravel())), budget)
        secs = time.perf_counter() - t0
        if r.status == "infeasible":
            results.append(OverflowResult(node.name, "no", "solver", lo_v, hi_v, None, secs))
        elif r.status == "unknown":
            results.append(OverflowResult(node.name, "unknown", r.reason, lo_v, hi_v, None, secs))
        else:
            codes = np.array(r.solution, dtype=np.int64).reshape(enc.inputs.shape)
            exact = QNetwork(net.input, prefix, ops.OutputSpec(node.name)).evaluate_codes(codes[None])[0]
            if not (np.any(exact < -lim) or np.any(exact > lim - 1)):
                raise ReplayError(f"overflow witness for {node.name} does not overflow in the interpreter")
            results.append(OverflowResult(node.name, "yes", "solver", lo_v, hi_v, codes, secs))
    return results
