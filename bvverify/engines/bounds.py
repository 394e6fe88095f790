"""The bounds engine: decide a property from interval bounds alone, or say unknown.

``holds`` when every clause of the output condition has an atom that no output in
the bounds can satisfy (exact rational arithmetic on the bounds). Before giving up
it evaluates the centre of the box: a violating centre is a replayed counterexample.
"""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np

from bvverify.bounds.interval import propagate
from bvverify.engines.base import Runtime, Verdict, replay
from bvverify.ir.graph import QNetwork
from bvverify.properties.boxes import code_box
from bvverify.properties.spec import Property


def output_value_bounds(net: QNetwork, lo: np.ndarray, hi: np.ndarray, over: str) -> tuple[list[Fraction], list[Fraction]]:
    """Exact rational bounds of each Y_j (codes, or the monotone dequantized float32 values)."""
    lo, hi = lo.ravel(), hi.ravel()
    if over == "dequantized" and net.output.scale is not None:
        dl, dh = net.dequantize(lo), net.dequantize(hi)
        return [Fraction(float(v)) for v in dl], [Fraction(float(v)) for v in dh]
    return [Fraction(int(v)) for v in lo], [Fraction(int(v)) for v in hi]


def verify_bounds(net: QNetwork, prop: Property, runtime: Runtime | None = None,
                  prefer: np.ndarray | None = None) -> Verdict:
    t0 = time.perf_counter()
    clo, chi = code_box(net, prop)
    env = propagate(net, clo, chi)
    olo, ohi = env[net.output.name]
    ylo, yhi = output_value_bounds(net, olo, ohi, prop.output.over)
    open_clauses = 0
    for clause in prop.output.clauses:
        possible = True
        for lin in clause:
            least = sum((c * (ylo[j] if c >= 0 else yhi[j]) for j, c in lin.terms), Fraction(0))
            if least > lin.rhs or (lin.strict and least >= lin.rhs):
                possible = False
                break
        open_clauses += possible
    stats = {"open_clauses": open_clauses, "clauses": len(prop.output.clauses)}
    if open_clauses == 0:
        return Verdict("holds", "bounds", time.perf_counter() - t0, stats=stats)
    centre = (clo + chi) // 2
    out = net.evaluate_codes(centre[None])[0]
    y = net.dequantize(out) if prop.output.over == "dequantized" and net.output.scale is not None else out
    if prop.output.holds(y.ravel()):
        cex = replay(net, prop, centre, runtime, prefer)
        return Verdict("violated", "bounds", time.perf_counter() - t0, counterexample=cex, stats=stats)
    return Verdict("unknown", "bounds", time.perf_counter() - t0,
                   reason=f"interval bounds leave {open_clauses} of {len(prop.output.clauses)} clauses open", stats=stats)
