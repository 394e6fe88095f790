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

from collections.abc import Callable

import numpy as np
import z3

from bvverify.encoders.bv import Lowering, Tensor, const, fit, width_for
from bvverify.errors import UnsupportedOpError
from bvverify.ir import ops
from bvverify.runtimes.base import StepTable, step_table
from bvverify.runtimes.elementwise import AddPath, add_path, add_vector_mask
from bvverify.runtimes.pooling import avgpool_code_fn, avgpool_kind, avgpool_monotone, avgpool_plan

F32 = np.float32
MAX_CHECK = 1 << 20  # step-function intervals compared point by point against the runtime
MAX_GRID = 1 << 18  # add operand pairs compared point by point
MAX_OPERAND = 1 << 20  # operand code ranges evaluated (a table per operand)
MAX_CHAIN = 4096  # distinct codes of a non-affine operand term (one comparison each)
MAX_EXACT = 2**52  # |operand term| in 2^-K units: sums stay exact in float64


def _codes(lo: int, hi: int) -> np.ndarray:
    return np.arange(int(lo), int(hi) + 1, dtype=np.int64)


def checked_table(fn: Callable[[np.ndarray], np.ndarray], lo: int, hi: int, proven: Callable[[], bool],
                  what: str) -> StepTable:
    """The exact step table of ``fn`` over [lo, hi], refused unless ``fn`` is monotone there:
    checked point by point on short intervals, otherwise by ``proven()``."""
    if hi - lo + 1 <= MAX_CHECK:
        xs = _codes(lo, hi)
        vals = np.asarray(fn(xs), dtype=np.int64)
        if np.any(np.diff(vals) < 0):
            raise UnsupportedOpError(f"bit-vector engine: {what} is not monotone on [{lo}, {hi}]")
        table = step_table(fn, lo, hi)
        if not np.array_equal(table(xs), vals):  # pragma: no cover - step_table is exact on monotone functions
            raise AssertionError(f"internal error: step table of {what} differs from the runtime")
        return table
    if not proven():
        raise UnsupportedOpError(f"bit-vector engine: {what} is not proven monotone on [{lo}, {hi}] "
                                 "(the interval is too long to check point by point)")
    return step_table(fn, lo, hi)


def _out_width(node: ops.AvgPool2d | ops.Add) -> int:
    # every path yields a code in [0, 255] or clamped into [lo, hi]
    return width_for(min(node.lo, node.hi, 0), max(node.lo, node.hi, 255))


# -- average pooling -------------------------------------------------------------------
def lower_avgpool(lw: Lowering, node: ops.AvgPool2d, x: Tensor) -> Tensor:
    c, h, wd = x.shape
    (oh, ow), wins = avgpool_plan(node, (c, h, wd))
    kinds = [avgpool_kind(node, (c, h, wd), ch) for ch in range(c)]
    z = int(node.zero_point)
    w_out = _out_width(node)
    shape = (c, oh, ow)
    terms = np.empty(shape, dtype=object)
    lo = np.empty(shape, dtype=object)
    hi = np.empty(shape, dtype=object)
    tables: dict[tuple, StepTable] = {}
    for ch in range(c):
        kind = kinds[ch]
        for win in wins:
            taps = [(y, xx) for y in range(win.h0, win.h1) for xx in range(win.w0, win.w1)]
            k0 = -win.size * z
            a = k0 + sum(int(x.lo[ch, y, xx]) for y, xx in taps)
            b = k0 + sum(int(x.hi[ch, y, xx]) for y, xx in taps)
            key = (kind, win.n, a, b)
            if key not in tables:
                fn = avgpool_code_fn(node, kind, win.n)
                tables[key] = checked_table(
                    fn, a, b, lambda kind=kind, n=win.n, a=a, b=b: avgpool_monotone(node, kind, n, a, b),
                    f"{node.name}: average pool ({kind} path, divisor {win.n})")
            table = tables[key]
            wa = width_for(a, b)
            variable = []
            for y, xx in taps:
                t = x.terms[ch, y, xx]
                if z3.is_bv_value(t):
                    k0 += t.as_signed_long()
                else:
                    variable.append(fit(t, wa))
            acc = const(k0, wa) if k0 or not variable else None
            for t in variable:
                acc = t if acc is None else acc + t
            full = (ch, win.oy, win.ox)
            terms[full] = lw._step(acc, table, w_out, f"{node.name}_{ch}_{win.oy}_{win.ox}")
            lo[full], hi[full] = table.v_lo, table.v_hi
    return Tensor(terms, lo, hi)


# -- add ---------------------------------------------------------------------------
def _scale_exponent(vals: np.ndarray) -> int | None:
    """The least K with every float in ``vals`` an integer multiple of 2^-K (None: all zero)."""
    v = np.asarray(vals, dtype=np.float64)
    v = v[v != 0]
    if v.size == 0:
        return None
    _, e = np.frexp(v)  # v = m * 2^e, 0.5 <= |m| < 1, 53-bit m
    m = np.ldexp(v, 53 - e).astype(np.int64)  # exact integer significands
    low = m & -m
    tz = np.round(np.log2(low.astype(np.float64))).astype(np.int64)
    return int(np.max(53 - e - tz))


