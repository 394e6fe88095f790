"""Exact bit-vector lowering of onnxruntime's float QLinearAveragePool kernel (``AvgPool2d``
rule ``onnxruntime_float``) where no integer-sum table is exact (``runtimes.ort_pool``).

An output element whose reachable window sums all have a proven table is lowered like any
pool (integer sum, step table). For the others, the kernel's own float32 arithmetic is
written in z3's floating-point theory: each tap ``T = RN(s_in * (q - z))`` (``fpMul`` of the exactly converted code),
summed tap by tap in the kernel's row-major order (``fpAdd``, round to nearest even).
What follows the sum (``RN(y / n)``, ``RN(/ s_out)``, ``RN(+ z_out)``, rounding to an
integer, saturation) is a monotone step function of the float32 sum ``V``; its exact
thresholds (the least float32 reaching each code) are found by bisection over the ordered
float32 values with the runtime's own arithmetic, so the code is ``c_lo + #{k: V >= t_k}``.
z3's ``fpa2bv`` tactic then turns these constraints into pure bit-vector formulas (QF_BV,
the engine's logic): nothing is approximated.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import z3

from bvverify.encoders.bv_terms import Tensor, const, fit, step, width_for
from bvverify.errors import UnsupportedOpError
from bvverify.ir import ops
from bvverify.ir.split import checked_table
from bvverify.runtimes.ort_pool import float_avgpool, float_out
from bvverify.runtimes.pooling import avgpool_plan, window_code_fn

F32 = np.float32
_FP = z3.Float32()
_RNE = z3.RNE()


def _order(v: np.ndarray) -> np.ndarray:
    """float32 -> int64 preserving order (both zeros -> 0)."""
    i = np.asarray(v, dtype=F32).view(np.int32).astype(np.int64)
    return np.where(i >= 0, i, -(i & 0x7FFFFFFF))


def _unorder(k: np.ndarray) -> np.ndarray:
    k = np.asarray(k, dtype=np.int64)
    bits = np.where(k >= 0, k, (-k) | 0x80000000).astype(np.uint32)
    return bits.view(F32)


@lru_cache(maxsize=64)
def thresholds(n: int, s_out: float, z_out: int, lo: int, hi: int, v_lo: float, v_hi: float) -> tuple[float, ...]:
    """For codes ``c_lo + 1 .. c_hi`` (the codes of ``v_lo`` and ``v_hi``), the least float32 V in
    [v_lo, v_hi] whose code is at least that code (the code is monotone in V)."""
    so = F32(s_out)

    def code(v: np.ndarray) -> np.ndarray:
        return float_out(v, n, so, z_out, lo, hi)

    a, b = _order(np.array([v_lo]))[0], _order(np.array([v_hi]))[0]
    c_lo, c_hi = int(code(np.array([v_lo], F32))[0]), int(code(np.array([v_hi], F32))[0])
    want = np.arange(c_lo + 1, c_hi + 1)
    left = np.full(len(want), a, np.int64)  # code(left) < want
    right = np.full(len(want), b, np.int64)  # code(right) >= want
    while np.any(right - left > 1):
        mid = (left + right) // 2
        ok = code(_unorder(mid)) >= want
        right = np.where(ok, mid, right)
        left = np.where(ok, left, mid)
    return tuple(float(v) for v in _unorder(right))


def lower_float_pool(node: ops.AvgPool2d, x: Tensor, w_out: int, mode: str, constraints: list[z3.BoolRef]) -> Tensor:
    """The exact codes of every output element: an integer sum and step table where the element's
    reachable sums have a proven table (``runtimes.pooling.window_code_fn``), else fresh variables
    tied to the float kernel by pure bit-vector constraints."""
    c, h, w = x.shape
    (oh, ow), wins = avgpool_plan(node, (c, h, w))
    xlo = np.asarray(x.lo, dtype=np.int64)[None]
    xhi = np.asarray(x.hi, dtype=np.int64)[None]
    vlo, vhi = _sums(node, xlo, wins), _sums(node, xhi, wins)
    s = z3.FPVal(float(F32(node.scale)), _FP)
    z = int(node.zero_point)
    dw = max(16, width_for(int(xlo.min()) - z, int(xhi.max()) - z) + 1)
    taps: dict[tuple[int, int, int], z3.FPRef] = {}
    terms = np.empty((c, oh, ow), dtype=object)
    lo = np.empty((c, oh, ow), dtype=object)
    hi = np.empty((c, oh, ow), dtype=object)
    goal = z3.Goal()
    for ch in range(c):
        for win in wins:
            idx = (ch, win.oy, win.ox)
            table_term = _by_table(node, x, ch, win, w_out, mode, constraints)
            if table_term is not None:
                terms[idx], lo[idx], hi[idx] = table_term
                continue
            v = None
            for y in range(win.h0, win.h1):
                for xx in range(win.w0, win.w1):
                    key = (ch, y, xx)
                    if key not in taps:
                        d = fit(x.terms[key], dw) - const(z, dw)
                        taps[key] = z3.fpMul(_RNE, s, z3.fpSignedToFP(_RNE, d, _FP))
                    v = taps[key] if v is None else z3.fpAdd(_RNE, v, taps[key])
            a, b = float(vlo[0, ch, win.oy, win.ox]), float(vhi[0, ch, win.oy, win.ox])
            ts = thresholds(win.n, float(F32(node.out_scale)), int(node.out_zero_point), node.lo, node.hi, a, b)
            c_lo = int(float_out(np.array([a], F32), win.n, F32(node.out_scale), int(node.out_zero_point), node.lo,
                                 node.hi)[0])
            lo[idx], hi[idx] = c_lo, c_lo + len(ts)
            if not ts or v is None:
                terms[idx] = const(c_lo, w_out)
                continue
            o = z3.BitVec(f"{node.name}_{ch}_{win.oy}_{win.ox}", w_out)
            count = const(c_lo, w_out)
            for t in ts:
                count = count + z3.If(z3.fpGEQ(v, z3.FPVal(t, _FP)), const(1, w_out), const(0, w_out))
            goal.add(o == count)
            terms[idx] = o
    if len(goal):
        for sub in z3.Tactic("fpa2bv")(goal):
            constraints.extend(sub)
    return Tensor(terms, lo, hi)


def _by_table(node: ops.AvgPool2d, x: Tensor, ch: int, win, w_out: int, mode: str,
              constraints: list[z3.BoolRef]) -> tuple[z3.BitVecRef, int, int] | None:
    """The element as an integer sum + step table when its reachable sums have a proven table."""
    z = int(node.zero_point)
    cells = [(ch, y, xx) for y in range(win.h0, win.h1) for xx in range(win.w0, win.w1)]
    k0 = -win.size * z
    a = k0 + sum(int(x.lo[t]) for t in cells)
    b = k0 + sum(int(x.hi[t]) for t in cells)
    try:
        table = checked_table(window_code_fn(node, "ort_float", win, a, b), a, b, lambda: True,
                              f"{node.name}: average pool (float kernel, divisor {win.n})")
    except UnsupportedOpError:
        return None
    wa = width_for(a, b)
    acc = const(k0, wa)
    for t in cells:
        acc = acc + fit(x.terms[t], wa)
    name = f"{node.name}_{ch}_{win.oy}_{win.ox}"
    return step(z3.simplify(acc), table, w_out, name, mode, constraints), table.v_lo, table.v_hi


def _sums(node: ops.AvgPool2d, codes: np.ndarray, wins) -> np.ndarray:
    """The float32 window sums of one input (the kernel's own arithmetic, before its divisor)."""
    return float_avgpool(node, codes, wins, sums=True)
