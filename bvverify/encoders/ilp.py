"""Exact integer linear encoding of the IR (integer variables only, integral data).

Every tensor element is an exact linear form (:class:`~bvverify.encoders.intmodel.Lin`)
over integer variables, with a sound integer interval. How each op is encoded:

- Dense / Conv2d: the accumulator is a linear form of the input codes. If its range
  can leave ``acc_bits`` it is wrapped exactly: ``w = acc - 2^32 * k`` with integer ``k``.
- Requantize (and the step functions inside AvgPool2d / Add): over the element's
  accumulator band ``[l, u]`` (from the bounds: interval or symbolic) the exact
  threshold table of its channel is tested for a *linear rounding form*: integers
  ``P, Q, R`` with ``f(a) = base + floor((P*a + Q) / R)`` at every threshold, checked
  exactly at encoding time. Then ``0 <= P*a + Q - R*r <= R - 1`` defines ``r`` and the
  saturated ends are clamps (one binary each, only where the band reaches them).
  Elsewhere the step function is encoded piecewise: one binary per threshold
  (``z_k <=> a >= T_k``), ordered, ``y = v_lo + sum z_k``. Stable elements (a
  constant band) get no variables at all.
- Clamp, MaxPool2d: binaries selecting the active piece; Lookup and non-affine
  per-code tables (dequantized outputs, add operands): a unary expansion
  ``x = l + sum b_k`` with ``b_k`` ordered, exact for any table.
- The output condition: its atoms, scaled to integers, enforced by one binary per
  clause (none when there is one clause).

Conditional constraints stay conditional in the model (``when=(z, value)``); a
MILP back-end turns them into big-M rows with ``M`` exact from the bounds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from math import lcm

import numpy as np

from bvverify.encoders.intmodel import IntModel, Lin
from bvverify.errors import BvverifyError, UnsupportedOpError
from bvverify.ir import ops
from bvverify.ir.geometry import conv_rows, dense_rows, maxpool_windows, pair_taps
from bvverify.ir.graph import QNetwork
from bvverify.ir.ranges import tightened
from bvverify.ir.split import Operand, add_elements, avgpool_elements, requant_channel
from bvverify.properties.spec import OutputCondition
from bvverify.runtimes.base import StepTable, step_table
from bvverify.runtimes.quantize import dequantize

STEP_ENCODINGS = ("thresholds", "rounding")  # one ordered binary per threshold / a checked linear rounding form
MAX_R = 1 << 20  # largest denominator tried for a linear rounding form (keeps MILP coefficients small)


class EncodingSpent(BvverifyError):
    """The time budget ran out while the network was being encoded (a large box takes seconds
    of pure Python before any solver starts); the engines answer ``unknown``."""


class StepEncodingError(BvverifyError, ValueError):
    """A step-function encoding that does not exist."""


@dataclass
class ITensor:
    lins: np.ndarray  # object array of Lin
    lo: np.ndarray  # object array of int
    hi: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return self.lins.shape


@dataclass(frozen=True)
class RoundingForm:
    """``f(a) = base + floor((P*a + Q) / R)`` on ``[T_1 - 1, T_n]`` of a step table."""

    p: int
    q: int
    r: int
    base: int

    def __call__(self, a: int) -> int:
        return self.base + (self.p * a + self.q) // self.r


def rounding_form(table: StepTable) -> RoundingForm | None:
    """Integers ``P, Q, R`` (R a power of two up to ``MAX_R``) reproducing the table exactly
    at both sides of every threshold, hence on the whole band between the first and last
    threshold (a monotone integer function is fixed by its values at its step edges)."""
    t = np.unique(table.thresholds)
    if len(t) < 2:
        return None
    g_left = np.searchsorted(table.thresholds, t, side="right").astype(object)  # f(T) - v_lo
    g_right = np.searchsorted(table.thresholds, t, side="left").astype(object)  # f(T - 1) - v_lo
    tt = t.astype(object)
    slope = Fraction(int(g_left[-1] - g_right[0]), int(t[-1] - t[0]) + 1)
    r = 1
    while r <= MAX_R:
        centre = slope * r
        for p in range(max(int(centre) - 1, 0), int(centre) + 3):
            q_min = max(r * g_left - p * tt)
            q_max = min(r * (g_right + 1) - 1 - p * (tt - 1))
            if q_min <= q_max:
                return RoundingForm(p, int(q_min), r, table.v_lo)
        r *= 2
    return None


def _sub_table(table: StepTable, lo: int, hi: int) -> StepTable:
    """The step table restricted to ``[lo, hi]`` inside its band."""
    th = table.thresholds
    v_lo = int(table(np.array([lo]))[0])
    return StepTable(lo, hi, v_lo, th[(th > lo) & (th <= hi)])


class IlpLowering:
    def __init__(self, net: QNetwork, code_lo: np.ndarray, code_hi: np.ndarray,
                 bounds: dict[str, tuple[np.ndarray, np.ndarray]] | None = None, steps: str = "thresholds",
                 expired: Callable[[], bool] | None = None):
        if steps not in STEP_ENCODINGS:
            raise StepEncodingError(f"unknown step encoding {steps!r} (available: {', '.join(STEP_ENCODINGS)})")
        self.net = net
        self.bounds = bounds or {}
        self.steps = steps
        self.expired = expired  # the caller's clock (a Budget's ``expired``): encoders know no budgets
        self.m = IntModel()
        shape = tuple(net.input.shape)
        lo = np.asarray(code_lo, dtype=np.int64).reshape(shape)
        hi = np.asarray(code_hi, dtype=np.int64).reshape(shape)
        lins = np.empty(shape, dtype=object)
        for idx in np.ndindex(shape):
            a, b = int(lo[idx]), int(hi[idx])
            lins[idx] = Lin.of(a) if a == b else self.m.new_var(a, b, f"x_{'_'.join(map(str, idx))}")
        self.inputs = lins
        self.env: dict[str, ITensor] = {"input": ITensor(lins, lo.astype(object), hi.astype(object))}

    def run(self) -> ITensor:
        """Encode every node; returns the output tensor (all tensors stay in ``env``)."""
        for node in self.net.nodes:
            fn = LOWER.get(type(node))
            if fn is None:
                raise UnsupportedOpError(f"ilp engine: op {node.op} ({node.name}) is not encoded")
            self.check_budget()
            t = fn(self, node, *(self.env[i] for i in node.inputs))
            t.lo, t.hi = tightened(t.lo, t.hi, self.bounds.get(node.name), f"{node.name} ({node.op})")
            self.env[node.name] = t
        return self.env[self.net.output.name]

    def input_codes(self, values: list[int]) -> np.ndarray:
        """The input codes of a solver assignment ``values`` (one integer per model variable)."""
        flat = [lin.const + sum(c * values[v] for v, c in lin.terms.items()) for lin in self.inputs.ravel()]
        return np.array(flat, dtype=np.int64).reshape(self.inputs.shape)

    def check_budget(self) -> None:
        """Called between nodes and every few dozen elements, so ``--timeout`` holds while a
        large box is still being encoded."""
        if self.expired is not None and self.expired():
            raise EncodingSpent(f"the time limit was reached while encoding ({self.m.n_vars} variables so far)")

    # -- building blocks ------------------------------------------------------------
    def rounding_form(self, table: StepTable) -> RoundingForm | None:
        return rounding_form(table) if self.steps == "rounding" else None

    def clamp(self, x: Lin, lo_x: int, hi_x: int, lo: int, hi: int, name: str) -> Lin:
        """``min(max(x, lo), hi)`` with one binary per side the range of ``x`` reaches."""
        if hi_x <= lo:
            return Lin.of(lo)
        if lo_x >= hi:
            return Lin.of(hi)
        if lo_x < lo:
            y = self.m.new_var(lo, hi_x, f"{name}_max")
            d = self.m.new_bool(f"{name}_dlo")
            dv = next(iter(d.terms))
            self.m.add(y - x, lo=0)
            self.m.add(y - x, hi=0, when=(dv, 1))
            self.m.add(y, hi=lo, when=(dv, 0))
            x, lo_x = y, lo
        if hi_x > hi:
            y = self.m.new_var(lo_x, hi, f"{name}_min")
            d = self.m.new_bool(f"{name}_dhi")
            dv = next(iter(d.terms))
            self.m.add(y - x, hi=0)
            self.m.add(y - x, lo=0, when=(dv, 1))
            self.m.add(y, lo=hi, when=(dv, 0))
            x = y
        return x

    def step(self, a: Lin, table: StepTable, form: RoundingForm | None, name: str) -> Lin:
        """The exact step function ``table`` (over its band) of the linear form ``a``."""
        lo, u, v_lo, v_hi = table.acc_lo, table.acc_hi, table.v_lo, table.v_hi
        if a.is_const():
            return Lin.of(int(table(np.array([a.const]))[0]))
        if v_lo == v_hi:
            return Lin.of(v_lo)
        th = table.thresholds
        if len(th) == u - lo and np.array_equal(th, np.arange(lo + 1, u + 1)):
            return a + (v_lo - lo)  # one code per accumulator value: exactly affine
        av = self.m.var_for(a, lo, u, f"{name}_acc")
        if form is not None and len(th) >= 3:
            r_lo, r_hi = form(lo), form(u)
            r = self.m.new_var(r_lo, r_hi, f"{name}_r")
            # 0 <= P*a + Q - R*(r - base) <= R - 1
            self.m.add(Lin.total([(form.p, av), (-form.r, r)], form.q + form.r * form.base), 0, form.r - 1)
            return self.clamp(r, r_lo, r_hi, v_lo, v_hi, name)
        parts: list[tuple[int, Lin]] = []
        prev = None
        values, counts = np.unique(th, return_counts=True)
        for k, (t, c) in enumerate(zip(values, counts)):
            z = self.m.new_bool(f"{name}_z{k}")
            zv = next(iter(z.terms))
            self.m.add(av, lo=int(t), when=(zv, 1))
            self.m.add(av, hi=int(t) - 1, when=(zv, 0))
            if prev is not None:
                self.m.add(prev - z, lo=0)
            prev = z
            parts.append((int(c), z))
        # one variable for a sum of several indicators: every consumer (a next layer reads each
        # input once per neuron) then has one term per input instead of all the indicators
        return self.m.var_for(Lin.total(parts, v_lo), v_lo, v_hi, f"{name}_y") if len(parts) > 1 \
            else Lin.total(parts, v_lo)

    def table(self, x: Lin, lo: int, hi: int, values: np.ndarray, name: str) -> Lin:
        """``values[x - lo]`` for any integer table: affine when it is, else a unary expansion."""
        vals = [int(v) for v in values]
        if x.is_const():
            return Lin.of(vals[x.const - lo])
        if lo == hi:
            return Lin.of(vals[0])
        d = np.diff(np.asarray(vals, dtype=object))
        if all(v == d[0] for v in d):
            return int(d[0]) * (x - lo) + vals[0]
        xv = self.m.var_for(x, lo, hi, f"{name}_x")
        ys: list[tuple[int, Lin]] = []
        bs: list[tuple[int, Lin]] = []
        prev = None
        for k in range(1, hi - lo + 1):
            b = self.m.new_bool(f"{name}_b{k}")
            if prev is not None:
                self.m.add(prev - b, lo=0)
            prev = b
            bs.append((1, b))
            if vals[k] != vals[k - 1]:
                ys.append((vals[k] - vals[k - 1], b))
        self.m.eq(xv, Lin.total(bs, lo))
        return Lin.total(ys, vals[0])

    # -- affine -------------------------------------------------------------------------
    def _wrap(self, acc: Lin, a: int, b: int, acc_bits: int, name: str) -> tuple[Lin, int, int]:
        """Two's-complement wrap to ``acc_bits``, exactly: ``w = acc - 2^bits * k`` with integer ``k``."""
        lim = 2 ** (acc_bits - 1)
        if -lim <= a and b <= lim - 1:
            return acc, a, b
        kk = self.m.new_var((a + lim) >> acc_bits, (b + lim) >> acc_bits, f"{name}_wrap")
        w = self.m.new_var(-lim, lim - 1, f"{name}_acc")
        self.m.eq(w, acc - (1 << acc_bits) * kk)
        return w, -lim, lim - 1

    def _affine(self, rows, x: ITensor, acc_bits: int, shape: tuple[int, ...], name: str) -> ITensor:
        xl, xh, xs = x.lo.ravel(), x.hi.ravel(), x.lins.ravel()
        n = len(rows)
        lins = np.empty(n, dtype=object)
        lo = np.empty(n, dtype=object)
        hi = np.empty(n, dtype=object)
        for k, (coeffs, idx, k0) in enumerate(rows):
            if k % 32 == 0:
                self.check_budget()
            cs = [int(c) for c in coeffs]
            a = k0 + sum(c * (int(xl[i]) if c >= 0 else int(xh[i])) for c, i in zip(cs, idx))
            b = k0 + sum(c * (int(xh[i]) if c >= 0 else int(xl[i])) for c, i in zip(cs, idx))
            acc = Lin.total(((c, xs[i]) for c, i in zip(cs, idx)), k0)
            lins[k], lo[k], hi[k] = self._wrap(acc, a, b, acc_bits, f"{name}_{k}")
        return ITensor(lins.reshape(shape), lo.reshape(shape), hi.reshape(shape))

    def _pair_saturated(self, node: ops.Dense | ops.Conv2d, x: ITensor) -> ITensor:
        """Non-VNNI / depthwise fbgemm (see ``bv._pair_saturated``): raw u8*s8 products summed in
        adjacent pairs in the kernel's K order, each pair sum saturated to int16 (a clamp), then
        ``acc = sum sat16(pair) - xz*sum(w) - wz*sum(q) + K*xz*wz (+ bias)``, wrapped."""
        taps, shape = pair_taps(node, x.shape)
        xl, xh, xs = x.lo.ravel(), x.hi.ravel(), x.lins.ravel()
        xz = node.x_zero
        n = len(taps)
        bias = np.zeros(n, np.int64) if node.bias is None else np.asarray(node.bias, dtype=np.int64)
        per_ch = n // shape[0]
        lins = np.empty(n, dtype=object)
        lo = np.empty(n, dtype=object)
        hi = np.empty(n, dtype=object)
        for k, (ws, srcs, zq) in enumerate(taps):
            kk = len(ws)
            parts: list[tuple[int, Lin]] = []
            a_sum = b_sum = 0
            for i in range(0, kk, 2):
                pair = [(int(ws[t]), srcs[t]) for t in range(i, min(i + 2, kk))]
                const = sum(w * xz for w, src in pair if src is None)
                live = [(w, src) for w, src in pair if src is not None]
                a = const + sum(w * (int(xl[src]) if w >= 0 else int(xh[src])) for w, src in live)
                b = const + sum(w * (int(xh[src]) if w >= 0 else int(xl[src])) for w, src in live)
                p = Lin.total(((w, xs[src]) for w, src in live), const)
                p = self.clamp(p, a, b, -(2**15), 2**15 - 1, f"{node.name}_{k}_p{i}")
                parts.append((1, p))
                a_sum += min(max(a, -(2**15)), 2**15 - 1)
                b_sum += min(max(b, -(2**15)), 2**15 - 1)
            q_lo = sum(xz if src is None else int(xl[src]) for src in srcs)
            q_hi = sum(xz if src is None else int(xh[src]) for src in srcs)
            k0 = -xz * sum(int(v) for v in ws) + kk * xz * zq + int(bias[k // per_ch])
            parts += [(-zq, xs[src]) for src in srcs if src is not None]
            k0 -= zq * xz * sum(1 for src in srcs if src is None)
            acc = Lin.total(parts, k0)
            a = a_sum + k0 + zq * xz * sum(1 for src in srcs if src is None) - max(zq * q_lo, zq * q_hi)
            b = b_sum + k0 + zq * xz * sum(1 for src in srcs if src is None) - min(zq * q_lo, zq * q_hi)
            lins[k], lo[k], hi[k] = self._wrap(acc, a, b, node.acc_bits, f"{node.name}_{k}")
        return ITensor(lins.reshape(shape), lo.reshape(shape), hi.reshape(shape))

    def lower_Dense(self, node: ops.Dense, x: ITensor) -> ITensor:
        if node.pair_saturation:
            return self._pair_saturated(node, x)
        rows, shape = dense_rows(node)
        return self._affine(rows, x, node.acc_bits, shape, node.name)

    def lower_Conv2d(self, node: ops.Conv2d, x: ITensor) -> ITensor:
        if node.pair_saturation:
            return self._pair_saturated(node, x)
        rows, shape = conv_rows(node, x.shape)
        return self._affine(rows, x, node.acc_bits, shape, node.name)

    # -- step functions -------------------------------------------------------------------
    def lower_Requantize(self, node: ops.Requantize, acc: ITensor) -> ITensor:
        channels = acc.shape[0] if acc.lins.ndim > 0 else 1
        lins = np.empty(acc.shape, dtype=object)
        lo = np.empty(acc.shape, dtype=object)
        hi = np.empty(acc.shape, dtype=object)
        for ch in range(channels):
            f, (mono_lo, mono_hi) = requant_channel(node, ch)
            sub = (ch,) if acc.lins.ndim > 0 else ()
            idxs = [sub + idx for idx in np.ndindex(acc.shape[1:] if sub else ())]
            a_min = min(int(acc.lo[i]) for i in idxs)
            a_max = max(int(acc.hi[i]) for i in idxs)
            if a_min < mono_lo or a_max > mono_hi:
                raise UnsupportedOpError(f"{node.name}: accumulator range [{a_min}, {a_max}] leaves the range where "
                                         f"profile {node.profile} is monotone")
            whole = step_table(f, a_min, a_max)
            form = self.rounding_form(whole)
            for n, full in enumerate(idxs):
                if n % 32 == 0:
                    self.check_budget()
                table = _sub_table(whole, int(acc.lo[full]), int(acc.hi[full]))
                lins[full] = self.step(acc.lins[full], table, form, f"{node.name}_{'_'.join(map(str, full))}")
                lo[full], hi[full] = table.v_lo, table.v_hi
        return ITensor(lins, lo, hi)

    def lower_Clamp(self, node: ops.Clamp, x: ITensor) -> ITensor:
        lins = np.empty(x.shape, dtype=object)
        for idx in np.ndindex(x.shape):
            lins[idx] = self.clamp(x.lins[idx], int(x.lo[idx]), int(x.hi[idx]), node.lo, node.hi,
                                   f"{node.name}_{'_'.join(map(str, idx))}")
        lo = np.clip(x.lo.astype(np.int64), node.lo, node.hi).astype(object)
        hi = np.clip(x.hi.astype(np.int64), node.lo, node.hi).astype(object)
        return ITensor(lins, lo, hi)

    def lower_MaxPool2d(self, node: ops.MaxPool2d, x: ITensor) -> ITensor:
        shape, windows = maxpool_windows(node, x.shape)
        lins = np.empty(shape, dtype=object)
        lo = np.empty(shape, dtype=object)
        hi = np.empty(shape, dtype=object)
        for (ch, i, j), taps in windows:
            name = f"{node.name}_{ch}_{i}_{j}"
            # the result is max(floor, taps); a tap whose maximum is below that can never win
            best_lo = max([node.floor] + [int(x.lo[ch, y, xx]) for y, xx in taps])
            live = [(y, xx) for y, xx in taps if int(x.hi[ch, y, xx]) >= best_lo]
            cands = [(x.lins[ch, y, xx], int(x.lo[ch, y, xx]), int(x.hi[ch, y, xx])) for y, xx in live]
            if not cands or max(c[1] for c in cands) < best_lo:
                cands.append((Lin.of(best_lo), best_lo, best_lo))
            top = max(c[2] for c in cands)
            lo[ch, i, j], hi[ch, i, j] = best_lo, top
            if len(cands) == 1:
                lins[ch, i, j] = cands[0][0]
                continue
            y = self.m.new_var(best_lo, top, name)
            sel = Lin()
            for k, (c, _, _) in enumerate(cands):
                d = self.m.new_bool(f"{name}_d{k}")
                self.m.add(y - c, lo=0)
                self.m.add(y - c, hi=0, when=(next(iter(d.terms)), 1))
                sel = sel + d
            self.m.add(sel, 1, 1)
            lins[ch, i, j] = y
        return ITensor(lins, lo, hi)

    def lower_AvgPool2d(self, node: ops.AvgPool2d, x: ITensor) -> ITensor:
        shape, elements = avgpool_elements(node, x.lo, x.hi)
        lins = np.empty(shape, dtype=object)
        lo = np.empty(shape, dtype=object)
        hi = np.empty(shape, dtype=object)
        forms: dict[int, RoundingForm | None] = {}
        for el in elements:
            ch = el.index[0]
            acc = Lin.total(((1, x.lins[ch, y, xx]) for y, xx in el.taps), el.k0)
            key = id(el.table)
            if key not in forms:
                forms[key] = self.rounding_form(el.table)
            lins[el.index] = self.step(acc, el.table, forms[key], f"{node.name}_{'_'.join(map(str, el.index))}")
            lo[el.index], hi[el.index] = el.table.v_lo, el.table.v_hi
        return ITensor(lins, lo, hi)

    def _operand(self, op: Operand, x: Lin, name: str) -> Lin:
        return self.table(x, int(op.codes[0]), int(op.codes[-1]), op.ints, name)

    def lower_Add(self, node: ops.Add, a: ITensor, b: ITensor) -> ITensor:
        forms: dict[int, RoundingForm | None] = {}  # per shared AddElement
        lins = np.empty(a.shape, dtype=object)
        lo = np.empty(a.shape, dtype=object)
        hi = np.empty(a.shape, dtype=object)
        for idx, el in add_elements(node, a.lo, a.hi, b.lo, b.hi):
            if id(el) not in forms:
                forms[id(el)] = self.rounding_form(el.table)
            name = f"{node.name}_{'_'.join(map(str, idx))}"
            s = self._operand(el.a, a.lins[idx], name + "_a") + self._operand(el.b, b.lins[idx], name + "_b")
            lins[idx] = self.step(s, el.table, forms[id(el)], name)
            lo[idx], hi[idx] = el.table.v_lo, el.table.v_hi
        return ITensor(lins, lo, hi)

    def lower_Lookup(self, node: ops.Lookup, x: ITensor) -> ITensor:
        table = np.asarray(node.table, dtype=np.int64)
        lins = np.empty(x.shape, dtype=object)
        lo = np.empty(x.shape, dtype=object)
        hi = np.empty(x.shape, dtype=object)
        for idx in np.ndindex(x.shape):
            a, b = int(x.lo[idx]), int(x.hi[idx])
            vals = table[a - node.domain_lo : b - node.domain_lo + 1]
            lins[idx] = self.table(x.lins[idx], a, b, vals, f"{node.name}_{'_'.join(map(str, idx))}")
            lo[idx], hi[idx] = int(vals.min()), int(vals.max())
        return ITensor(lins, lo, hi)

    def lower_Reshape(self, node: ops.Reshape, x: ITensor) -> ITensor:
        shape = tuple(node.shape)
        return ITensor(x.lins.reshape(shape), x.lo.reshape(shape), x.hi.reshape(shape))

    def lower_Concat(self, node: ops.Concat, *xs: ITensor) -> ITensor:
        return ITensor(np.concatenate([x.lins for x in xs], axis=node.axis),
                       np.concatenate([x.lo for x in xs], axis=node.axis),
                       np.concatenate([x.hi for x in xs], axis=node.axis))


LOWER: dict[type[ops.Node], Callable[..., ITensor]] = {
    ops.Dense: IlpLowering.lower_Dense,
    ops.Conv2d: IlpLowering.lower_Conv2d,
    ops.Requantize: IlpLowering.lower_Requantize,
    ops.Clamp: IlpLowering.lower_Clamp,
    ops.MaxPool2d: IlpLowering.lower_MaxPool2d,
    ops.AvgPool2d: IlpLowering.lower_AvgPool2d,
    ops.Add: IlpLowering.lower_Add,
    ops.Lookup: IlpLowering.lower_Lookup,
    ops.Concat: IlpLowering.lower_Concat,
    ops.Reshape: IlpLowering.lower_Reshape,
}
"""Each op's integer linear encoding (a ``IlpLowering`` method, called with the lowering, the node and its input
tensors); one entry per op type, checked by ``tests/test_op_coverage.py``."""


def _output_values(lw: IlpLowering, out: ITensor, cond: OutputCondition) -> tuple[list[tuple[Lin, int, int]], int]:
    """Per output element (form, lo, hi) of the integer ``D * Y_j`` and the common ``D``."""
    net = lw.net
    flat = list(zip(out.lins.ravel(), out.lo.ravel(), out.hi.ravel()))
    if cond.over == "codes" or net.output.scale is None:
        return [(x, int(a), int(b)) for x, a, b in flat], 1
    tables = []
    denom = 1
    for _, a, b in flat:
        codes = np.arange(int(a), int(b) + 1)
        vals = [Fraction(float(v)) for v in dequantize(codes, net.output.scale, net.output.zero_point)]
        tables.append(vals)
        for v in vals:
            denom = lcm(denom, v.denominator)
    res = []
    for j, ((x, a, b), vals) in enumerate(zip(flat, tables)):
        ints = np.array([int(v * denom) for v in vals], dtype=object)
        res.append((lw.table(x, int(a), int(b), ints, f"deq_{j}"), int(min(ints)), int(max(ints))))
    return res, denom


Atom = tuple[Lin, int, int]  # (integer form, its least value, bound): the atom is ``form <= bound``


def condition_clauses(lw: IlpLowering, out: ITensor, cond: OutputCondition) -> list[list[Atom]]:
    """The output condition's clauses as integral atoms, minus what the bounds decide:
    atoms that always hold are dropped, clauses with an atom that never holds are dropped.
    An empty list: no clause can hold; an empty clause: it always holds."""
    return [atoms for _, atoms in indexed_clauses(lw, out, cond)]


def indexed_clauses(lw: IlpLowering, out: ITensor, cond: OutputCondition) -> list[tuple[int, list[Atom]]]:
    """:func:`condition_clauses` with each clause's index in ``cond.clauses`` (engines that
    treat clauses one by one keep the property's own numbering)."""
    vals, denom = _output_values(lw, out, cond)
    m = lw.m
    clauses: list[tuple[int, list[Atom]]] = []
    for k, clause in enumerate(cond.clauses):
        atoms: list[Atom] = []
        possible = True
        for lin in clause:
            # sum(c_j * Y_j) <= rhs  <=>  sum(mult*c_j * (D*Y_j)) <= mult*D*rhs, all integers
            mult = lcm(*([1] + [c.denominator for _, c in lin.terms] + [lin.rhs.denominator]))
            rhs = lin.rhs * mult * denom
            bound = int(rhs) - 1 if lin.strict else int(rhs)
            expr = Lin.total((int(c * mult), vals[j][0]) for j, c in lin.terms)
            a, b = m.bounds(expr)
            lo_sum = sum(int(c * mult) * (vals[j][1] if c >= 0 else vals[j][2]) for j, c in lin.terms)
            hi_sum = sum(int(c * mult) * (vals[j][2] if c >= 0 else vals[j][1]) for j, c in lin.terms)
            a, b = max(a, lo_sum), min(b, hi_sum)
            if b <= bound:
                continue  # always true
            if a > bound:
                possible = False
                break
            atoms.append((expr, a, bound))
        if possible:
            clauses.append((k, atoms))
    return clauses


def add_clauses(m: IntModel, clauses: list[list[Atom]]) -> None:
    """Require one of the (non-empty, non-trivial) clauses: plain constraints for a single
    clause, one selector binary per clause otherwise."""
    if len(clauses) == 1:
        for expr, _, bound in clauses[0]:
            m.add(expr, hi=bound)
        if clauses[0]:
            m.objective = clauses[0][0][0]  # the guide of an LP search: the (first) atom's form, at most ``bound``
        return
    pick = Lin()
    for k, atoms in enumerate(clauses):
        d = m.new_bool(f"clause_{k}")
        dv = next(iter(d.terms))
        for expr, _, bound in atoms:
            m.add(expr, hi=bound, when=(dv, 1))
        pick = pick + d
    m.add(pick, lo=1)


__all__ = ["LOWER", "Atom", "EncodingSpent", "ITensor", "IlpLowering", "RoundingForm", "add_clauses",
           "condition_clauses", "indexed_clauses", "rounding_form"]
