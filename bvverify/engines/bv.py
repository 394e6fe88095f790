"""The exact bit-vector engine: lower to z3 QF_BV, decide, replay.

Sound and complete for the IR ops it lowers (others are refused by name); the
reference every faster engine is checked against.
"""

from __future__ import annotations

import time

import numpy as np
import z3

from bvverify.bounds import tensor_bounds
from bvverify.encoders.bv import encode_condition, lower
from bvverify.engines.base import Runtime, Verdict, replay
from bvverify.ir.graph import QNetwork
from bvverify.properties.boxes import code_box
from bvverify.properties.spec import Property


def build_solver(net: QNetwork, prop: Property, bounds: str = "symbolic") -> tuple[z3.Solver, np.ndarray, dict]:
    """A z3 solver whose models are exactly the counterexamples of ``prop``; ``bounds``
    (symbolic or interval) shrink every width and step table of the lowering."""
    clo, chi = code_box(net, prop)
    enc = lower(net, clo, chi, bounds=tensor_bounds(net, clo, chi, bounds))
    solver = z3.SolverFor("QF_BV")
    solver.add(*enc.constraints)
    solver.add(encode_condition(net, enc.output, prop.output))
    stats = {"input_vars": int(sum(not z3.is_bv_value(t) for t in enc.inputs.ravel())),
             "input_points_log2": float(np.sum(np.log2((chi - clo + 1).astype(np.float64))))}
    return solver, enc.inputs, stats


def verify_bv(net: QNetwork, prop: Property, timeout: float | None = None, runtime: Runtime | None = None,
              prefer: np.ndarray | None = None, bounds: str = "symbolic") -> Verdict:
    t0 = time.perf_counter()
    solver, inputs, stats = build_solver(net, prop, bounds)
    if timeout is not None:
        solver.set("timeout", max(1, int(timeout * 1000)))
    res = solver.check()
    secs = time.perf_counter() - t0
    if res == z3.unsat:
        return Verdict("holds", "bv", secs, stats=stats)
    if res == z3.unknown:
        return Verdict("unknown", "bv", secs, reason=f"z3: {solver.reason_unknown()}", stats=stats)
    model = solver.model()
    codes = np.empty(inputs.shape, dtype=np.int64)
    for idx in np.ndindex(inputs.shape):
        t = inputs[idx]
        v = t if z3.is_bv_value(t) else model.eval(t, model_completion=True)
        codes[idx] = v.as_signed_long()
    cex = replay(net, prop, codes, runtime, prefer)
    return Verdict("violated", "bv", time.perf_counter() - t0, counterexample=cex, stats=stats)
