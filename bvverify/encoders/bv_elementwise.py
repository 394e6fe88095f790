"""Exact bit-vector lowering of :class:`~bvverify.ir.ops.AvgPool2d` and :class:`~bvverify.ir.ops.Add`.

Both ops are a float (or fixed-point) formula that mixes its integer inputs at a
single point, after which a monotone quantizer follows. The lowering splits them
there, with the split taken from the runtime modules themselves
(``runtimes.pooling.avgpool_code_fn``, ``runtimes.elementwise.add_path``), so the
interpreter and the encoder share one definition of the arithmetic:

- AvgPool2d: per output element, ``acc = S - size*z`` is an exact linear form of
  the window's input codes, and the code is a monotone function of ``acc`` for
  that window's (divisor, kernel path, channel class); it is encoded through its
  exact threshold table over the reachable ``acc`` interval, like Requantize.
  onnxruntime's float pool kernel, where no such table is exact, is written as its own
  float32 arithmetic instead (``encoders.bv_float_pool``).
- Add: the path's code is ``out(RN(fa(a) + fb(b)))`` (float32 paths) or
  ``out(fa(a) + fb(b))`` (qnnpack fixed point). Every float32 operand term is an
  integer multiple of a common power of two ``2^-K``, so ``S = 2^K*fa(a) + 2^K*fb(b)``
  is an exact integer (each operand term a per-code table, or an affine form when
  it is one), ``RN(fa + fb) = RN(S * 2^-K)`` (one rounding, as the runtime does),
  and the code is a monotone step function of ``S``: one comparison per output
  step. Formula size is linear in the operand ranges, not their product.

Nothing is assumed: each step table is compared against the runtime function on
its whole interval when that is at most ``MAX_CHECK`` long (non-monotone: refused);
a longer interval needs the runtime's own monotonicity proof (the vector
quantizer's int32 wrap is the one way to lose it). For Add the composed encoding is
also compared against the runtime's ``q(a, b)`` on every reachable operand pair
when there are at most ``MAX_GRID`` of them.
"""

from __future__ import annotations

import numpy as np
import z3

from bvverify.encoders.bv_float_pool import lower_float_pool
from bvverify.encoders.bv_terms import Tensor, const, fit, step, width_for
from bvverify.ir import ops
from bvverify.ir.split import Operand, add_elements, avgpool_elements
from bvverify.runtimes.ort_pool import RULE_FLOAT
from bvverify.runtimes.pooling import table_proven


def _out_width(node: ops.AvgPool2d | ops.Add) -> int:
    # every path yields a code in [0, 255] or clamped into [lo, hi]
    return width_for(min(node.lo, node.hi, 0), max(node.lo, node.hi, 255))


def lower_avgpool(node: ops.AvgPool2d, x: Tensor, mode: str, constraints: list[z3.BoolRef]) -> Tensor:
    """``mode`` and ``constraints``: the lowering's step mode and constraint list (``bv_terms.step``)."""
    w_out = _out_width(node)
    if node.rule == RULE_FLOAT and not table_proven(node, x.shape):  # the float kernel itself, exactly
        return lower_float_pool(node, x, w_out, mode, constraints)
    shape, elements = avgpool_elements(node, x.lo, x.hi)
    terms = np.empty(shape, dtype=object)
    lo = np.empty(shape, dtype=object)
    hi = np.empty(shape, dtype=object)
    for el in elements:
        ch = el.index[0]
        wa = width_for(el.table.acc_lo, el.table.acc_hi)
        k0 = el.k0
        variable = []
        for y, xx in el.taps:
            t = x.terms[ch, y, xx]
            if z3.is_bv_value(t):
                k0 += t.as_signed_long()
            else:
                variable.append(fit(t, wa))
        acc = const(k0, wa) if k0 or not variable else None
        for t in variable:
            acc = t if acc is None else acc + t
        terms[el.index] = step(acc, el.table, w_out, f"{node.name}_{'_'.join(map(str, el.index))}", mode, constraints)
        lo[el.index], hi[el.index] = el.table.v_lo, el.table.v_hi
    return Tensor(terms, lo, hi)


def operand_term(op: Operand, t: z3.BitVecRef, w: int) -> z3.BitVecRef:
    """An add operand's exact integer term: a constant, an affine form, or a per-code chain."""
    if op.lo == op.hi:
        return const(op.lo, w)
    if z3.is_bv_value(t):
        return const(int(op.ints[t.as_signed_long() - int(op.codes[0])]), w)
    if op.affine:
        base = int(op.ints[0]) - op.slope * int(op.codes[0])
        return const(op.slope, w) * fit(t, w) + const(base, w)
    e = const(int(op.ints[-1]), w)
    for c, v in zip(op.codes[:-1][::-1], op.ints[:-1][::-1]):
        e = z3.If(t == const(int(c), t.size()), const(int(v), w), e)
    return e


def lower_add(node: ops.Add, a: Tensor, b: Tensor, mode: str, constraints: list[z3.BoolRef]) -> Tensor:
    """``mode`` and ``constraints`` as for ``lower_avgpool``."""
    w_out = _out_width(node)
    terms = np.empty(a.shape, dtype=object)
    lo = np.empty(a.shape, dtype=object)
    hi = np.empty(a.shape, dtype=object)
    for idx, el in add_elements(node, a.lo, a.hi, b.lo, b.hi):
        w = width_for(el.table.acc_lo, el.table.acc_hi)
        ta, tb = operand_term(el.a, a.terms[idx], w), operand_term(el.b, b.terms[idx], w)
        if z3.is_bv_value(ta) and z3.is_bv_value(tb):
            s = const(ta.as_signed_long() + tb.as_signed_long(), w)
        else:
            s = ta + tb
        terms[idx] = step(s, el.table, w_out, f"{node.name}_{'_'.join(map(str, idx))}", mode, constraints)
        lo[idx], hi[idx] = el.table.v_lo, el.table.v_hi
    return Tensor(terms, lo, hi)
