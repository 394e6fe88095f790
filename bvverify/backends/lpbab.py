"""Branch-and-bound over the integer model with floating-point LPs whose answers are checked exactly.

Why: on the wide-accumulator networks (QVIP Q = 8 / 10 at r = 4) CP-SAT and HiGHS's MIP both stall
(CP-SAT closed none of the 7 open clauses of P1-8 #300 in 30 s each; HiGHS spent 164 s at the root
node of one on a 20 s limit), while this search, fixing one clamp binary at a time and re-solving the
LP, closes all 7 in 20 s together.

It is exact although the LPs are solved in floating point, because no LP answer is trusted:

- a node is closed only by a **Farkas certificate checked exactly**: HiGHS's dual ray ``y`` is
  rounded to integers ``Y`` and ``max over the node's box of (A^T Y) x < sum_i (Y_i > 0 ? Y_i L_i :
  Y_i U_i)`` is evaluated exactly (``A``, ``L``, ``U`` and the bounds are integers: the model is
  integral; see :class:`Matrix`); any ``Y`` that passes proves the node's rows have no real solution,
  so no integer one either. A node HiGHS calls empty without a ray that passes is *unresolved*, and
  then the answer is ``unknown``, never ``infeasible``;
- ``feasible`` needs an integer point that satisfies every constraint of the model, checked in
  integers (conditional constraints by their condition, not by the big-M rows).

Search: the LP minimizes ``model.objective`` when the model carries one (the clause's linear form:
the LP optimum points at the likeliest violation). A node branches on a fractional binary chosen by
pseudo-costs (what each binary's branches raised the bound so far), else on the most fractional
integer variable (split at its floor): finite on a bounded model, so complete given time. The child
on the LP value's side is solved next (a warm start), the other waits in a best-bound-first queue.

HiGHS runs in a forked child (``killable``): in this process it would leave threads behind that
break every later forked HiGHS.
"""

from __future__ import annotations

import heapq
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bvverify.backends.base import BudgetedBackend, Capabilities, Hint, SolveResult
from bvverify.backends.highs import _highs_banner_shown, highs_lp
from bvverify.backends.killable import solve_killable
from bvverify.encoders.intmodel import IntModel, big_m_rows

_TOL = 1e-6  # a value this close to an integer counts as integral when branching (never for a verdict)
_RAY_BITS = 40  # fixed-point precision of a dual ray before its exact check


Rows = list[tuple[dict[int, int], int | None, int | None]]
_EXACT = 2.0**52  # float64 adds and multiplies integers below this exactly


class Matrix:
    """The rows once more as flat arrays, for checking a ray with numpy: float64 is exact on integers
    below 2^53, so with the ray scaled to keep every column's sum of |products| below 2^52 (checked
    on the rounded ray) the column sums come out exact; the two final sums use Python integers."""

    def __init__(self, rows: Rows, n: int) -> None:
        self.rows, self.n = rows, n
        self.row_of = np.repeat(np.arange(len(rows)), [len(t) for t, _, _ in rows])
        self.cols = np.fromiter((v for t, _, _ in rows for v in t), dtype=np.int64, count=len(self.row_of))
        coefs = [c for t, _, _ in rows for c in t.values()]
        self.fits = all(abs(c) < _EXACT for c in coefs)  # else only the integer path is exact
        self.data = np.array(coefs, dtype=np.float64)
        self.has_lo = np.array([lo is not None for _, lo, _ in rows], dtype=bool)
        self.has_hi = np.array([hi is not None for _, _, hi in rows], dtype=bool)
        self.lo = np.array([-np.inf if lo is None else float(lo) for _, lo, _ in rows])
        self.hi = np.array([np.inf if hi is None else float(hi) for _, _, hi in rows])

    def surely_fails(self, x: np.ndarray) -> bool:
        """A quick float look at the point ``x``: True only when some row misses its bounds by far more
        than float error could explain (then the exact check need not run; it decides otherwise)."""
        prod = self.data * x[self.cols]
        act = np.bincount(self.row_of, weights=prod, minlength=len(self.rows))
        slack = 1.0 + 1e-9 * np.bincount(self.row_of, weights=np.abs(prod), minlength=len(self.rows))
        return bool(np.any(act < self.lo - slack) or np.any(act > self.hi + slack))

    def farkas_holds(self, ray: np.ndarray, lo: list[int], hi: list[int]) -> bool:
        """As :func:`farkas_holds`, exact, with numpy for the column sums when they fit."""
        y = np.asarray(ray, dtype=np.float64)
        if not self.fits or len(y) != len(self.rows) or not np.all(np.isfinite(y)):
            return farkas_holds(self.rows, ray, lo, hi)
        y = np.where((y > 0) & ~self.has_lo | (y < 0) & ~self.has_hi, 0.0, y)
        peak = np.max(np.abs(y)) if len(y) else 0.0
        if peak == 0.0:
            return False
        mag = np.bincount(self.cols, weights=np.abs(self.data) * np.abs(y / peak)[self.row_of], minlength=self.n)
        top_mag = float(mag.max()) if self.n else 0.0
        if top_mag == 0.0:
            return False
        shift = 50 - int(np.ceil(np.log2(top_mag)))
        yy = np.rint(np.ldexp(y / peak, shift))
        guard = np.bincount(self.cols, weights=np.abs(self.data) * np.abs(yy)[self.row_of], minlength=self.n)
        if not guard.max() < _EXACT:
            return farkas_holds(self.rows, ray, lo, hi)
        coef = np.bincount(self.cols, weights=self.data * yy[self.row_of], minlength=self.n)  # exact integers
        return _contradicts(self.rows, {int(i): int(yy[i]) for i in np.flatnonzero(yy)},
                            {int(j): int(coef[j]) for j in np.flatnonzero(coef)}, lo, hi)


