"""OR-Tools CP-SAT on the integer model: exact integer arithmetic.

CP-SAT works on integer data only; its propagation and its LP-derived bounds are
checked in integer arithmetic, so an ``infeasible`` is not a tolerance artefact and a
``feasible`` assignment satisfies every constraint exactly. Conditional constraints
keep their literal (``only_enforce_if``), no big-M. It takes a solution hint.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bvverify.backends.base import BudgetedBackend, BuildSpent, Capabilities, Hint, SolveResult, check_hints
from bvverify.encoders.intmodel import IntModel

_UNBOUNDED = 2**62  # CP-SAT's stand-in for a missing side of a constraint


def default_threads() -> int:
    """``BVVERIFY_SOLVER_THREADS`` when set (a batch worker runs one solver thread), else up to 8 cores."""
    return int(os.environ.get("BVVERIFY_SOLVER_THREADS") or 0) or max(1, min(8, os.cpu_count() or 1))


@dataclass
class _Built:
    cp_model: Any  # the ortools module (imported on first use: it takes half a second)
    cp: Any
    xs: list[Any]


class CpSat(BudgetedBackend[IntModel, _Built]):
    name = "cpsat"
    capabilities = Capabilities(exact=True, incremental=False, hints=True)

    def __init__(self, threads: int | None = None) -> None:
        self.threads = default_threads() if threads is None else max(1, int(threads))
        self._base: tuple[IntModel, int, _Built | None] | None = None

    def keep_base(self, model: IntModel) -> None:
        """Later solves of copies of ``model`` with constraints appended (the same variables and
        domains) reuse one translation of ``model``, cloned: translating a large model through
        the Python API takes seconds, and ``IlpBox`` solves one box a clause at a time."""
        self._base = (model, len(model.constraints), None)

    def _base_of(self, model: IntModel) -> tuple[IntModel, int, _Built | None] | None:
        """The kept base when ``model`` is a copy of it with constraints appended, else None."""
        if self._base is None:
            return None
        base, n, _ = self._base
        same = (model.n_vars == base.n_vars and len(model.constraints) >= n
                and (n == 0 or model.constraints[n - 1] is base.constraints[n - 1])
                and model.lo == base.lo and model.hi == base.hi)
        return self._base if same else None

    def _build(self, model: IntModel, hints: Hint | None, expired: Callable[[], bool]) -> _Built:
        from ortools.sat.python import cp_model

        start = 0
        kept = self._base_of(model)
        if kept is not None:
            base, n, built = kept
            if built is None:
                built = self._translate(cp_model, cp_model.CpModel(), None, base, 0, expired)
                self._base = (base, n, built)
            cp = built.cp.clone()
            xs = [cp.get_bool_var_from_proto_index(i) if (lo, hi) == (0, 1) else cp.get_int_var_from_proto_index(i)
                  for i, (lo, hi) in enumerate(zip(model.lo, model.hi))]
            start = n
        else:
            cp, xs = cp_model.CpModel(), None
        built = self._translate(cp_model, cp, xs, model, start, expired)
        for x, v in zip(built.xs, check_hints(hints, model.n_vars) or ()):
            if v is not None:
                cp.add_hint(x, int(v))
        return built

    @staticmethod
    def _translate(cp_model: Any, cp: Any, xs: list[Any] | None, model: IntModel, start: int,
                   expired: Callable[[], bool]) -> _Built:
        """Add ``model``'s variables (unless ``xs`` has them) and its constraints from ``start`` on."""
        if xs is None:
            xs = [cp.new_bool_var(n) if (lo, hi) == (0, 1) else cp.new_int_var(lo, hi, n)
                  for lo, hi, n in zip(model.lo, model.hi, model.names)]
        for n, con in enumerate(model.constraints[start:]):
            if n % 4096 == 4095 and expired():
                raise BuildSpent
            vs = [xs[v] for v in con.lin.terms]
            expr = cp_model.LinearExpr.weighted_sum(vs, list(con.lin.terms.values())) + con.lin.const
            ct = cp.add_linear_constraint(expr, -_UNBOUNDED if con.lo is None else con.lo,
                                          _UNBOUNDED if con.hi is None else con.hi)
            if con.when is not None:
                z, val = con.when
                ct.only_enforce_if(xs[z] if val == 1 else xs[z].Not())
        return _Built(cp_model, cp, xs)

    def _run(self, built: _Built, seconds: float | None) -> SolveResult:
        cp_model = built.cp_model
        solver = cp_model.CpSolver()
        if seconds is not None:
            solver.parameters.max_time_in_seconds = float(seconds)
        solver.parameters.num_workers = self.threads
        st = _solve_interruptibly(solver, built.cp)
        if st == cp_model.INFEASIBLE:
            return SolveResult("infeasible")
        if st in (cp_model.FEASIBLE, cp_model.OPTIMAL):
            return SolveResult("feasible", [int(solver.value(x)) for x in built.xs])
        return SolveResult("unknown", reason=f"cp-sat: {solver.status_name(st)}")


def _solve_interruptibly(solver: Any, cp: Any) -> int:
    """``solver.solve(cp)`` where Ctrl-C stays the caller's. CP-SAT's own SIGINT handler ends the
    search as if its time limit were reached, so an interrupted query came back a made-up
    ``unknown``; with that handler off, the solve runs in a thread while this one waits, and a
    KeyboardInterrupt stops the search and is raised again (measured: back 5 ms after the signal)."""
    solver.parameters.catch_sigint_signal = False
    done, box = threading.Event(), {}

    def run() -> None:
        try:
            box["status"] = solver.solve(cp)
        except BaseException as e:  # handed to the waiting thread, which raises it
            box["error"] = e
        finally:
            done.set()

    threading.Thread(target=run, name="cp-sat", daemon=True).start()
    try:
        while not done.wait(0.05):
            pass
    except KeyboardInterrupt:
        solver.stop_search()
        done.wait()
        raise
    if "error" in box:
        raise box["error"]
    return box["status"]


__all__ = ["CpSat", "default_threads"]
