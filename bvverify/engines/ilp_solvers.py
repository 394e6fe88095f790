"""Back-ends for the integer model: z3 (exact), OR-Tools CP-SAT (exact integer
arithmetic) and HiGHS (floating-point MILP).

Each takes an :class:`~bvverify.encoders.intmodel.IntModel` and a time limit and
answers ``infeasible`` / ``feasible`` (with integer values for every variable) /
``unknown``. What an answer is worth differs, and the ILP engine treats it so:

- z3 decides linear integer arithmetic with exact rationals: both answers are exact.
- CP-SAT works on integer data only; its propagation and its LP-derived bounds are
  checked in integer arithmetic, so an ``infeasible`` is not a tolerance artefact.
- HiGHS solves LP relaxations in floating point with feasibility and integrality
  tolerances (we set 1e-9 and 1e-9 on data that is integral). A ``feasible`` answer is
  rounded and replayed exactly (a tolerance can invent a solution, never confirm
  one); an ``infeasible`` answer is HiGHS's floating-point claim (see the README).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from bvverify.encoders.intmodel import IntModel, big_m_rows
from bvverify.errors import BvverifyError

SOLVERS = ("cpsat", "highs", "z3", "z3opt")
EXACT = {"cpsat": True, "highs": False, "z3": True, "z3opt": True}


class SolverUnavailable(BvverifyError, RuntimeError):
    """The selected back-end's package is not installed."""


@dataclass
class SolveResult:
    status: str  # "infeasible" | "feasible" | "unknown"
    values: list[int] | None = None
    reason: str = ""
    seconds: float = 0.0


@lru_cache(maxsize=1)
def _highs_banner_shown() -> bool:
    """HiGHS prints a banner on stdout at its first construction in a process (stdout must stay
    clean for --json): show it to /dev/null once, before any solve or fork."""
    import highspy

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


def _cpsat(model: IntModel, timeout: float | None) -> SolveResult:
    try:
        from ortools.sat.python import cp_model
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise SolverUnavailable("--solver cpsat needs OR-Tools: pip install ortools") from e
    cp = cp_model.CpModel()
    xs = [cp.new_bool_var(n) if (lo, hi) == (0, 1) else cp.new_int_var(lo, hi, n)
          for lo, hi, n in zip(model.lo, model.hi, model.names)]
    for con in model.constraints:
        vs = [xs[v] for v in con.lin.terms]
        expr = cp_model.LinearExpr.weighted_sum(vs, list(con.lin.terms.values())) + con.lin.const
        big = 2**62
        ct = cp.add_linear_constraint(expr, big * -1 if con.lo is None else con.lo, big if con.hi is None else con.hi)
        if con.when is not None:
            z, val = con.when
            ct.only_enforce_if(xs[z] if val == 1 else xs[z].Not())
    solver = cp_model.CpSolver()
    if timeout is not None:
        solver.parameters.max_time_in_seconds = float(timeout)
    solver.parameters.num_workers = max(1, min(8, os.cpu_count() or 1))
    st = solver.solve(cp)
    if st == cp_model.INFEASIBLE:
        return SolveResult("infeasible")
    if st in (cp_model.FEASIBLE, cp_model.OPTIMAL):
        return SolveResult("feasible", [int(solver.value(x)) for x in xs])
    return SolveResult("unknown", reason=f"cp-sat: {solver.status_name(st)}")


def _highs(model: IntModel, timeout: float | None) -> SolveResult:
    try:
        import highspy
    except ImportError as e:  # pragma: no cover
        raise SolverUnavailable("--solver highs needs HiGHS: pip install highspy") from e
    rows = big_m_rows(model)
    _highs_banner_shown()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_feasibility_tolerance", 1e-9)
    h.setOptionValue("primal_feasibility_tolerance", 1e-9)
    if timeout is not None:
        h.setOptionValue("time_limit", float(timeout))
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    n = model.n_vars
    lp.num_col_ = n
    lp.num_row_ = len(rows)
    lp.col_cost_ = [0.0] * n
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
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    h.passModel(lp)
    h.run()
    st = h.getModelStatus()
    if st == highspy.HighsModelStatus.kInfeasible:
        return SolveResult("infeasible")
    if st == highspy.HighsModelStatus.kOptimal:
        return SolveResult("feasible", [int(round(v)) for v in h.getSolution().col_value])
    return SolveResult("unknown", reason=f"highs: {h.modelStatusToString(st)}")


def _highs_killable(model: IntModel, timeout: float | None) -> SolveResult:
    """HiGHS in a forked child that is killed at the deadline: HiGHS's own time limit is not
    checked everywhere (measured: 109 s at the root node of a 20 s limit, with its interrupt
    callbacks installed too), and a verdict must come back on time."""
    if timeout is None or "fork" not in mp.get_all_start_methods():
        return _highs(model, timeout)
    try:
        _highs_banner_shown()
    except ImportError as e:  # pragma: no cover
        raise SolverUnavailable("--solver highs needs HiGHS: pip install highspy") from e
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_highs_child, args=(model, timeout, send), daemon=True)
    child.start()
    send.close()
    try:
        ready = recv.poll(timeout + 2.0)
        res = recv.recv() if ready else SolveResult("unknown", reason="highs: time limit reached (stopped)")
    except EOFError:  # the child died without an answer
        res = SolveResult("unknown", reason=f"highs: the solver process ended without an answer "
                                            f"(exit code {child.exitcode})")
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        recv.close()
    return res


def _highs_child(model: IntModel, timeout: float, send) -> None:
    send.send(_highs(model, timeout))
    send.close()


def _z3(model: IntModel, timeout: float | None, optimize: bool = False) -> SolveResult:
    import z3

    xs = [z3.Int(f"v{i}") for i in range(model.n_vars)]
    s = z3.Optimize() if optimize else z3.SolverFor("QF_LIA")
    for x, lo, hi in zip(xs, model.lo, model.hi):
        s.add(x >= lo, x <= hi)
    for con in model.constraints:
        e = z3.Sum([c * xs[v] for v, c in con.lin.terms.items()]) + con.lin.const if con.lin.terms else \
            z3.IntVal(con.lin.const)
        parts = ([e >= con.lo] if con.lo is not None else []) + ([e <= con.hi] if con.hi is not None else [])
        f = z3.And(*parts) if len(parts) > 1 else parts[0]
        if con.when is not None:
            z, val = con.when
            f = z3.Implies(xs[z] == val, f)
        s.add(f)
    if timeout is not None:
        s.set("timeout", max(1, int(timeout * 1000)))
    res = s.check()
    if res == z3.unsat:
        return SolveResult("infeasible")
    if res == z3.sat:
        mdl = s.model()
        return SolveResult("feasible", [mdl.eval(x, model_completion=True).as_long() for x in xs])
    return SolveResult("unknown", reason=f"z3: {s.reason_unknown()}")


BACKENDS: dict[str, Callable[[IntModel, float | None], SolveResult]] = {
    "cpsat": _cpsat,
    "highs": _highs_killable,
    "z3": _z3,
    "z3opt": lambda m, t: _z3(m, t, optimize=True),
}


def solve(model: IntModel, solver: str, timeout: float | None) -> SolveResult:
    if solver not in BACKENDS:
        raise BvverifyError(f"unknown ILP solver {solver!r} (available: {', '.join(SOLVERS)})")
    t0 = time.perf_counter()
    res = BACKENDS[solver](model, timeout)
    res.seconds = time.perf_counter() - t0
    return res


__all__ = ["EXACT", "SOLVERS", "SolveResult", "SolverUnavailable", "solve"]