@dataclass
class _Built:
    model: IntModel
    rows: Rows
    cost: list[float]
    binaries: np.ndarray  # indices of the 0/1 variables
    matrix: Matrix


def farkas_holds(rows: Rows, ray: np.ndarray, lo: list[int], hi: list[int]) -> bool:
    """Does ``ray`` (any real vector, one entry per row) prove that no real x in [lo, hi] satisfies
    every row ``L_i <= a_i x <= U_i``? Checked in integers: for Y the ray in fixed point (with the sign
    of a missing side zeroed), every such x has ``sum_i Y_i a_i x >= sum_i (Y_i L_i or Y_i U_i)``, while
    ``sum_i Y_i a_i x <= max over the box``; a max below the right side is a contradiction."""
    scale = float(np.max(np.abs(ray))) if len(ray) else 0.0
    if not np.isfinite(scale) or scale == 0.0:
        return False
    ys: dict[int, int] = {}
    coef: dict[int, int] = {}
    for i, ((terms, lo_i, hi_i), y) in enumerate(zip(rows, ray)):
        yi = int(round(float(y) / scale * 2**_RAY_BITS))
        if yi > 0 and lo_i is None or yi < 0 and hi_i is None or yi == 0:
            continue
        ys[i] = yi
        for v, c in terms.items():
            coef[v] = coef.get(v, 0) + yi * c
    return _contradicts(rows, ys, coef, lo, hi)


def _contradicts(rows: Rows, ys: dict[int, int], coef: dict[int, int], lo: list[int], hi: list[int]) -> bool:
    """The certificate's last step, in Python integers: with ``coef = sum_i ys[i] a_i``, is the box's
    largest ``coef . x`` below ``sum_i ys[i] * (L_i if ys[i] > 0 else U_i)`` (each row's side the sign
    of its multiplier allows)?"""
    rhs = sum(y * (rows[i][1] if y > 0 else rows[i][2]) for i, y in ys.items())  # type: ignore[operator]
    top = sum(c * (hi[v] if c > 0 else lo[v]) for v, c in coef.items())
    return top < rhs


def satisfies(model: IntModel, x: list[int]) -> bool:
    """Every constraint of ``model`` at the integer point ``x``, exactly (a conditional one only when
    its binary has the value that activates it)."""
    if any(not (lo <= v <= hi) for v, lo, hi in zip(x, model.lo, model.hi)):
        return False
    for con in model.constraints:
        if con.when is not None and x[con.when[0]] != con.when[1]:
            continue
        s = con.lin.const + sum(c * x[v] for v, c in con.lin.terms.items())
        if con.lo is not None and s < con.lo or con.hi is not None and s > con.hi:
            return False
    return True


class _PseudoCosts:
    """How much each binary's branches raised the LP bound so far (a child with an empty LP counts
    as a large raise: it closed a branch). Branching on the binary whose two branches promise the
    most, as a product, needs far fewer nodes than the most fractional one; unseen binaries get the
    average, and the fraction breaks ties (and decides alone when no objective guides the LP)."""

    def __init__(self, n: int) -> None:
        self.total = np.zeros((2, n))
        self.seen = np.zeros((2, n))

    def _mean(self, side: int) -> float:
        """The average raise of that side's branches over the binaries seen (1 before any)."""
        known = self.seen[side] > 0
        return float(np.mean(self.total[side][known] / self.seen[side][known])) if known.any() else 1.0

    def learn(self, var: int, side: int, gain: float | None) -> None:
        if gain is None:
            gain = 10.0 * max(1.0, self._mean(side))
        self.total[side, var] += max(0.0, gain)
        self.seen[side, var] += 1

    def best(self, pick: list[int], frac: np.ndarray) -> int:
        idx = np.asarray(pick)
        score = np.ones(len(idx))
        for side in (0, 1):
            mean = self._mean(side)
            est = np.where(self.seen[side, idx] > 0, self.total[side, idx] / np.maximum(self.seen[side, idx], 1), mean)
            score *= np.maximum(est, 1e-6)
        return int(idx[np.lexsort((-frac[idx], -score))[0]])


