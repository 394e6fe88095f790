"""The exact bit-vector engine: lower to z3 QF_BV, decide, replay.

Sound and complete for the IR ops it lowers (others are refused by name); the
reference every faster engine is checked against. The solve goes through the
``z3bv`` back-end (:mod:`bvverify.backends.z3_bv`).
"""

from __future__ import annotations

import time

import numpy as np
import z3

from bvverify.backends.base import SPENT
from bvverify.backends.budget import Budget
from bvverify.backends.z3_bv import BvQuery, Z3Bv, make_solver
from bvverify.bounds import tensor_bounds
from bvverify.encoders.bv import encode_condition, lower
from bvverify.engines.base import Runtime, Verdict, replay
from bvverify.ir.graph import QNetwork
from bvverify.properties.boxes import code_box
from bvverify.properties.spec import Property


def build_query(net: QNetwork, prop: Property, bounds: str = "symbolic") -> tuple[BvQuery, np.ndarray, dict]:
    """A bit-vector query whose models are exactly the counterexamples of ``prop`` (its inputs:
    the input terms, flattened), the input terms in the network's shape, and statistics.
    ``bounds`` (symbolic or interval) shrink every width and step table of the lowering."""
    clo, chi = code_box(net, prop)
    enc = lower(net, clo, chi, bounds=tensor_bounds(net, clo, chi, bounds))
    query = BvQuery([*enc.constraints, encode_condition(net, enc.output, prop.output)], list(enc.inputs.ravel()))
    stats = {"input_vars": int(sum(not z3.is_bv_value(t) for t in enc.inputs.ravel())),
             "input_points_log2": float(np.sum(np.log2((chi - clo + 1).astype(np.float64))))}
    return query, enc.inputs, stats


def build_solver(net: QNetwork, prop: Property, bounds: str = "symbolic") -> tuple[z3.Solver, np.ndarray, dict]:
    """:func:`build_query` as one z3 solver (what ``export-smt`` writes)."""
    query, inputs, stats = build_query(net, prop, bounds)
    return make_solver(query), inputs, stats


def verify_bv(net: QNetwork, prop: Property, timeout: Budget | float | None = None, runtime: Runtime | None = None,
              prefer: np.ndarray | None = None, bounds: str = "symbolic") -> Verdict:
    """Decide ``prop`` exactly. ``timeout`` covers the whole call: bounds, lowering and z3 draw
    on one budget, and z3 gets only what is left."""
    budget = Budget.of(timeout)
    t0 = time.perf_counter()
    if budget.expired():
        return Verdict("unknown", "bv", 0.0, reason=SPENT)
    query, inputs, stats = build_query(net, prop, bounds)
    stats["encode_seconds"] = round(time.perf_counter() - t0, 4)
    res = Z3Bv().solve(query, budget)
    stats["solve_seconds"] = round(res.seconds, 4)
    if res.status == "infeasible":
        return Verdict("holds", "bv", time.perf_counter() - t0, stats=stats)
    if res.status == "unknown":
        return Verdict("unknown", "bv", time.perf_counter() - t0, reason=res.reason, stats=stats)
    codes = np.array(res.solution, dtype=np.int64).reshape(inputs.shape)
    cex = replay(net, prop, codes, runtime, prefer)
    return Verdict("violated", "bv", time.perf_counter() - t0, counterexample=cex, stats=stats)


__all__ = ["build_query", "build_solver", "verify_bv"]
