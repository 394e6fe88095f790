"""Where an op's integer arithmetic splits into an exact integer sum and a monotone step
table: AvgPool2d and Add (see ``encoders.bv_elementwise`` for the derivation) and each
Requantize channel. Shared by the bounds and every encoder; nothing here is solver specific.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from bvverify.errors import InternalError, UnsupportedOpError
from bvverify.ir import ops
from bvverify.ir.interp import eval_requantize
from bvverify.runtimes.base import StepTable, get_profile, step_table
from bvverify.runtimes.elementwise import AddPath, add_path, add_vector_mask
from bvverify.runtimes.pooling import avgpool_kind, avgpool_monotone, avgpool_plan, window_code_fn

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
            raise UnsupportedOpError(f"{what} is not monotone on [{lo}, {hi}]")
        table = step_table(fn, lo, hi)
        if not np.array_equal(table(xs), vals):  # pragma: no cover - step_table is exact on monotone functions
            raise InternalError(f"step table of {what} differs from the runtime")
        return table
    if not proven():
        raise UnsupportedOpError(f"{what} is not proven monotone on [{lo}, {hi}] "
                                 "(the interval is too long to check point by point)")
    return step_table(fn, lo, hi)


@dataclass
class PoolElement:
    """One average-pool output: ``acc = k0 + sum(x[ch, y, x] for taps)`` and its step table."""

    index: tuple[int, int, int]
    taps: list[tuple[int, int]]
    k0: int
    table: StepTable


def avgpool_elements(node: ops.AvgPool2d, x_lo: np.ndarray, x_hi: np.ndarray) -> tuple[tuple[int, ...], list[PoolElement]]:
    """Output shape and every output element's exact sum and (checked) step table over the
    sum's reachable interval, given the input's elementwise bounds."""
    c, h, wd = x_lo.shape
    (oh, ow), wins = avgpool_plan(node, (c, h, wd))
    kinds = [avgpool_kind(node, (c, h, wd), ch) for ch in range(c)]
    z = int(node.zero_point)
    tables: dict[tuple, StepTable] = {}
    out = []
    for ch in range(c):
        kind = kinds[ch]
        for win in wins:
            taps = [(y, xx) for y in range(win.h0, win.h1) for xx in range(win.w0, win.w1)]
            k0 = -win.size * z
            a = k0 + sum(int(x_lo[ch, y, xx]) for y, xx in taps)
            b = k0 + sum(int(x_hi[ch, y, xx]) for y, xx in taps)
            key = (kind, win.n, a, b) + ((win.size,) if kind == "ort_float" else ())
            if key not in tables:
                fn = window_code_fn(node, kind, win, a, b)
                tables[key] = checked_table(
                    fn, a, b, lambda kind=kind, n=win.n, a=a, b=b: avgpool_monotone(node, kind, n, a, b),
                    f"{node.name}: average pool ({kind} path, divisor {win.n})")
            out.append(PoolElement((ch, win.oy, win.ox), taps, k0, tables[key]))
    return (c, oh, ow), out


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


class Operand:
    """One operand's term table: code -> exact integer (in the common 2^-K units)."""

    def __init__(self, codes: np.ndarray, ints: np.ndarray):
        self.codes, self.ints = codes, ints
        self.lo, self.hi = int(ints.min()), int(ints.max())
        d = np.diff(ints)
        self.affine = len(ints) == 1 or bool(np.all(d == d[0]))
        self.slope = int(d[0]) if len(ints) > 1 else 0


class AddElement:
    """The exact encoding data of one (path, operand ranges) combination."""

    def __init__(self, node: ops.Add, path: AddPath, vec: bool, alo: int, ahi: int, blo: int, bhi: int):
        what = f"{node.name}: add ({'vector' if vec else 'scalar'} path) with operand ranges " \
               f"[{alo}, {ahi}] and [{blo}, {bhi}]"
        na, nb = ahi - alo + 1, bhi - blo + 1
        if max(na, nb) > MAX_OPERAND:
            raise UnsupportedOpError(f"{what} too wide")
        ca, cb = _codes(alo, ahi), _codes(blo, bhi)
        va, vb = path.fa(ca), path.fb(cb)
        if path.floating:
            if not (np.all(np.isfinite(va)) and np.all(np.isfinite(vb))):
                raise UnsupportedOpError(f"{what}: an operand term overflows float32")
            ks = [e for e in (_scale_exponent(va), _scale_exponent(vb)) if e is not None]
            k = max(ks) if ks else 0
            big = max(float(np.max(np.abs(va))), float(np.max(np.abs(vb))))
            if big and np.ldexp(big, k) >= MAX_EXACT:
                raise UnsupportedOpError(f"{what}: operand scales too far apart "
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

        self.a, self.b = Operand(ca, ia), Operand(cb, ib)
        for op in (self.a, self.b):
            if not op.affine and len(op.codes) > MAX_CHAIN:
                raise UnsupportedOpError(f"{what} too wide")
        smin, smax = self.a.lo + self.b.lo, self.a.hi + self.b.hi
        self.table = checked_table(g, smin, smax, proven, what)
        if na * nb <= MAX_GRID:  # the composed encoding against the runtime on every operand pair
            want = path(ca[:, None], cb[None, :])
            got = self.table(ia[:, None] + ib[None, :])
            if not np.array_equal(want, got):  # pragma: no cover - a bug in the split, never an approximation
                raise InternalError(f"{what}: the integer-sum encoding differs from the runtime")


def add_elements(node: ops.Add, a_lo: np.ndarray, a_hi: np.ndarray, b_lo: np.ndarray,
                 b_hi: np.ndarray) -> Iterator[tuple[tuple[int, ...], AddElement]]:
    """Every output index of an Add with its exact split for the element's path (vector or
    scalar tail) and operand ranges; elements with the same path and ranges share one object."""
    mask = add_vector_mask(node, a_lo.shape)
    paths: dict[bool, AddPath] = {}
    cache: dict[tuple, AddElement] = {}
    for idx in np.ndindex(a_lo.shape):
        vec = bool(mask[idx])
        if vec not in paths:
            paths[vec] = add_path(node, vec)
        key = (vec, int(a_lo[idx]), int(a_hi[idx]), int(b_lo[idx]), int(b_hi[idx]))
        if key not in cache:
            cache[key] = AddElement(node, paths[vec], *key)
        yield idx, cache[key]


def requant_channel(node: ops.Requantize, ch: int) -> tuple[Callable[[np.ndarray], np.ndarray], tuple[int, int]]:
    """Channel ``ch``'s exact accumulator -> code function (final clamp included) and the
    accumulator range on which its profile is proven monotone."""
    params = {k: (np.asarray(v)[ch : ch + 1] if np.asarray(v).ndim and np.asarray(v).size > 1 else v)
              for k, v in node.params.items()}
    chnode = replace(node, params=params)

    def f(a: np.ndarray) -> np.ndarray:
        return eval_requantize(chnode, np.asarray(a, dtype=np.int64)[:, None])[:, 0]

    return f, get_profile(node.profile).monotone_range(params)
