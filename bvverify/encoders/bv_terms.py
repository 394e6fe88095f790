"""Bit-vector terms shared by the lowering of the integer IR (``encoders.bv``) and of its
elementwise ops (``encoders.bv_elementwise``): widths, constants, tensors of terms and the
exact step function. Its own module so both import it and neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import z3

from bvverify.runtimes.base import StepTable


def width_for(lo: int, hi: int) -> int:
    """Signed two's-complement width holding every integer of [lo, hi]."""
    return max(int(lo).bit_length() if lo >= 0 else int(-lo - 1).bit_length(),
               int(hi).bit_length() if hi >= 0 else int(-hi - 1).bit_length()) + 1


def fit(e: z3.BitVecRef, w: int) -> z3.BitVecRef:
    """Sign-extend (or truncate, when the value is known to fit) to width w."""
    if e.size() == w:
        return e
    if e.size() < w:
        return z3.simplify(z3.SignExt(w - e.size(), e)) if z3.is_bv_value(e) else z3.SignExt(w - e.size(), e)
    return z3.Extract(w - 1, 0, e)


def const(v: int, w: int) -> z3.BitVecRef:
    return z3.BitVecVal(int(v) % (1 << w), w)


@dataclass
class Tensor:
    """Elementwise terms and exact integer intervals, in the unbatched shape."""

    terms: np.ndarray  # object array of z3 BitVecRef
    lo: np.ndarray  # int (object) array
    hi: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return self.terms.shape


def step(t: z3.BitVecRef, table: StepTable, w: int, name: str, mode: str,
         constraints: list[z3.BoolRef]) -> z3.BitVecRef:
    """The exact step function ``table`` applied to the term ``t``.

    Constant input: evaluated. Otherwise (``mode`` "var") a fresh output variable ``o``
    named ``name`` tied to the accumulator by one equivalence per threshold,
    ``acc >= T_k  <=>  o >= v_lo + k`` (with ``o`` confined to [v_lo, v_hi]), appended to
    ``constraints``: no adder tree, and each threshold is a single comparison the SAT
    solver can branch on. ``mode`` "sum": an adder of one If per threshold."""
    if z3.is_bv_value(t):
        return const(int(table(np.array([t.as_signed_long()]))[0]), w)
    if table.v_lo == table.v_hi:
        return const(table.v_lo, w)
    n = len(table.thresholds)
    if n == table.acc_hi - table.acc_lo and np.array_equal(table.thresholds,
                                                          np.arange(table.acc_lo + 1, table.acc_hi + 1)):
        # one code per accumulator value on the whole interval: f(acc) = acc - acc_lo + v_lo exactly
        ww = max(w, t.size())
        return fit(fit(t, ww) + const(table.v_lo - table.acc_lo, ww), w) if ww > w else \
            fit(t, ww) + const(table.v_lo - table.acc_lo, ww)
    if mode == "sum":
        out = const(table.v_lo, w)
        for thr in table.thresholds:
            out = out + z3.If(t >= const(int(thr), t.size()), const(1, w), const(0, w))
        return out
    o = z3.BitVec(name, w)
    constraints.extend([o >= const(table.v_lo, w), o <= const(table.v_hi, w)])
    for k, thr in enumerate(table.thresholds):
        constraints.append((t >= const(int(thr), t.size())) == (o >= const(table.v_lo + k + 1, w)))
    return o
