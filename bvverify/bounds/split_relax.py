"""Relaxations of AvgPool2d and Add through the exact split of ``ir.split``.

Per output element, an exact integer sum (a window's sum, or two operands' per-code
terms) feeds a monotone step table. The sum's band comes from back-substituting its
linear form; the table's lines on that band, composed with the sum's form, relax the
element. Anything refused (a table that is not monotone or too wide, a term that is not
monotone on its band) leaves the element its interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bvverify.bounds.backsub import Relax, SymbolicBounds, Taps, fresh_symbol
from bvverify.bounds.relax import band_relaxations, points_relaxations
from bvverify.ir import ops
from bvverify.ir.ranges import Interval
from bvverify.ir.split import AddElement, Operand, checked_table
from bvverify.runtimes.base import StepTable
from bvverify.runtimes.elementwise import add_path, add_vector_mask
from bvverify.runtimes.pooling import avgpool_code_fn, avgpool_kind, avgpool_monotone, avgpool_plan

_U = 2.0**-53  # unit roundoff of float64
_EXACT = 2.0**53  # integers below this are exact in float64
_BAND_ROWS = 1024  # elements per back-substitution (memory: 2 * rows * tensor size floats per tensor)


def _band(state: SymbolicBounds, name: str, rows: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Float lower and upper bounds, by back-substitution, of elements ``rows`` of the flat
    tensor ``name`` (of ``n`` elements) whose relaxation is already in ``state.relax``."""
    lows, highs = [np.empty(0)], [np.empty(0)]
    for s in range(0, len(rows), _BAND_ROWS):
        chunk = rows[s : s + _BAND_ROWS]
        k = len(chunk)
        lam = np.zeros((2 * k, n))
        lam[np.arange(k), chunk] = 1.0
        lam[k + np.arange(k), chunk] = -1.0
        low = state.lower(name, lam)
        lows.append(low[:k])
        highs.append(-low[k:])
    return np.concatenate(lows), np.concatenate(highs)


