"""Sound linear relaxations of the IR's monotone step functions.

A requantizer over an accumulator band is exactly its :class:`StepTable`
``f(acc) = v_lo + #{t <= acc}``: monotone and piecewise constant. A line of slope
``a >= 0`` lies above ``f`` on every integer of the band iff it lies above the left
end of every step (``acc_lo`` and each threshold), and below it iff it lies below
the right end of every step (each ``threshold - 1`` and ``acc_hi``). So each line is
checked at those points only, taken from the exact table (never from an idealised
rounding formula), and its offset is rounded outward so that float arithmetic
cannot make it unsound.

The slope is whichever of a few candidates leaves the least area between line and
band: 0, the chord, the first and last edges of the points' hull and the slope
across the inner steps (DeepPoly's ReLU choice is among them). Everything is
vectorised over many bands (one row each): networks have thousands of them.

A function known only as a table of values at every integer of a short band (an
Add operand's per-code term) is relaxed the same way with every point checked.
"""

from __future__ import annotations

import numpy as np

from bvverify.errors import InternalError
from bvverify.runtimes.base import StepTable

Line = tuple[float, float, float, float]  # a_lo, b_lo, a_hi, b_hi: a_lo*x + b_lo <= f(x) <= a_hi*x + b_hi
Lines = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # the same, one entry per band

_U = 2.0**-53  # unit roundoff of float64


def step_relaxation(table: StepTable) -> Line:
    """Lines below and above the exact step function on every integer of its band."""
    lines = band_relaxations([table], np.zeros(1, np.int64), np.array([table.acc_lo]), np.array([table.acc_hi]))
    a_lo, b_lo, a_hi, b_hi = (float(v[0]) for v in lines)
    return a_lo, b_lo, a_hi, b_hi


