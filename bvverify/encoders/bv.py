"""Lowering of the integer IR to z3 fixed-width bit-vector terms, bit for bit.

Every tensor element is a signed bit-vector term with an exact integer interval
``[lo, hi]`` computed alongside (interval propagation over the input code box).
Widths come from those intervals: a sum is computed modulo ``2^w`` where ``w``
holds the exact result's whole range, which is exact whatever the intermediate
overflow; an accumulator whose range exceeds its declared width (int32) is
computed modulo ``2^32``, exactly the runtime's two's-complement wrap.
Requantizers are encoded through their exact threshold tables over each
channel's reachable accumulator interval (``runtimes.step_table``): no real
arithmetic, no idealised rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from math import lcm

import numpy as np
import z3

from bvverify.encoders.bv_elementwise import lower_add, lower_avgpool
from bvverify.encoders.bv_terms import Tensor, const, fit, step, width_for
from bvverify.errors import InternalError, UnsupportedOpError
from bvverify.ir import ops
from bvverify.ir.geometry import PairTaps, conv_rows, dense_rows, maxpool_windows, pair_taps
from bvverify.ir.graph import QNetwork
from bvverify.ir.ranges import tightened
from bvverify.ir.split import requant_channel
from bvverify.properties.spec import OutputCondition
from bvverify.runtimes.base import step_table
from bvverify.runtimes.quantize import dequantize


@dataclass
class Encoding:
    """A network lowered over an input code box."""

    inputs: np.ndarray  # object array: z3 variable or constant per input element
    input_lo: np.ndarray
    input_hi: np.ndarray
    tensors: dict[str, Tensor]
    output: Tensor
    constraints: list[z3.BoolRef]


def _interval_sum(coeffs: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[int, int]:
    """Exact [min, max] of sum(c_i * x_i) with x_i in [lo_i, hi_i] (python ints)."""
    cl = [c * (lo_i if c >= 0 else hi_i) for c, lo_i, hi_i in zip(coeffs, lo, hi)]
    ch = [c * (hi_i if c >= 0 else lo_i) for c, lo_i, hi_i in zip(coeffs, lo, hi)]
    return int(sum(cl)), int(sum(ch))


class Lowering:
    def __init__(self, net: QNetwork, code_lo: np.ndarray, code_hi: np.ndarray, prefix: str = "x",
                 step_mode: str = "var", bounds: dict[str, tuple[np.ndarray, np.ndarray]] | None = None):
        self.net = net
        self.step_mode = step_mode
        self.bounds = bounds or {}
        shape = tuple(net.input.shape)
        lo = np.asarray(code_lo, dtype=np.int64).reshape(shape)
        hi = np.asarray(code_hi, dtype=np.int64).reshape(shape)
        w = width_for(min(int(lo.min()), 0), int(hi.max()))
        terms = np.empty(shape, dtype=object)
        for idx in np.ndindex(shape):
            if lo[idx] == hi[idx]:
                terms[idx] = const(int(lo[idx]), w)
            else:
                terms[idx] = z3.BitVec(f"{prefix}_{'_'.join(map(str, idx))}", w)
        self.constraints: list[z3.BoolRef] = []
        for idx in np.ndindex(shape):
            if lo[idx] != hi[idx]:
                t = terms[idx]
                self.constraints += [t >= const(int(lo[idx]), w), t <= const(int(hi[idx]), w)]
        self.inputs = terms
        self.env: dict[str, Tensor] = {"input": Tensor(terms, lo.astype(object), hi.astype(object))}

    def run(self) -> Encoding:
        for node in self.net.nodes:
            fn = LOWER.get(type(node))
            if fn is None:
                raise UnsupportedOpError(f"bit-vector engine: op {node.op} ({node.name}) is not lowered yet")
            t = fn(self, node, *(self.env[i] for i in node.inputs))
            t.lo, t.hi = tightened(t.lo, t.hi, self.bounds.get(node.name), f"{node.name} ({node.op})")
            self.env[node.name] = t
        first = self.env["input"]
        return Encoding(self.inputs, first.lo, first.hi, self.env, self.env[self.net.output.name], self.constraints)

    # -- affine ----------------------------------------------------------------
    def _affine(self, rows: list[tuple[np.ndarray, list[int], int]], x: Tensor, acc_bits: int,
                out_shape: tuple[int, ...]) -> Tensor:
        """rows[k] = (coefficients, flat input indices, constant) of output element k."""
        xt, xl, xh = x.terms.ravel(), x.lo.ravel(), x.hi.ravel()
        n = len(rows)
        terms = np.empty(n, dtype=object)
        lo = np.empty(n, dtype=object)
        hi = np.empty(n, dtype=object)
        for k, (coeffs, idx, k0) in enumerate(rows):
            a, b = _interval_sum(coeffs, [int(xl[i]) for i in idx], [int(xh[i]) for i in idx])
            a, b = a + k0, b + k0
            wraps = a < -(2 ** (acc_bits - 1)) or b > 2 ** (acc_bits - 1) - 1
            w = acc_bits if wraps else width_for(a, b)
            if wraps:
                a, b = -(2 ** (acc_bits - 1)), 2 ** (acc_bits - 1) - 1
            s = const(k0, w)
            for c, i in zip(coeffs, idx):
                c = int(c)
                if c == 0:
                    continue
                t = xt[i]
                if z3.is_bv_value(t):
                    s = s + const(c * t.as_signed_long(), w)
                else:
                    s = s + const(c, w) * fit(t, w)
            terms[k], lo[k], hi[k] = s, a, b
        return Tensor(terms.reshape(out_shape), lo.reshape(out_shape), hi.reshape(out_shape))

    def _pair_saturated(self, node: ops.Dense | ops.Conv2d, x: Tensor, taps: list[PairTaps],
                        out_shape: tuple[int, ...]) -> Tensor:
        """Non-VNNI / depthwise fbgemm: raw u8*s8 products summed in adjacent pairs (in the
        kernel's K order), each pair sum saturated to int16, then the zero-point corrections:
        ``acc = sum sat16(pair) - xz*sum(w) - wz*sum(q) + K*xz*wz (+ bias)`` (``ir.interp``).
        ``taps[k] = (raw weights, input flat index or None for a padded tap, weight zero point)``."""
        xt, xl, xh = x.terms.ravel(), x.lo.ravel(), x.hi.ravel()
        xz = node.x_zero
        n = len(taps)
        terms = np.empty(n, dtype=object)
        lo = np.empty(n, dtype=object)
        hi = np.empty(n, dtype=object)
        bias = np.zeros(n, np.int64) if node.bias is None else np.asarray(node.bias, dtype=np.int64)
        channels = out_shape[0]
        per_ch = n // channels
        for k, (ws, srcs, zq) in enumerate(taps):
            kk = len(ws)
            pieces = []  # (term, lo, hi) per pair
            qsum_lo = qsum_hi = 0
            for i in range(0, kk, 2):
                coeffs, idx, const_part = [], [], 0
                for t in range(i, min(i + 2, kk)):
                    if srcs[t] is None:
                        const_part += int(ws[t]) * xz
                    else:
                        coeffs.append(int(ws[t]))
                        idx.append(srcs[t])
                a, b = _interval_sum(coeffs, [int(xl[t]) for t in idx], [int(xh[t]) for t in idx])
                a, b = a + const_part, b + const_part
                pw = max(width_for(a, b), 17)
                sterm = const(const_part, pw)
                for c, t in zip(coeffs, idx):
                    if c:
                        sterm = sterm + const(c, pw) * fit(xt[t], pw)
                if a < -(2**15) or b > 2**15 - 1:
                    sterm = z3.If(sterm < const(-(2**15), pw), const(-(2**15), pw),
                                  z3.If(sterm > const(2**15 - 1, pw), const(2**15 - 1, pw), sterm))
                    a, b = min(max(a, -(2**15)), 2**15 - 1), min(max(b, -(2**15)), 2**15 - 1)
                pieces.append((sterm, a, b))
            for t in range(kk):
                qsum_lo += xz if srcs[t] is None else int(xl[srcs[t]])
                qsum_hi += xz if srcs[t] is None else int(xh[srcs[t]])
            k0 = -xz * int(sum(int(v) for v in ws)) + kk * xz * zq + int(bias[k // per_ch])
            a = sum(p[1] for p in pieces) + k0 - max(zq * qsum_lo, zq * qsum_hi)
            b = sum(p[2] for p in pieces) + k0 - min(zq * qsum_lo, zq * qsum_hi)
            wraps = a < -(2 ** (node.acc_bits - 1)) or b > 2 ** (node.acc_bits - 1) - 1
            ww = node.acc_bits if wraps else width_for(a, b)
            acc = const(k0, ww)
            for p in pieces:
                acc = acc + fit(p[0], ww)
            if zq:
                for t in range(kk):
                    acc = acc - const(zq * xz, ww) if srcs[t] is None else acc - const(zq, ww) * fit(xt[srcs[t]], ww)
            if wraps:
                a, b = -(2 ** (node.acc_bits - 1)), 2 ** (node.acc_bits - 1) - 1
            terms[k], lo[k], hi[k] = acc, a, b
        return Tensor(terms.reshape(out_shape), lo.reshape(out_shape), hi.reshape(out_shape))

    def lower_Dense(self, node: ops.Dense, x: Tensor) -> Tensor:
        if node.pair_saturation:
            taps, shape = pair_taps(node, x.shape)
            return self._pair_saturated(node, x, taps, shape)
        rows, shape = dense_rows(node)
        return self._affine(rows, x, node.acc_bits, shape)

    def lower_Conv2d(self, node: ops.Conv2d, x: Tensor) -> Tensor:
        if node.pair_saturation:
            taps, shape = pair_taps(node, x.shape)
            return self._pair_saturated(node, x, taps, shape)
        rows, shape = conv_rows(node, x.shape)
        return self._affine(rows, x, node.acc_bits, shape)

    # -- step functions ---------------------------------------------------------
    def lower_Requantize(self, node: ops.Requantize, acc: Tensor) -> Tensor:
        channels = acc.shape[0] if acc.terms.ndim > 0 else 1
        w = width_for(node.lo, node.hi)
        terms = np.empty(acc.shape, dtype=object)
        lo = np.empty(acc.shape, dtype=object)
        hi = np.empty(acc.shape, dtype=object)
        for ch in range(channels):
            f, (mono_lo, mono_hi) = requant_channel(node, ch)
            sub = (ch,) if acc.terms.ndim > 0 else ()
            for idx in np.ndindex(acc.shape[1:] if sub else ()):
                full = sub + idx
                a, b = int(acc.lo[full]), int(acc.hi[full])
                if a < mono_lo or b > mono_hi:
                    raise UnsupportedOpError(f"{node.name}: accumulator range [{a}, {b}] leaves the range where "
                                             f"profile {node.profile} is monotone")
                table = step_table(f, a, b)
                t = acc.terms[full]
                name = f"{node.name}_{'_'.join(map(str, full))}"
                terms[full], lo[full], hi[full] = step(t, table, w, name, self.step_mode, self.constraints), \
                    table.v_lo, table.v_hi
        return Tensor(terms, lo, hi)

    def lower_Clamp(self, node: ops.Clamp, x: Tensor) -> Tensor:
        w = max(width_for(node.lo, node.hi), max((t.size() for t in x.terms.ravel()), default=1))
        terms = np.empty(x.shape, dtype=object)
        for idx in np.ndindex(x.shape):
            t = fit(x.terms[idx], w)
            if int(x.lo[idx]) < node.lo:
                t = z3.If(t < const(node.lo, w), const(node.lo, w), t)
            if int(x.hi[idx]) > node.hi:
                t = z3.If(t > const(node.hi, w), const(node.hi, w), t)
            terms[idx] = t
        lo = np.clip(x.lo.astype(np.int64), node.lo, node.hi).astype(object)
        hi = np.clip(x.hi.astype(np.int64), node.lo, node.hi).astype(object)
        return Tensor(terms, lo, hi)

    def lower_MaxPool2d(self, node: ops.MaxPool2d, x: Tensor) -> Tensor:
        shape, windows = maxpool_windows(node, x.shape)
        w0 = max(t.size() for t in x.terms.ravel())
        terms = np.empty(shape, dtype=object)
        lo = np.empty(shape, dtype=object)
        hi = np.empty(shape, dtype=object)
        for (ch, i, j), taps_l in windows:
            # the result is max(floor, taps); a tap whose maximum is below that can never win
            best_lo = max([node.floor] + [int(x.lo[ch, y, xx]) for y, xx in taps_l])
            live = [(y, xx) for y, xx in taps_l if int(x.hi[ch, y, xx]) >= best_lo]
            w = max(w0, width_for(best_lo, best_lo))
            if not live:
                terms[ch, i, j], lo[ch, i, j], hi[ch, i, j] = const(best_lo, w), best_lo, best_lo
                continue
            m = fit(x.terms[ch, live[0][0], live[0][1]], w)
            for y, xx in live[1:]:
                t = fit(x.terms[ch, y, xx], w)
                m = z3.If(t > m, t, m)
            if any(int(x.lo[ch, y, xx]) < best_lo for y, xx in live) and \
                    max(int(x.lo[ch, y, xx]) for y, xx in live) < best_lo:
                m = z3.If(m < const(best_lo, w), const(best_lo, w), m)
            terms[ch, i, j] = m
            lo[ch, i, j] = best_lo
            hi[ch, i, j] = max(int(x.hi[ch, y, xx]) for y, xx in live)
        return Tensor(terms, lo, hi)

    def lower_AvgPool2d(self, node: ops.AvgPool2d, x: Tensor) -> Tensor:
        return lower_avgpool(node, x, self.step_mode, self.constraints)

    def lower_Add(self, node: ops.Add, a: Tensor, b: Tensor) -> Tensor:
        return lower_add(node, a, b, self.step_mode, self.constraints)

    def lower_Reshape(self, node: ops.Reshape, x: Tensor) -> Tensor:
        shape = tuple(node.shape)
        return Tensor(x.terms.reshape(shape), x.lo.reshape(shape), x.hi.reshape(shape))

    def lower_Concat(self, node: ops.Concat, *xs: Tensor) -> Tensor:
        w = max(t.size() for x in xs for t in x.terms.ravel())
        terms = [np.vectorize(lambda t: fit(t, w), otypes=[object])(x.terms) for x in xs]
        return Tensor(np.concatenate(terms, axis=node.axis), np.concatenate([x.lo for x in xs], axis=node.axis),
                      np.concatenate([x.hi for x in xs], axis=node.axis))

    def lower_Lookup(self, node: ops.Lookup, x: Tensor) -> Tensor:
        table = np.asarray(node.table, dtype=np.int64)
        w = width_for(int(min(table.min(), 0)), int(table.max()))
        terms = np.empty(x.shape, dtype=object)
        lo = np.empty(x.shape, dtype=object)
        hi = np.empty(x.shape, dtype=object)
        for idx in np.ndindex(x.shape):
            a, b = int(x.lo[idx]), int(x.hi[idx])
            vals = table[a - node.domain_lo : b - node.domain_lo + 1]
            t = x.terms[idx]
            out = const(int(vals[-1]), w)
            for v in range(b - 1, a - 1, -1):
                out = z3.If(t == const(v, t.size()), const(int(vals[v - a]), w), out)
            terms[idx], lo[idx], hi[idx] = out, int(vals.min()), int(vals.max())
        return Tensor(terms, lo, hi)


LOWER: dict[type[ops.Node], Callable[..., Tensor]] = {
    ops.Dense: Lowering.lower_Dense,
    ops.Conv2d: Lowering.lower_Conv2d,
    ops.Requantize: Lowering.lower_Requantize,
    ops.Clamp: Lowering.lower_Clamp,
    ops.MaxPool2d: Lowering.lower_MaxPool2d,
    ops.AvgPool2d: Lowering.lower_AvgPool2d,
    ops.Add: Lowering.lower_Add,
    ops.Lookup: Lowering.lower_Lookup,
    ops.Concat: Lowering.lower_Concat,
    ops.Reshape: Lowering.lower_Reshape,
}
"""Each op's bit-vector lowering (a ``Lowering`` method, called with the lowering, the node and its input
tensors); one entry per op type, checked by ``tests/test_op_coverage.py``."""


def lower(net: QNetwork, code_lo: np.ndarray, code_hi: np.ndarray, step_mode: str = "var",
          bounds: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> Encoding:
    """Lower ``net`` over the input code box [code_lo, code_hi] (input shape); ``bounds``
    (sound per-tensor intervals over the same box) tighten every width and step table."""
    return Lowering(net, code_lo, code_hi, step_mode=step_mode, bounds=bounds).run()


def dequantized_values(net: QNetwork, out: Tensor) -> tuple[list[tuple[z3.BitVecRef, int, int]], int]:
    """Per output element (term, lo, hi) of an integer equal to ``D * Y_j`` where
    ``Y_j`` is the exact dequantized float32 value and ``D`` (returned) is a common
    denominator of all of them."""
    flat_t, flat_lo, flat_hi = out.terms.ravel(), out.lo.ravel(), out.hi.ravel()
    tables = []
    denom = 1
    for j in range(len(flat_t)):
        codes = np.arange(int(flat_lo[j]), int(flat_hi[j]) + 1)
        vals = [Fraction(float(v)) for v in dequantize(codes, net.output.scale, net.output.zero_point)]
        tables.append((codes, vals))
        for v in vals:
            denom = lcm(denom, v.denominator)
    terms = []
    for j, (codes, vals) in enumerate(tables):
        ints = [int(v * denom) for v in vals]
        w = width_for(min(min(ints), 0), max(max(ints), 0))
        t = flat_t[j]
        e = const(ints[-1], w)
        for c, v in zip(codes[:-1][::-1], ints[:-1][::-1]):
            e = z3.If(t == const(int(c), t.size()), const(v, w), e)
        terms.append((e, min(ints), max(ints)))
    return terms, denom


def encode_condition(net: QNetwork, out: Tensor, cond: OutputCondition) -> z3.BoolRef:
    """The output condition as a z3 formula over exact integer arithmetic in bit-vectors."""
    if cond.over == "codes" or net.output.scale is None:
        vals = [(t, int(lo), int(hi)) for t, lo, hi in zip(out.terms.ravel(), out.lo.ravel(), out.hi.ravel())]
        denom = 1
    else:
        vals, denom = dequantized_values(net, out)
    clauses = []
    for clause in cond.clauses:
        atoms = []
        for lin in clause:
            # sum(c_j * Y_j) <= rhs  <=>  sum(m*c_j * (D*Y_j)) <= m*D*rhs, all integers
            m = lcm(*([1] + [c.denominator for _, c in lin.terms] + [lin.rhs.denominator]))
            coeffs = [(j, int(c * m)) for j, c in lin.terms]
            rhs = lin.rhs * m * denom
            if rhs.denominator != 1:  # m and denom clear every denominator by construction
                raise InternalError(f"non-integral right-hand side {rhs} after scaling")
            bound = int(rhs) - 1 if lin.strict else int(rhs)
            lo = sum(c * (vals[j][1] if c >= 0 else vals[j][2]) for j, c in coeffs)
            hi = sum(c * (vals[j][2] if c >= 0 else vals[j][1]) for j, c in coeffs)
            if hi <= bound:
                atoms.append(z3.BoolVal(True))
                continue
            if lo > bound:
                atoms.append(z3.BoolVal(False))
                continue
            w = width_for(min(lo, bound, 0), max(hi, bound, 0))
            s = const(0, w)
            for j, c in coeffs:
                if c:
                    s = s + const(c, w) * fit(vals[j][0], w)
            atoms.append(s <= const(bound, w))
        clauses.append(z3.And(*atoms) if atoms else z3.BoolVal(True))
    return z3.Or(*clauses) if clauses else z3.BoolVal(False)
