"""One z3 check with a hard deadline, shared by the z3 back-ends.

z3's own ``timeout`` is not checked everywhere: measured on the bundled models' eps 0.1
float balls, a 20 s QF_BV check stopped after 22.4 s (MLP) and 25.2 s (CNN). So the check
runs in a forked child that is killed at the deadline (:mod:`bvverify.backends.killable`);
z3's timeout is still set, so the child usually stops by itself and says why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import z3

from bvverify.backends.base import SolveResult
from bvverify.backends.killable import solve_killable

Values = Callable[[z3.ModelRef], list[int]]  # a satisfying model -> the reported integers


def z3_millis(seconds: float) -> int:
    """z3's ``timeout`` parameter (milliseconds, at least 1) for ``seconds``."""
    return max(1, int(seconds * 1000))


def _check(built: tuple[Any, Values], seconds: float | None) -> SolveResult:
    s, values = built
    if seconds is not None:
        s.set("timeout", z3_millis(seconds))
    res = s.check()
    if res == z3.unsat:
        return SolveResult("infeasible")
    if res == z3.sat:
        return SolveResult("feasible", values(s.model()))
    return SolveResult("unknown", reason=f"z3: {s.reason_unknown()}")


def check(solver: z3.Solver | z3.Optimize, values: Values, seconds: float | None) -> SolveResult:
    """``solver.check()`` within ``seconds`` (``None``: no limit); ``values`` reads a model."""
    return solve_killable(_check, (solver, values), seconds, "z3")


__all__ = ["Values", "check", "z3_millis"]