def _search(b: _Built, seconds: float | None) -> SolveResult:
    import highspy

    end = None if seconds is None else time.perf_counter() + seconds
    if any(lo is not None and hi is not None and lo > hi for _, lo, hi in b.rows):
        return SolveResult("infeasible")  # a row no value satisfies (HiGHS refuses it without a ray)
    if not b.rows:  # nothing but the domains (HiGHS calls that model "empty" and solves nothing)
        point = list(b.model.lo)
        return SolveResult("feasible", point) if satisfies(b.model, point) else SolveResult("infeasible")
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("presolve", "off")  # an infeasibility found by presolve comes without a dual ray to check
    h.setOptionValue("primal_feasibility_tolerance", 1e-9)
    h.passModel(highs_lp(b.model, b.rows, b.cost, integral=False))
    n = b.model.n_vars
    cols = np.arange(n, dtype=np.int32)
    base_lo, base_hi = list(b.model.lo), list(b.model.hi)
    infeasible = highspy.HighsModelStatus.kInfeasible
    optimal = highspy.HighsModelStatus.kOptimal
    nodes = 0
    why: Counter[str] = Counter()  # nodes that could not be settled exactly, by cause
    costs = _PseudoCosts(n)
    heap: list[tuple[float, int, dict[int, tuple[int, int]], tuple[int, int, float]]] = [(-np.inf, 0, {}, (-1, 0, 0.0))]
    count = 1
    dive: tuple[dict[int, tuple[int, int]], tuple[int, int, float]] | None = None
    while heap or dive is not None:
        if end is not None and time.perf_counter() > end:
            return SolveResult("unknown", reason=f"lpbab: time limit reached ({nodes} nodes, {len(heap)} open)")
        if dive is not None:  # the child of the node just solved: its basis is nearly this one's (a warm start)
            (fix, (var, side, parent)), dive = dive, None
        else:
            _, _, fix, (var, side, parent) = heapq.heappop(heap)
        lo, hi = list(base_lo), list(base_hi)
        for v, (a, c) in fix.items():
            lo[v], hi[v] = a, c
        h.changeColsBounds(n, cols, np.array(lo, dtype=np.float64), np.array(hi, dtype=np.float64))
        h.run()
        nodes += 1
        st = h.getModelStatus()
        if st not in (optimal, infeasible):  # numerical trouble from a warm start: once more from scratch
            h.clearSolver()
            h.run()
            st = h.getModelStatus()
        if var >= 0:
            costs.learn(var, side, float(h.getInfo().objective_function_value) - parent if st == optimal else None)
        if st == infeasible:
            _, has_ray, ray = h.getDualRay()
            if has_ray and (b.matrix.farkas_holds(np.asarray(ray), lo, hi)
                            or b.matrix.farkas_holds(-np.asarray(ray), lo, hi)):
                continue
            why["ray"] += 1  # HiGHS says empty, but without a certificate we can check: not a proof
            continue
        if st != optimal:
            why[h.modelStatusToString(st)] += 1
            continue
        x = np.asarray(h.getSolution().col_value)
        point = np.clip(np.rint(x), lo, hi)
        cand = [int(v) for v in point]
        if not b.matrix.surely_fails(point) and satisfies(b.model, cand):
            return SolveResult("feasible", cand)
        frac = np.abs(x - np.rint(x))
        pick = [v for v in b.binaries if frac[v] > _TOL]
        if pick:
            v = costs.best(pick, frac)
            kids = [(v, 0, 0), (v, 1, 1)]
        else:
            v = int(np.argmax(frac))  # a tiny fraction too: large coefficients make it matter in the rows
            if frac[v] == 0.0:
                why["integral"] += 1  # integral, yet a row fails exactly (the LP's tolerance): no split is left
                continue
            f = int(np.floor(x[v]))
            kids = [(v, lo[v], f), (v, f + 1, hi[v])]
        bound = float(h.getInfo().objective_function_value)
        near = int(x[kids[0][0]] - kids[0][2] > 0.5)  # the side nearer the LP's value is solved next
        for side, (v, a, c) in enumerate(kids):
            if a > c:
                continue
            if side == near and dive is None:
                dive = ({**fix, v: (a, c)}, (v, side, bound))
                continue
            heapq.heappush(heap, (bound, count, {**fix, v: (a, c)}, (v, side, bound)))
            count += 1
    if why:
        return SolveResult("unknown", reason=f"lpbab: {why.total()} of {nodes} nodes could not be settled exactly "
                                             f"{dict(why)}")
    return SolveResult("infeasible")


class LpBab(BudgetedBackend[IntModel, _Built]):
    name = "lpbab"
    capabilities = Capabilities(exact=True, incremental=False, hints=False)

    def _build(self, model: IntModel, hints: Hint | None, expired: Callable[[], bool]) -> _Built:
        cost = [0.0] * model.n_vars
        if model.objective is not None:
            for v, c in model.objective.terms.items():
                cost[v] = float(c)
        binaries = np.array([v for v in range(model.n_vars) if model.lo[v] == 0 and model.hi[v] == 1], dtype=np.int64)
        rows = big_m_rows(model)
        return _Built(model, rows, cost, binaries, Matrix(rows, model.n_vars))

    def _run(self, built: _Built, seconds: float | None) -> SolveResult:
        _highs_banner_shown()  # here, before the fork: stdout stays clean for --json
        return solve_killable(_search, built, seconds, "lpbab")


__all__ = ["LpBab", "Matrix", "farkas_holds", "satisfies"]