def band_relaxations(tables: list[StepTable], which: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> Lines:
    """Lines for band e: table ``which[e]``'s step function on the integers of [lo[e], hi[e]]
    (a band inside that table's own: one table serves every element of a channel)."""
    which, lo, hi = (np.asarray(v, dtype=np.int64) for v in (which, lo, hi))
    first = np.empty(len(lo), np.int64)  # thresholds of band e: flat[start[e] + first[e] : ... + last[e]]
    last = np.empty(len(lo), np.int64)
    for c, table in enumerate(tables):
        sel = which == c
        first[sel] = np.searchsorted(table.thresholds, lo[sel], side="right")
        last[sel] = np.searchsorted(table.thresholds, hi[sel], side="right")
    flat = np.concatenate([t.thresholds for t in tables] + [np.zeros(1, np.int64)])
    start = np.cumsum([0] + [len(t.thresholds) for t in tables])[which]
    v = np.array([t.v_lo for t in tables], dtype=np.int64)[which] + first  # f(lo)
    n = last - first
    k = np.arange(max(int(n.max(initial=0)), 1))[None, :]
    inside = k < n[:, None]
    t = np.where(inside, flat[np.where(inside, start[:, None] + first[:, None] + k, 0)], hi[:, None])
    f_hi = (v + n)[:, None]
    up_x = np.hstack([lo[:, None], t, hi[:, None]])  # left ends of the steps
    up_y = np.hstack([v[:, None], np.where(inside, v[:, None] + k + 1, f_hi), f_hi])
    down_x = np.hstack([lo[:, None], np.where(inside, t - 1, hi[:, None]), hi[:, None]])  # right ends
    down_y = np.hstack([v[:, None], np.where(inside, v[:, None] + k, f_hi), f_hi])
    return _lines(up_x, up_y, down_x, down_y, n)


def clamp_relaxations(x_lo: np.ndarray, x_hi: np.ndarray, lo: int, hi: int) -> Lines:
    """Lines below and above ``clip(x, lo, hi)`` for the integers x of each band [x_lo, x_hi].

    On integers the clamp agrees with a continuous piecewise-linear function whose
    corners are the band ends and the clip points inside it; a line is above (below)
    such a function on the band iff it is at those corners."""
    x_lo, x_hi = np.asarray(x_lo, dtype=np.int64), np.asarray(x_hi, dtype=np.int64)
    xs = np.stack([x_lo, np.clip(lo, x_lo, x_hi), np.clip(hi, x_lo, x_hi), x_hi], axis=1)
    ys = np.clip(xs, lo, hi)
    return _lines(xs, ys, xs, ys, np.full(len(x_lo), 2))


def points_relaxations(x_lo: np.ndarray, values: np.ndarray, length: np.ndarray) -> Lines:
    """Lines below and above an arbitrary integer function known at every integer of each band:
    row e of ``values`` holds ``f(x_lo[e] + k)`` for ``k < length[e]`` (later columns ignored).

    Every point is a point the lines are checked at, so they hold whatever the function
    (monotone or not) and whatever slope is chosen; the slope is the least-area candidate
    as for step tables (>= 0). Used for per-code operand tables (Add), whose values may be
    large integers (below 2^53: exact in float64)."""
    x_lo, values, length = (np.asarray(v, dtype=np.int64) for v in (x_lo, values, length))
    if values.ndim != 2 or len(values) != len(x_lo) or np.any(length < 1) or np.any(length > values.shape[1]):
        raise InternalError("points_relaxations: one row of at least one value per band")
    out = [np.empty(len(x_lo)) for _ in range(4)]
    width = max(values.shape[1], 2)  # the slope search reads columns 0, 1 and the last
    step = max(1, (1 << 18) // width)  # rows per chunk: the slope search holds 5 copies of a chunk
    for s in range(0, len(x_lo), step):
        rows = slice(s, s + step)
        k = np.minimum(np.arange(width)[None, :], length[rows, None] - 1)  # repeat the last point
        xs = x_lo[rows, None] + k
        ys = np.take_along_axis(values[rows], k, axis=1)
        for o, v in zip(out, _lines(xs, ys, xs, ys, np.maximum(length[rows] - 2, 0))):
            o[rows] = v
    a_lo, b_lo, a_hi, b_hi = out
    return a_lo, b_lo, a_hi, b_hi


def _lines(up_x: np.ndarray, up_y: np.ndarray, down_x: np.ndarray, down_y: np.ndarray, n: np.ndarray) -> Lines:
    """Rows of points sorted by x, the band's ends in the first and last column, the
    inner points in columns 1..n[e] (later columns repeat points)."""
    mid = (up_x[:, 0] + up_x[:, -1]) / 2
    a_hi = _slope(up_x, up_y, n, mid, upper=True)
    a_lo = _slope(down_x, down_y, n, mid, upper=False)
    return a_lo, _offset(down_x, down_y, a_lo, upper=False), a_hi, _offset(up_x, up_y, a_hi, upper=True)


def _slope(x: np.ndarray, y: np.ndarray, n: np.ndarray, mid: np.ndarray, upper: bool) -> np.ndarray:
    """The candidate slope (all >= 0, where the extreme points are valid) of least area."""
    xf, yf = x.astype(np.float64), y.astype(np.float64)
    rows = np.arange(len(x))
    inner_hi = np.maximum(n, 1)
    cands = np.stack([
        np.zeros(len(x)),
        _ratio(yf[:, -1] - yf[:, 0], xf[:, -1] - xf[:, 0]),  # chord
        _edge(yf - yf[:, :1], xf - xf[:, :1], upper),  # first hull edge, from the left end
        _edge(yf[:, -1:] - yf, xf[:, -1:] - xf, not upper),  # last hull edge, to the right end
        _ratio(yf[rows, inner_hi] - yf[:, 1], xf[rows, inner_hi] - xf[:, 1]),  # across the inner steps
    ], axis=1).clip(min=0.0)
    off = yf[:, None, :] - cands[:, :, None] * xf[:, None, :]
    at_mid = cands * mid[:, None] + (off.max(axis=2) if upper else off.min(axis=2))  # the line's value at mid
    return cands[rows, np.argmin(at_mid, axis=1) if upper else np.argmax(at_mid, axis=1)]


def _ratio(dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    return np.where(dx > 0, dy / np.where(dx > 0, dx, 1), 0.0)


def _edge(dy: np.ndarray, dx: np.ndarray, upper_end: bool) -> np.ndarray:
    """Per row, max (``upper_end``) or min of dy/dx over the columns with dx > 0; 0 when there are none."""
    fill = -np.inf if upper_end else np.inf
    s = np.where(dx > 0, dy / np.where(dx > 0, dx, 1), fill)
    r = s.max(axis=1) if upper_end else s.min(axis=1)
    return np.where(np.isfinite(r), r, 0.0)


def _offset(x: np.ndarray, y: np.ndarray, a: np.ndarray, upper: bool) -> np.ndarray:
    """max (upper) or min (lower) of y - a*x over each row, moved outward past float error.

    Each computed ``y - a*x`` is within 2.01u(|a*x| + |y|) of the exact value; the
    margin is twice that plus the rounding of the final addition."""
    ax = a[:, None] * x.astype(np.float64)
    yf = y.astype(np.float64)
    d = yf - ax
    m = d.max(axis=1) if upper else d.min(axis=1)
    margin = 4 * _U * (np.abs(ax).max(axis=1) + np.abs(yf).max(axis=1) + np.abs(m))
    return m + margin if upper else m - margin


__all__ = ["Line", "Lines", "band_relaxations", "clamp_relaxations", "points_relaxations", "step_relaxation"]