def _tighten(lo: np.ndarray, hi: np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The integer band [lo, hi] intersected with the float bounds [low, high] of an integer quantity
    (``lo``, ``hi`` below 2^53 in magnitude, so the float comparisons are exact)."""
    new_lo = np.clip(np.ceil(low), lo, hi).astype(np.int64)
    new_hi = np.clip(np.floor(high), lo, hi).astype(np.int64)
    bad = new_lo > new_hi  # only if a bound were wrong: keep the interval band
    return np.where(bad, lo, new_lo), np.where(bad, hi, new_hi)


def _boxed(inputs: tuple[str, ...], out: Interval, ok: np.ndarray, src: np.ndarray, c_lo: np.ndarray,
           b_lo: np.ndarray, c_hi: np.ndarray, b_hi: np.ndarray) -> Taps:
    """Elements not ``ok`` keep only their interval (no coefficients, the bounds as constants)."""
    olo, ohi = (o.astype(np.float64).ravel() for o in out)
    keep = ok[:, None]
    return Taps(inputs, src, np.where(keep, c_lo, 0.0), np.where(ok, b_lo, olo),
                np.where(keep, c_hi, 0.0), np.where(ok, b_hi, ohi))


def avgpool_relax(state: SymbolicBounds, node: ops.AvgPool2d, out: Interval,
                   in_shape: tuple[int, ...]) -> tuple[Relax, Interval]:
    """Per output element, ``acc = k0 + sum(window)`` is exact (``ir.split.avgpool_elements``'
    split) and the code is ``table(acc)``, the exact (checked) step table of its (kernel path,
    divisor). The acc band comes from back-substituting the exact sum (never wider than the input
    bounds' sum); the lines are the table's on that band, written directly in ``s = acc - k0`` (the
    table shifted by the integer k0, so no float error enters); the output bounds are the table at
    the band's ends. An element whose table is refused keeps its interval."""
    name = node.inputs[0]
    try:
        c, h, w = in_shape
        _, wins = avgpool_plan(node, (c, h, w))
        kinds = [avgpool_kind(node, (c, h, w), ch) for ch in range(c)]
    except Exception:  # a refusal is the interval pass's business: a fresh symbol
        return fresh_symbol(out), out
    n = c * len(wins)
    if n != out[0].size or n == 0:
        return fresh_symbol(out), out
    kh, kw = node.kernel
    sh, sw = node.stride
    ph, pw = node.padding
    slots = kh * kw
    win_src = np.zeros((len(wins), slots), np.int64)  # slot: the tap's offset in the full kernel window
    win_ok = np.zeros((len(wins), slots), bool)
    for i, win in enumerate(wins):
        hs, ws = win.oy * sh - ph, win.ox * sw - pw
        for y in range(win.h0, win.h1):
            for x in range(win.w0, win.w1):
                j = (y - hs) * kw + (x - ws)
                if not (0 <= y - hs < kh and 0 <= x - ws < kw) or win_ok[i, j]:  # pragma: no cover - the plan's windows
                    return fresh_symbol(out), out
                win_src[i, j], win_ok[i, j] = y * w + x, True
    src = (win_src[None] + (h * w) * np.arange(c)[:, None, None]).reshape(n, slots)
    valid = np.tile(win_ok, (c, 1))
    k0 = np.tile(np.array([-win.size * int(node.zero_point) for win in wins], np.int64), c)
    divisor = np.tile(np.array([win.n for win in wins], np.int64), c)
    kind = np.repeat(np.array(kinds), len(wins))
    xlo, xhi = (v.ravel().astype(np.int64) for v in state.bounds[name])
    a_int = k0 + np.where(valid, xlo[src], 0).sum(axis=1)  # acc band from the input bounds
    b_int = k0 + np.where(valid, xhi[src], 0).sum(axis=1)
    if max(np.abs(a_int).max(), np.abs(b_int).max()) >= _EXACT:
        return fresh_symbol(out), out
    ones = valid.astype(np.float64)
    state.relax[node.name] = Taps((name,) * slots, src, ones, k0.astype(np.float64), ones, k0.astype(np.float64))
    acc_lo, acc_hi = _tighten(a_int, b_int, *_band(state, node.name, np.arange(n), n))

    ok = np.zeros(n, bool)
    tables: list[StepTable] = []
    which = np.zeros(n, np.int64)
    for kd, dv in sorted({(str(a), int(b)) for a, b in zip(kind, divisor)}):
        sel = (kind == kd) & (divisor == dv)
        lo, hi = int(a_int[sel].min()), int(b_int[sel].max())
        try:
            table = checked_table(avgpool_code_fn(node, kd, dv), lo, hi,
                                  lambda kd=kd, dv=dv, lo=lo, hi=hi: avgpool_monotone(node, kd, dv, lo, hi),
                                  f"{node.name}: average pool ({kd} path, divisor {dv})")
        except Exception:  # refused (not monotone, too wide) or failed: those elements keep their interval
            continue
        for k in np.unique(k0[sel]):
            here = sel & (k0 == k)
            which[here] = len(tables)
            ok[here] = True
            tables.append(StepTable(table.acc_lo - int(k), table.acc_hi - int(k), table.v_lo, table.thresholds - int(k)))
    a_lo, b_lo, a_hi, b_hi = (np.zeros(n) for _ in range(4))
    lo, hi = out[0].ravel().copy(), out[1].ravel().copy()
    if ok.any():
        s_lo, s_hi = acc_lo[ok] - k0[ok], acc_hi[ok] - k0[ok]
        a_lo[ok], b_lo[ok], a_hi[ok], b_hi[ok] = band_relaxations(tables, which[ok], s_lo, s_hi)
        lo[ok] = np.maximum(lo[ok], _tables_at(tables, which[ok], s_lo))
        hi[ok] = np.minimum(hi[ok], _tables_at(tables, which[ok], s_hi))
    rel = _boxed((name,) * slots, out, ok, src, a_lo[:, None] * ones, b_lo, a_hi[:, None] * ones, b_hi)
    return rel, (lo.reshape(out[0].shape), hi.reshape(out[1].shape))


def _tables_at(tables: list[StepTable], which: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``tables[which[e]](x[e])`` per element."""
    v = np.empty(len(x), np.int64)
    for t in np.unique(which):
        sel = which == t
        v[sel] = tables[int(t)](x[sel])
    return v


@dataclass
class _OperandLines:
    """Per element, lines of one Add operand's term ``t(code)`` over the element's code band:
    ``p_lo*code + q_lo <= t <= p_hi*code + q_hi`` (where t is affine with integer slope and
    intercept below 2^53: ``p_lo == p_hi``, ``q_lo == q_hi``, exact); ``ok``: t is monotone
    non-decreasing on the band; ``t_min``, ``t_max``: its range there."""

    ok: np.ndarray
    p_lo: np.ndarray
    q_lo: np.ndarray
    p_hi: np.ndarray
    q_hi: np.ndarray
    t_min: np.ndarray
    t_max: np.ndarray


def _operand_lines(op: Operand, lo: np.ndarray, hi: np.ndarray) -> _OperandLines:
    """Lines of the operand's table restricted to each element's band [lo, hi] (inside its codes),
    computed once per distinct band: exact where the restriction is affine, else from every point."""
    bands, inverse = np.unique(np.stack([lo, hi], axis=1), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    k = len(bands)
    res = _OperandLines(np.zeros(k, bool), *(np.zeros(k) for _ in range(4)),
                        np.zeros(k, np.int64), np.zeros(k, np.int64))
    base = int(op.codes[0])
    chains = []
    for i, (b0, b1) in enumerate(bands.tolist()):
        seg = op.ints[b0 - base : b1 - base + 1]
        d = np.diff(seg)
        if np.any(d < 0):  # not monotone: the composition below would not be meaningful
            continue
        res.ok[i] = True
        res.t_min[i], res.t_max[i] = int(seg[0]), int(seg[-1])
        slope = int(d[0]) if d.size else 0
        icpt = int(seg[0]) - slope * b0
        if bool(np.all(d == slope)) and abs(slope) < _EXACT and abs(icpt) < _EXACT:
            res.p_lo[i] = res.p_hi[i] = float(slope)
            res.q_lo[i] = res.q_hi[i] = float(icpt)
        else:
            chains.append(i)
    if chains:
        idx = np.array(chains)
        length = bands[idx, 1] - bands[idx, 0] + 1
        values = np.zeros((len(idx), int(length.max())), np.int64)
        for r, i in enumerate(chains):
            values[r, : length[r]] = op.ints[bands[i, 0] - base : bands[i, 1] - base + 1]
        res.p_lo[idx], res.q_lo[idx], res.p_hi[idx], res.q_hi[idx] = points_relaxations(bands[idx, 0], values, length)
    return _OperandLines(*(getattr(res, f)[inverse] for f in _OperandLines.__dataclass_fields__))


def _compose(k: np.ndarray, m: np.ndarray, p: np.ndarray, q: np.ndarray, x_mag: np.ndarray,
             upper: bool) -> tuple[np.ndarray, np.ndarray]:
    """A float line for ``k*(sum_j p_j*x_j + sum_j q_j) + m`` per row (all floats read as exact
    rationals; ``|x_j| <= x_mag[:, j]``), moved outward past the rounding of its coefficients
    and constant: each computed product or sum is within u of its magnitude, 8u covers them all."""
    c = k[:, None] * p
    g = k * q.sum(axis=1) + m
    margin = 8 * _U * ((np.abs(c) * x_mag).sum(axis=1) + np.abs(k) * np.abs(q).sum(axis=1) + np.abs(m) + np.abs(g)) + 1e-300
    return c, (np.nextafter(g + margin, np.inf) if upper else np.nextafter(g - margin, -np.inf))


def _spread(n: int, rows: np.ndarray, *lines: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per-row arrays (of ``rows``) spread over all n elements, zero elsewhere (never queried)."""
    out = []
    for v in lines:
        full = np.zeros((n,) + v.shape[1:])
        full[rows] = v
        out.append(full)
    return tuple(out)


def add_relax(state: SymbolicBounds, node: ops.Add, out: Interval) -> tuple[Relax, Interval]:
    """Per element (of a path: vector or scalar tail), ``S = ta(a) + tb(b)`` exactly and the code
    is ``table(S)`` (``ir.split.AddElement``, built once per path over the union of the
    elements' operand bands; each element uses its own sub-bands). Each term is bounded by lines
    in its code: itself where it is affine on the element's band (then S is an exact linear form
    of (a, b)), else lines checked at every code of the band (the term must be monotone there).
    S's band comes from back-substituting those lines (within the terms' ranges); the table's
    lines on that band take S's lower (upper) line into its lower (upper) line, sound because
    the table's slopes are >= 0; the output bounds are the table at the band's ends. Refused
    paths, non-monotone terms: the element keeps its interval."""
    shape = out[0].shape
    n = out[0].size
    ins = [tuple(v.ravel().astype(np.int64) for v in state.bounds[k]) for k in node.inputs]
    if n == 0 or any(i[0].size != n for i in ins):
        return fresh_symbol(out), out
    (alo, ahi), (blo, bhi) = ins
    try:
        mask = np.asarray(add_vector_mask(node, shape), dtype=bool).ravel()
    except Exception:  # the interval pass decides about the op itself
        return fresh_symbol(out), out
    ok = np.zeros(n, bool)
    which = np.zeros(n, np.int64)
    p_lo, q_lo, p_hi, q_hi = (np.zeros((n, 2)) for _ in range(4))
    s_lo, s_hi = np.zeros(n, np.int64), np.zeros(n, np.int64)
    tables: list[StepTable] = []
    for vec in (True, False):
        sel = np.nonzero(mask == vec)[0]
        if not sel.size:
            continue
        try:
            el = AddElement(node, add_path(node, vec), vec, int(alo[sel].min()), int(ahi[sel].max()),
                            int(blo[sel].min()), int(bhi[sel].max()))
        except Exception:  # refused (too wide, not monotone) or failed: intervals only
            continue
        ta, tb = _operand_lines(el.a, alo[sel], ahi[sel]), _operand_lines(el.b, blo[sel], bhi[sel])
        ok[sel] = ta.ok & tb.ok
        which[sel] = len(tables)
        tables.append(el.table)
        for j, t in enumerate((ta, tb)):
            p_lo[sel, j], q_lo[sel, j], p_hi[sel, j], q_hi[sel, j] = t.p_lo, t.q_lo, t.p_hi, t.q_hi
        s_lo[sel], s_hi[sel] = ta.t_min + tb.t_min, ta.t_max + tb.t_max
    ok &= (np.abs(s_lo) < _EXACT) & (np.abs(s_hi) < _EXACT)
    src = np.stack([np.arange(n), np.arange(n)], axis=1)
    lo, hi = out[0].ravel().copy(), out[1].ravel().copy()
    c_lo, b_lo, c_hi, b_hi = np.zeros((n, 2)), np.zeros(n), np.zeros((n, 2)), np.zeros(n)
    if ok.any():
        rows = np.nonzero(ok)[0]
        x_mag = np.stack([np.maximum(np.abs(alo[rows]), np.abs(ahi[rows])),
                          np.maximum(np.abs(blo[rows]), np.abs(bhi[rows]))], axis=1).astype(np.float64)
        # S's band: back-substitute its lines (its exact form, up to float margins, where both terms are affine)
        one, zero = np.ones(len(rows)), np.zeros(len(rows))
        s_lines = (*_compose(one, zero, p_lo[rows], q_lo[rows], x_mag, upper=False),
                   *_compose(one, zero, p_hi[rows], q_hi[rows], x_mag, upper=True))
        if all(np.all(np.isfinite(v)) for v in s_lines):
            state.relax[node.name] = Taps(tuple(node.inputs), src, *_spread(n, rows, *s_lines))
            s_lo[rows], s_hi[rows] = _tighten(s_lo[rows], s_hi[rows], *_band(state, node.name, rows, n))
        l_lo, m_lo, l_hi, m_hi = band_relaxations(tables, which[rows], s_lo[rows], s_hi[rows])
        c_lo[rows], b_lo[rows] = _compose(l_lo, m_lo, p_lo[rows], q_lo[rows], x_mag, upper=False)
        c_hi[rows], b_hi[rows] = _compose(l_hi, m_hi, p_hi[rows], q_hi[rows], x_mag, upper=True)
        fine = (l_lo >= 0) & (l_hi >= 0) & np.isfinite(b_lo[rows]) & np.isfinite(b_hi[rows]) \
            & np.isfinite(c_lo[rows]).all(axis=1) & np.isfinite(c_hi[rows]).all(axis=1)
        ok[rows] = fine
        rows = rows[fine]
        lo[rows] = np.maximum(lo[rows], _tables_at(tables, which[rows], s_lo[rows]))
        hi[rows] = np.minimum(hi[rows], _tables_at(tables, which[rows], s_hi[rows]))
    rel = _boxed(tuple(node.inputs), out, ok, src, c_lo, b_lo, c_hi, b_hi)
    return rel, (lo.reshape(shape), hi.reshape(shape))


__all__ = ["add_relax", "avgpool_relax"]
