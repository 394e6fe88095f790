"""HiGHS on the integer model: a floating-point MILP solver.

HiGHS solves LP relaxations in floating point with feasibility and integrality
tolerances (we set 1e-9 and 1e-9 on data that is integral). A ``feasible`` answer is
rounded and must be replayed exactly by the engine (a tolerance can invent a solution,
never confirm one); an ``infeasible`` answer is HiGHS's floating-point claim (see the
README). Conditional constraints become big-M rows with ``M`` exact from the bounds.

It runs in a forked child, killed at the deadline when there is one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import highspy

from bvverify.backends.base import BudgetedBackend, Capabilities, Hint, SolveResult
from bvverify.backends.killable import solve_killable
from bvverify.encoders.intmodel import IntModel, big_m_rows


@lru_cache(maxsize=1)
def _highs_banner_shown() -> bool:
    """HiGHS prints a banner on stdout at its first construction in a process (stdout must stay
    clean for --json): show it to /dev/null once, before any solve or fork."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    return True


def highs_lp(model: IntModel, rows: list[tuple[dict[int, int], int | None, int | None]] | None = None,
             cost: list[float] | None = None, integral: bool = True) -> Any:
    """The model as a HighsLp: its big-M ``rows`` (computed when not given), ``cost`` (none: a
    feasibility problem), every column integral or (``integral=False``, an LP relaxation) none."""
    rows = big_m_rows(model) if rows is None else rows
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    n = model.n_vars
    lp.num_col_ = n
    lp.num_row_ = len(rows)
    lp.col_cost_ = [0.0] * n if cost is None else cost
    lp.col_lower_ = [float(v) for v in model.lo]
    lp.col_upper_ = [float(v) for v in model.hi]
    lp.row_lower_ = [-inf if lo is None else float(lo) for _, lo, _ in rows]
    lp.row_upper_ = [inf if hi is None else float(hi) for _, _, hi in rows]
    start, index, value = [0], [], []
    for terms, _, _ in rows:
        index.extend(terms.keys())
        value.extend(float(c) for c in terms.values())
        start.append(len(index))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = n
    lp.a_matrix_.num_row_ = len(rows)
    lp.a_matrix_.start_ = start
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    if integral:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    return lp


def _highs(lp: Any, seconds: float | None) -> SolveResult:
    _highs_banner_shown()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_feasibility_tolerance", 1e-9)
    h.setOptionValue("primal_feasibility_tolerance", 1e-9)
    if seconds is not None:
        h.setOptionValue("time_limit", float(seconds))
    h.passModel(lp)
    h.run()
    st = h.getModelStatus()
    if st == highspy.HighsModelStatus.kInfeasible:
        return SolveResult("infeasible")
    if st == highspy.HighsModelStatus.kOptimal:
        return SolveResult("feasible", [int(round(v)) for v in h.getSolution().col_value])
    return SolveResult("unknown", reason=f"highs: {h.modelStatusToString(st)}")


def _highs_killable(lp: Any, seconds: float | None) -> SolveResult:
    """HiGHS in a forked child that is killed at the deadline: HiGHS's own time limit is not
    checked everywhere (measured: 109 s at the root node of a 20 s limit, with its interrupt
    callbacks installed too), and a verdict must come back on time."""
    _highs_banner_shown()  # in this process, before the fork: the child must not print it either
    return solve_killable(_highs, lp, seconds, "highs")


class Highs(BudgetedBackend[IntModel, Any]):
    name = "highs"
    # A MIP re-solve starts its search over; a MIP start would be one more floating-point input.
    capabilities = Capabilities(exact=False, incremental=False, hints=False)

    def _build(self, model: IntModel, hints: Hint | None, expired: Callable[[], bool]) -> Any:
        return highs_lp(model)

    def _run(self, built: Any, seconds: float | None) -> SolveResult:
        return _highs_killable(built, seconds)


__all__ = ["Highs", "highs_lp"]