class _Operand:
    """One operand's term table: code -> exact integer (in the common 2^-K units)."""

    def __init__(self, codes: np.ndarray, ints: np.ndarray):
        self.codes, self.ints = codes, ints
        self.lo, self.hi = int(ints.min()), int(ints.max())
        d = np.diff(ints)
        self.affine = len(ints) == 1 or bool(np.all(d == d[0]))
        self.slope = int(d[0]) if len(ints) > 1 else 0

    def term(self, t: z3.BitVecRef, w: int) -> z3.BitVecRef:
        if self.lo == self.hi:
            return const(self.lo, w)
        if z3.is_bv_value(t):
            return const(int(self.ints[t.as_signed_long() - int(self.codes[0])]), w)
        if self.affine:
            base = int(self.ints[0]) - self.slope * int(self.codes[0])
            return const(self.slope, w) * fit(t, w) + const(base, w)
        e = const(int(self.ints[-1]), w)
        for c, v in zip(self.codes[:-1][::-1], self.ints[:-1][::-1]):
            e = z3.If(t == const(int(c), t.size()), const(int(v), w), e)
        return e


class _AddElement:
    """The exact encoding data of one (path, operand ranges) combination."""

    def __init__(self, node: ops.Add, path: AddPath, vec: bool, alo: int, ahi: int, blo: int, bhi: int):
        what = f"{node.name}: add ({'vector' if vec else 'scalar'} path) with operand ranges " \
               f"[{alo}, {ahi}] and [{blo}, {bhi}]"
        na, nb = ahi - alo + 1, bhi - blo + 1
        if max(na, nb) > MAX_OPERAND:
            raise UnsupportedOpError(f"bit-vector engine: {what} too wide")
        ca, cb = _codes(alo, ahi), _codes(blo, bhi)
        va, vb = path.fa(ca), path.fb(cb)
        if path.floating:
            if not (np.all(np.isfinite(va)) and np.all(np.isfinite(vb))):
                raise UnsupportedOpError(f"bit-vector engine: {what}: an operand term overflows float32")
            ks = [e for e in (_scale_exponent(va), _scale_exponent(vb)) if e is not None]
            k = max(ks) if ks else 0
            big = max(float(np.max(np.abs(va))), float(np.max(np.abs(vb))))
            if big and np.ldexp(big, k) >= MAX_EXACT:
                raise UnsupportedOpError(f"bit-vector engine: {what}: operand scales too far apart "
                                         "for an exact integer sum")
            ia = np.ldexp(va.astype(np.float64), k).astype(np.int64)
            ib = np.ldexp(vb.astype(np.float64), k).astype(np.int64)

            def g(s: np.ndarray) -> np.ndarray:
                # RN(fa + fb) with the sum exact in float64 (|s| < 2^53): one rounding to float32
                return path.out(np.ldexp(np.asarray(s, dtype=np.int64).astype(np.float64), -k).astype(F32))

            def proven() -> bool:
                c_lo = float(np.float32(np.ldexp(float(smin), -k)))
                c_hi = float(np.float32(np.ldexp(float(smax), -k)))
                return path.monotone(c_lo, c_hi)
        else:
            ia, ib = np.asarray(va, dtype=np.int64), np.asarray(vb, dtype=np.int64)

            def g(s: np.ndarray) -> np.ndarray:
                return path.out(np.asarray(s, dtype=np.int64))

            def proven() -> bool:
                return path.monotone(float(smin), float(smax))

        self.a, self.b = _Operand(ca, ia), _Operand(cb, ib)
        for op in (self.a, self.b):
            if not op.affine and len(op.codes) > MAX_CHAIN:
                raise UnsupportedOpError(f"bit-vector engine: {what} too wide")
        smin, smax = self.a.lo + self.b.lo, self.a.hi + self.b.hi
        self.table = checked_table(g, smin, smax, proven, what)
        self.width = width_for(smin, smax)
        if na * nb <= MAX_GRID:  # the composed encoding against the runtime on every operand pair
            want = path(ca[:, None], cb[None, :])
            got = self.table(ia[:, None] + ib[None, :])
            if not np.array_equal(want, got):  # pragma: no cover - a bug in the split, never an approximation
                raise AssertionError(f"internal error: {what}: the integer-sum encoding differs from the runtime")


def lower_add(lw: Lowering, node: ops.Add, a: Tensor, b: Tensor) -> Tensor:
    shape = a.shape
    mask = add_vector_mask(node, shape)
    paths: dict[bool, AddPath] = {}
    cache: dict[tuple, _AddElement] = {}
    w_out = _out_width(node)
    terms = np.empty(shape, dtype=object)
    lo = np.empty(shape, dtype=object)
    hi = np.empty(shape, dtype=object)
    for idx in np.ndindex(shape):
        vec = bool(mask[idx])
        if vec not in paths:
            paths[vec] = add_path(node, vec)
        key = (vec, int(a.lo[idx]), int(a.hi[idx]), int(b.lo[idx]), int(b.hi[idx]))
        if key not in cache:
            cache[key] = _AddElement(node, paths[vec], *key)
        el = cache[key]
        ta, tb = el.a.term(a.terms[idx], el.width), el.b.term(b.terms[idx], el.width)
        if z3.is_bv_value(ta) and z3.is_bv_value(tb):
            s = const(ta.as_signed_long() + tb.as_signed_long(), el.width)
        else:
            s = ta + tb
        terms[idx] = lw._step(s, el.table, w_out, f"{node.name}_{'_'.join(map(str, idx))}")
        lo[idx], hi[idx] = el.table.v_lo, el.table.v_hi
    return Tensor(terms, lo, hi)
