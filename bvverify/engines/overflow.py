"""Can an accumulator overflow its declared width (int32) on an input region?

Per Dense / Conv2d layer: intervals settle most layers at once; for the others the
exact network up to the layer is lowered to bit-vectors and z3 is asked for an
input whose exact (unwrapped) accumulator leaves the int32 range. A ``yes`` comes
with a witness input that the interpreter replays (its wide accumulator is
recomputed exactly in numpy).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import z3

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


def check_overflow(net: QNetwork, code_lo: np.ndarray, code_hi: np.ndarray, timeout: float = 60.0) -> list[OverflowResult]:
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
        s = z3.SolverFor("QF_BV")
        s.set("timeout", max(1, int(timeout * 1000)))
        s.add(*enc.constraints)
        terms = [(t, int(a), int(b)) for t, a, b in zip(acc.terms.ravel(), acc.lo.ravel(), acc.hi.ravel())
                 if int(a) < -lim or int(b) > lim - 1]
        s.add(z3.Or(*[z3.Or(t < const(-lim, t.size()), t > const(lim - 1, t.size())) for t, _, _ in terms]))
        r = s.check()
        secs = time.perf_counter() - t0
        if r == z3.unsat:
            results.append(OverflowResult(node.name, "no", "solver", lo_v, hi_v, None, secs))
        elif r == z3.unknown:
            results.append(OverflowResult(node.name, "unknown", s.reason_unknown(), lo_v, hi_v, None, secs))
        else:
            m = s.model()
            codes = np.empty(enc.inputs.shape, dtype=np.int64)
            for idx in np.ndindex(enc.inputs.shape):
                t = enc.inputs[idx]
                codes[idx] = (t if z3.is_bv_value(t) else m.eval(t, model_completion=True)).as_signed_long()
            exact = QNetwork(net.input, prefix, ops.OutputSpec(node.name)).evaluate_codes(codes[None])[0]
            if not (np.any(exact < -lim) or np.any(exact > lim - 1)):
                raise ReplayError(f"internal error: overflow witness for {node.name} does not overflow in the interpreter")
            results.append(OverflowResult(node.name, "yes", "solver", lo_v, hi_v, codes, secs))
    return results
