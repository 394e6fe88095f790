"""The bounds engine: decide a property from sound bounds alone, or say unknown.

``holds`` when every clause of the output condition has an atom that no output in
the bounds can satisfy. ``method="interval"`` uses per-output interval bounds;
``method="symbolic"`` (the default) uses the symbolic pass's tighter per-output bounds
and, for atoms over output codes, a lower bound of the atom's whole linear form by
back-substitution, which sees that outputs move together. Comparisons with the
atom's right-hand side are exact rationals. Before giving up it evaluates the
centre of the box: a violating centre is a replayed counterexample.
"""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np

from bvverify.backends.base import SPENT
from bvverify.backends.budget import Budget
from bvverify.bounds import METHODS
from bvverify.bounds.interval import propagate
from bvverify.bounds.symbolic import SymbolicBounds, output_linear_lower, symbolic_bounds
from bvverify.engines.base import Runtime, Verdict, replay
from bvverify.engines.config import OptionError
from bvverify.ir.graph import QNetwork
from bvverify.properties.boxes import code_box
from bvverify.properties.spec import Linear, Property


def output_value_bounds(net: QNetwork, lo: np.ndarray, hi: np.ndarray, over: str) -> tuple[list[Fraction], list[Fraction]]:
    """Exact rational bounds of each Y_j (codes, or the monotone dequantized float32 values)."""
    lo, hi = lo.ravel(), hi.ravel()
    if over == "dequantized" and net.output.scale is not None:
        dl, dh = net.dequantize(lo), net.dequantize(hi)
        return [Fraction(float(v)) for v in dl], [Fraction(float(v)) for v in dh]
    return [Fraction(int(v)) for v in lo], [Fraction(int(v)) for v in hi]


def _rules_out(least: Fraction, lin: Linear) -> bool:
    """No output whose ``lin`` form is at least ``least`` satisfies the atom."""
    return least > lin.rhs or (lin.strict and least >= lin.rhs)


def _ruled_out_atoms(net: QNetwork, prop: Property, atoms: list[Linear], ylo: list[Fraction], yhi: list[Fraction],
                     state: SymbolicBounds | None, clo: np.ndarray, chi: np.ndarray) -> list[bool]:
    """Per atom: impossible by per-output bounds, or (symbolic, over codes) by its linear form's lower bound."""
    out = [_rules_out(sum((c * (ylo[j] if c >= 0 else yhi[j]) for j, c in lin.terms), Fraction(0)), lin)
           for lin in atoms]
    over_codes = prop.output.over == "codes" or net.output.scale is None
    todo = [i for i, r in enumerate(out) if not r]
    if state is None or not over_codes or not todo:
        return out
    rows = np.zeros((len(todo), len(ylo)), dtype=object)
    rows[:] = Fraction(0)
    for r, i in enumerate(todo):
        for j, c in atoms[i].terms:
            rows[r, j] += c
    for i, least in zip(todo, output_linear_lower(net, clo, chi, rows, state)):
        out[i] = _rules_out(Fraction(float(least)), atoms[i])
    return out


def open_clauses(net: QNetwork, prop: Property, clo: np.ndarray, chi: np.ndarray,
                 method: str = "symbolic", state: SymbolicBounds | None = None) -> list[int]:
    """Indices of the output condition's clauses that the bounds over the code box [clo, chi]
    cannot rule out (a clause is ruled out when one of its atoms is impossible). Empty: holds.
    ``state``: symbolic bounds of this box already computed by the caller."""
    if method not in METHODS:
        raise OptionError(f"bounds method {method!r}: use one of {', '.join(METHODS)}")
    if method == "symbolic" and state is None:
        state = symbolic_bounds(net, clo, chi)
    env = state.bounds if method == "symbolic" and state is not None else propagate(net, clo, chi)
    olo, ohi = env[net.output.name]
    ylo, yhi = output_value_bounds(net, olo, ohi, prop.output.over)
    atoms = [lin for clause in prop.output.clauses for lin in clause]
    ruled_out = _ruled_out_atoms(net, prop, atoms, ylo, yhi, state if method == "symbolic" else None, clo, chi)
    ends = np.cumsum([len(clause) for clause in prop.output.clauses])
    return [k for k, (e, c) in enumerate(zip(ends, prop.output.clauses)) if not any(ruled_out[e - len(c) : e])]


def verify_bounds(net: QNetwork, prop: Property, runtime: Runtime | None = None,
                  prefer: np.ndarray | None = None, method: str = "symbolic",
                  timeout: Budget | float | None = None) -> Verdict:
    """Decide from bounds alone. The budget is checked between phases (a propagation, once
    started, runs to its end: it is polynomial and measured in milliseconds here)."""
    if method not in METHODS:
        raise OptionError(f"bounds method {method!r}: use one of {', '.join(METHODS)}")
    budget = Budget.of(timeout)
    t0 = time.perf_counter()
    if budget.expired():
        return Verdict("unknown", "bounds", 0.0, reason=SPENT)
    clo, chi = code_box(net, prop)
    still_open = open_clauses(net, prop, clo, chi, method)
    if budget.expired():
        return Verdict("unknown", "bounds", time.perf_counter() - t0, reason=f"{SPENT} (in the bounds)")
    stats = {"open_clauses": len(still_open), "clauses": len(prop.output.clauses), "method": method}
    if not still_open:
        return Verdict("holds", "bounds", time.perf_counter() - t0, stats=stats)
    centre = (clo + chi) // 2
    out = net.evaluate_codes(centre[None])[0]
    y = net.dequantize(out) if prop.output.over == "dequantized" and net.output.scale is not None else out
    if prop.output.holds(y.ravel()):
        cex = replay(net, prop, centre, runtime, prefer)
        return Verdict("violated", "bounds", time.perf_counter() - t0, counterexample=cex, stats=stats)
    return Verdict("unknown", "bounds", time.perf_counter() - t0,
                   reason=f"{method} bounds leave {len(still_open)} of {len(prop.output.clauses)} clauses open", stats=stats)
