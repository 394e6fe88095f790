"""z3 on bit-vector formulas (QF_BV): exact, the reference every other back-end is checked against.

The bit-vector encoders write the network's exact integer semantics (widths, wrap-around,
saturation, step tables) as QF_BV; bit-blasting decides it exactly, so both answers are
exact. The model is a :class:`BvQuery`: the constraints and the input terms whose values
a ``feasible`` answer reports (as signed integers, in the order given). No hints. z3 runs
in a child process, killed at the deadline (:mod:`bvverify.backends.z3_run`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import z3

from bvverify.backends.base import BudgetedBackend, Capabilities, Hint, SolveResult
from bvverify.backends.z3_run import check


@dataclass
class BvQuery:
    """Satisfy every one of ``constraints``; a model is reported as the signed value of each of
    ``inputs`` (z3 bit-vector variables, or constants that are reported as they are)."""

    constraints: Sequence[z3.BoolRef]
    inputs: Sequence[z3.BitVecRef]


def make_solver(query: BvQuery) -> z3.Solver:
    """The QF_BV solver for ``query`` (also what ``export-smt`` writes out)."""
    s = z3.SolverFor("QF_BV")
    s.add(*query.constraints)
    return s


class Z3Bv(BudgetedBackend[BvQuery, tuple[z3.Solver, Sequence[z3.BitVecRef]]]):
    name = "z3bv"
    capabilities = Capabilities(exact=True, incremental=True, hints=False)

    def _build(self, model: BvQuery, hints: Hint | None, expired: Callable[[], bool]) -> tuple[z3.Solver, Sequence[z3.BitVecRef]]:
        return make_solver(model), model.inputs

    def _run(self, built: tuple[z3.Solver, Sequence[z3.BitVecRef]], seconds: float | None) -> SolveResult:
        s, inputs = built
        return check(s, lambda m: [(t if z3.is_bv_value(t) else m.eval(t, model_completion=True)).as_signed_long()
                                   for t in inputs], seconds)


__all__ = ["BvQuery", "Z3Bv", "make_solver"]
