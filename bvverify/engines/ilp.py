"""The exact ILP engine: bounds, then an integral linear model, then a solver.

Bounds (symbolic by default) fix every band the encoding needs: stable elements
vanish, saturated sides need no binary, big-M constants and thresholds come
from the bands. The solver's answer is then checked the way its arithmetic
deserves (the back-end's ``capabilities.exact``, see :mod:`bvverify.backends`): a
``violated`` is always an input replayed through the reference interpreter (and the
runtime); from a floating-point solver a solution that does not replay is reported as
``unknown``, never as a verdict. ``timeout`` covers the whole call: bounds, encoding
and every clause's solve draw on one :class:`~bvverify.backends.budget.Budget`.
"""

from __future__ import annotations

import time

import numpy as np

from bvverify.backends import get as get_backend
from bvverify.backends.base import SPENT
from bvverify.backends.budget import Budget
from bvverify.bounds import METHODS as BOUND_METHODS
from bvverify.bounds import tensor_bounds
from bvverify.encoders.ilp import EncodingSpent, IlpLowering, add_clauses, condition_clauses
from bvverify.engines.base import ReplayError, Runtime, Verdict, replay
from bvverify.engines.config import DEFAULT_SOLVER, resolve_steps  # the measured defaults live with the options
from bvverify.ir.graph import QNetwork
from bvverify.properties.boxes import code_box
from bvverify.properties.spec import Property


def verify_ilp(net: QNetwork, prop: Property, solver: str = DEFAULT_SOLVER, timeout: Budget | float | None = None,
               runtime: Runtime | None = None, prefer: np.ndarray | None = None,
               bounds: str = "symbolic", split: bool = True, steps: str = "auto") -> Verdict:
    """Decide ``prop`` exactly. With ``split`` (default) every clause of the output
    condition is its own integer program (no selector binaries; the most promising
    clause first, stopping at the first replayed counterexample). ``steps`` picks the
    step-function encoding (``auto``: the one measured faster for the solver)."""
    budget = Budget.of(timeout)
    t0 = time.perf_counter()
    backend = get_backend(solver)
    steps = resolve_steps(solver, steps)
    engine = f"ilp/{solver}"
    if budget.expired():
        return Verdict("unknown", engine, 0.0, reason=SPENT)
    clo, chi = code_box(net, prop)
    env = tensor_bounds(net, clo, chi, bounds)
    t_bounds = time.perf_counter() - t0
    lw = IlpLowering(net, clo, chi, env, steps, expired=budget.expired)
    try:
        out = lw.run()
    except EncodingSpent as e:
        return Verdict("unknown", engine, time.perf_counter() - t0, reason=f"{SPENT} ({e})",
                       stats={"bounds": bounds, "steps": steps, "bounds_seconds": round(t_bounds, 4)})
    clauses = condition_clauses(lw, out, prop.output)
    stats: dict = {"bounds": bounds, "steps": steps, "bounds_seconds": round(t_bounds, 4),
                   "encode_seconds": round(time.perf_counter() - t0 - t_bounds, 4), **lw.m.stats(),
                   "clauses": len(prop.output.clauses), "open_clauses": len(clauses)}
    if not clauses:
        return Verdict("holds", engine, time.perf_counter() - t0, reason="the bounds rule out every clause", stats=stats)
    if any(not atoms for atoms in clauses):  # a clause that always holds: any input violates
        return _violated(net, prop, clo, runtime, prefer, engine, t0, stats, exact=True)
    groups = [[c] for c in sorted(clauses, key=lambda atoms: min(a - b for _, a, b in atoms))] if split else [clauses]
    reasons = []
    solve_time = 0.0
    for group in groups:
        if budget.expired():
            reasons.append(SPENT)
            break
        model = lw.m.copy()
        add_clauses(model, group)
        res = backend.solve(model, budget)
        solve_time += res.seconds
        stats["solve_seconds"] = round(solve_time, 4)
        if res.status == "feasible":
            verdict = _violated(net, prop, lw.input_codes(res.solution), runtime, prefer, engine, t0, stats,
                                exact=backend.capabilities.exact)
            if verdict.status == "violated":
                return verdict
            reasons.append(verdict.reason)
        elif res.status == "unknown":
            reasons.append(res.reason)
    if reasons:
        return Verdict("unknown", engine, time.perf_counter() - t0, reason="; ".join(dict.fromkeys(reasons)),
                       stats=stats)
    return Verdict("holds", engine, time.perf_counter() - t0, stats=stats)


def _violated(net: QNetwork, prop: Property, codes: np.ndarray, runtime: Runtime | None, prefer: np.ndarray | None,
              engine: str, t0: float, stats: dict, exact: bool) -> Verdict:
    try:
        cex = replay(net, prop, codes, runtime, prefer)
    except ReplayError as e:
        if exact:
            raise
        return Verdict("unknown", engine, time.perf_counter() - t0,
                       reason=f"the solver's solution did not replay exactly (a floating-point tolerance artefact): {e}",
                       stats=stats)
    return Verdict("violated", engine, time.perf_counter() - t0, counterexample=cex, stats=stats)


__all__ = ["BOUND_METHODS", "DEFAULT_SOLVER", "verify_ilp"]
