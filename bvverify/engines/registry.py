"""Every engine by name, behind one call: the CLI and the benchmark scripts share it.

A new engine is one module with a ``verify_*`` function plus one entry here. Each
entry takes the same arguments: the network, the property, typed options, one
:class:`~bvverify.backends.budget.Budget` for the whole query (bounds and encoding
included), and optionally the real runtime for replay and a preferred float input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bvverify.backends.budget import Budget
from bvverify.engines.base import Runtime, Verdict
from bvverify.engines.config import EngineOptions
from bvverify.ir.graph import QNetwork
from bvverify.properties.spec import Property

Run = Callable[[QNetwork, Property, EngineOptions, Budget, "Runtime | None", "np.ndarray | None"], Verdict]


@dataclass(frozen=True)
class Engine:
    name: str
    complete: bool  # decides every query given time (holds or a replayed counterexample)
    summary: str
    run: Run


def _ilp(net: QNetwork, prop: Property, o: EngineOptions, budget: Budget, runtime: Runtime | None,
         prefer: np.ndarray | None) -> Verdict:
    from bvverify.engines.ilp import verify_ilp

    return verify_ilp(net, prop, solver=o.ilp_solver, timeout=budget, runtime=runtime, prefer=prefer,
                      bounds=o.bounds, split=o.split, steps=o.ilp_steps)


def _bv(net: QNetwork, prop: Property, o: EngineOptions, budget: Budget, runtime: Runtime | None,
        prefer: np.ndarray | None) -> Verdict:
    from bvverify.engines.bv import verify_bv

    return verify_bv(net, prop, timeout=budget, runtime=runtime, prefer=prefer, bounds=o.bounds)


def _bounds(net: QNetwork, prop: Property, o: EngineOptions, budget: Budget, runtime: Runtime | None,
            prefer: np.ndarray | None) -> Verdict:
    from bvverify.engines.bounds import verify_bounds

    return verify_bounds(net, prop, runtime=runtime, prefer=prefer, method=o.bounds, timeout=budget)


def _auto(net: QNetwork, prop: Property, o: EngineOptions, budget: Budget, runtime: Runtime | None,
          prefer: np.ndarray | None) -> Verdict:
    from bvverify.engines.auto import verify_auto

    return verify_auto(net, prop, o, budget, runtime, prefer)


def _attack(net: QNetwork, prop: Property, o: EngineOptions, budget: Budget, runtime: Runtime | None,
            prefer: np.ndarray | None) -> Verdict:
    from bvverify.engines.auto import verify_attack

    return verify_attack(net, prop, o, budget, runtime, prefer)


ENGINES: dict[str, Engine] = {
    "auto": Engine("auto", True, "attack, bounds, branching, then exact ILP on what is left (default)", _auto),
    "ilp": Engine("ilp", True, "exact integer linear program on a back-end solver (--solver)", _ilp),
    "bv": Engine("bv", True, "exact z3 bit-vector encoding", _bv),
    "bounds": Engine("bounds", False, "bound propagation: holds, a violating box centre, or unknown", _bounds),
    "attack": Engine("attack", False, "gradient attack and local search: a replayed counterexample, or unknown", _attack),
}


def verify(net: QNetwork, prop: Property, options: EngineOptions | None = None,
           timeout: Budget | float | None = None, runtime: Runtime | None = None,
           prefer: np.ndarray | None = None) -> Verdict:
    """Decide ``prop`` on ``net`` with the engine ``options`` name, within one budget."""
    options = options or EngineOptions()
    budget = Budget.of(timeout)
    return mark_timeout(ENGINES[options.engine].run(net, prop, options, budget, runtime, prefer), budget)


def mark_timeout(v: Verdict, budget: Budget) -> Verdict:
    """An ``unknown`` that ran out its budget says so in one wording, whatever the solver called it
    ("cp-sat: UNKNOWN", "z3: canceled", ...), and ``stats["timed_out"]`` is set: the VNN-COMP
    result file then says ``timeout``, not ``unknown``."""
    left = budget.left()
    if v.status != "unknown" or budget.seconds is None or left > max(0.05, 0.01 * budget.seconds):
        return v
    v.stats["timed_out"] = True
    v.reason = f"timeout: the {budget.seconds:g} s limit was reached" + (f" ({v.reason})" if v.reason else "")
    return v


__all__ = ["ENGINES", "Engine", "mark_timeout", "verify"]
