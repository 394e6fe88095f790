"""Symbolic linear bounds (DeepPoly / CROWN-style back-substitution) through the exact integer semantics.

Every tensor gets a lower and an upper linear function of the tensors it is computed
from: exact for Dense / Conv2d (when the accumulator cannot wrap), Reshape and Concat;
sound lines from the exact step table for Requantize, from the corners for Clamp; a
chosen tap below and a constant above for MaxPool2d; for AvgPool2d and Add, lines
of the exact split of ``ir.split`` (an exact integer sum, then a monotone
step table) composed with the sum's linear form; only its interval for every
other op (a fresh symbol). An accumulator's bounds come from substituting these
functions backwards down to the input box, which keeps the correlations an interval
pass loses; every bound is intersected with the interval pass's, so this is never
looser than it.

Back-substitution runs in float64. Each step adds to a per-row slack an upper bound
of its rounding error (coefficient errors weighted by the largest magnitude the
tensor can take), and concretised bounds move outward by that slack, so the results
hold for the exact integer semantics.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field, replace

import numpy as np

from bvverify.bounds.interval import propagate
from bvverify.bounds.relax import band_relaxations, clamp_relaxations, points_relaxations
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork
from bvverify.ir.interp import EVAL, eval_requantize, maxpool_taps
from bvverify.ir.ranges import Interval, node_interval
from bvverify.ir.split import AddElement, Operand, checked_table
from bvverify.runtimes.base import StepTable, get_profile
from bvverify.runtimes.elementwise import add_path, add_vector_mask
from bvverify.runtimes.pooling import avgpool_code_fn, avgpool_kind, avgpool_monotone, avgpool_plan

_U = 2.0**-53  # unit roundoff of float64


@dataclass(frozen=True)
class Affine:
    """``y = sum_k mats[k] @ x_k + bias`` exactly (flat tensors): Dense / Conv2d that cannot wrap."""

    inputs: tuple[str, ...]
    mats: tuple[np.ndarray, ...]
    bias: np.ndarray


@dataclass(frozen=True)
class Select:
    """``x_k == y[takes[k]]`` (flat): y only rearranges its inputs (Reshape, Concat)."""

    inputs: tuple[str, ...]
    takes: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class Pointwise:
    """``a_lo*x[src_lo] + b_lo <= y <= a_hi*x[src_hi] + b_hi`` per element of y (flat);
    ``src None``: y's own position (Requantize, Clamp); else a tap (MaxPool2d)."""

    input: str
    a_lo: np.ndarray
    b_lo: np.ndarray
    a_hi: np.ndarray
    b_hi: np.ndarray
    src_lo: np.ndarray | None = None
    src_hi: np.ndarray | None = None


@dataclass(frozen=True)
class Taps:
    """``sum_j c_lo[e, j] * x_j[src[e, j]] + b_lo[e] <= y[e] <= (the same with c_hi, b_hi)`` per
    element e of y (flat), ``x_j = inputs[j]`` (slots may name one tensor twice): a line over a few
    input elements (AvgPool2d: the window, one slot per kernel offset; Add: both operands).
    ``c_lo == c_hi`` and ``b_lo == b_hi`` make it exact."""

    inputs: tuple[str, ...]
    src: np.ndarray  # int64 [n, slots]
    c_lo: np.ndarray  # [n, slots]
    b_lo: np.ndarray
    c_hi: np.ndarray
    b_hi: np.ndarray


@dataclass(frozen=True)
class Box:
    """``lo <= y <= hi`` and nothing more: back-substitution stops here."""

    lo: np.ndarray
    hi: np.ndarray


Relax = Affine | Select | Pointwise | Taps | Box


@dataclass
class SymbolicBounds:
    """Bounds and relaxations of every tensor of one network over one input box."""

    order: tuple[str, ...]  # "input", then every node in evaluation order
    bounds: dict[str, Interval] = field(default_factory=dict)
    relax: dict[str, Relax] = field(default_factory=dict)
    box: dict[str, Box] = field(default_factory=dict)  # the bounds as flat floats
    mag: dict[str, np.ndarray] = field(default_factory=dict)  # largest |value| per flat element

    def set(self, name: str, bounds: Interval, relax: Relax) -> None:
        self.bounds[name] = bounds
        self.relax[name] = relax
        self.box[name] = _box(bounds)
        self.mag[name] = np.maximum(np.abs(self.box[name].lo), np.abs(self.box[name].hi))

    def lower(self, name: str, lam: np.ndarray, slack: np.ndarray | float = 0.0) -> np.ndarray:
        """Sound lower bounds of ``lam @ flat(name)`` (rows of lam) by back-substitution; ``slack``
        is error the caller already made. Wherever one tensor carries all the coefficients,
        its own bounds give a bound too (they may be tighter than the input box's): the best counts."""
        terms = {name: np.asarray(lam, dtype=np.float64)}
        const = np.zeros(lam.shape[0])
        slack = np.zeros(lam.shape[0]) + slack
        best = np.full(lam.shape[0], -np.inf)
        for t in reversed(self.order[: self.order.index(name) + 1]):
            coef = terms.pop(t, None)
            if coef is None:
                continue
            if not terms and t in self.box:
                dc, ds = _substitute(self.box[t], coef, {}, self.mag)
                best = np.maximum(best, _sound(const + dc, slack + ds))
            dc, ds = _substitute(self.relax[t], coef, terms, self.mag)
            const = const + dc
            slack = slack + ds + _U * np.abs(const)
        return np.maximum(best, _sound(const, slack))  # every chain ends at the input box or a fresh symbol


def _sound(const: np.ndarray, slack: np.ndarray) -> np.ndarray:
    """A value below ``const - slack`` however the subtraction rounds, and below by a hair more."""
    return const - (1.01 * slack + 4 * _U * np.abs(const)) - 1e-9


def _gamma(n: int) -> float:
    """Twice the classic bound n*u/(1-n*u) on the relative error of an n-term dot product."""
    return (n + 4) * 2.0**-52


def _substitute(rel: Relax, lam: np.ndarray, terms: dict[str, np.ndarray],
                mag: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Replace ``lam @ y`` by the relaxation's lower side; the new coefficients go into
    ``terms``; returns the constant part and an upper bound of the rounding error."""
    m, n = lam.shape
    if isinstance(rel, Box):
        dc = np.maximum(lam, 0) @ rel.lo + np.minimum(lam, 0) @ rel.hi
        return dc, _gamma(n) * (np.abs(lam) @ np.maximum(np.abs(rel.lo), np.abs(rel.hi)))
    if isinstance(rel, Select):
        ds = np.zeros(m)
        for k, take in zip(rel.inputs, rel.takes):
            ds += _accumulate(terms, k, lam[:, take], mag)
        return np.zeros(m), ds
    if isinstance(rel, Affine):
        dc = lam @ rel.bias
        ds = _gamma(n) * (np.abs(lam) @ np.abs(rel.bias))
        for k, a in zip(rel.inputs, rel.mats):
            ds += _gamma(n) * (np.abs(lam) @ (np.abs(a) @ mag[k])) + _accumulate(terms, k, lam @ a, mag)
        return dc, ds
    if isinstance(rel, Taps):
        return _substitute_taps(rel, lam, terms, mag)
    pos, neg = np.maximum(lam, 0), np.minimum(lam, 0)
    c_lo, c_hi = pos * rel.a_lo, neg * rel.a_hi
    dc = pos @ rel.b_lo + neg @ rel.b_hi
    x_mag = mag[rel.input]
    ds = _gamma(n) * (np.abs(lam) @ np.maximum(np.abs(rel.b_lo), np.abs(rel.b_hi))
                      + np.abs(c_lo) @ _gather(x_mag, rel.src_lo) + np.abs(c_hi) @ _gather(x_mag, rel.src_hi))
    coef = _scatter(c_lo, rel.src_lo, x_mag.size) + _scatter(c_hi, rel.src_hi, x_mag.size)
    return dc, ds + _accumulate(terms, rel.input, coef, mag)


def _substitute_taps(rel: Taps, lam: np.ndarray, terms: dict[str, np.ndarray],
                     mag: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``_substitute`` for :class:`Taps`. A coefficient of input element i collects at most
    ``n * slots`` rounded products ``lam[r, e] * c[e, j]`` (one per (e, j) reading i): its error
    is within gamma(n * slots) times their magnitudes, weighted by ``|x_i|``."""
    m, n = lam.shape
    pos, neg = np.maximum(lam, 0), np.minimum(lam, 0)
    dc = pos @ rel.b_lo + neg @ rel.b_hi
    ds = _gamma(n) * (np.abs(lam) @ np.maximum(np.abs(rel.b_lo), np.abs(rel.b_hi)))
    w_lo, w_hi = np.zeros(n), np.zeros(n)  # sum_j |c[e, j]| * max |x_j[src[e, j]]|
    coefs: dict[str, np.ndarray] = {}
    for j, k in enumerate(rel.inputs):
        cl, ch, src = rel.c_lo[:, j], rel.c_hi[:, j], rel.src[:, j]
        used = np.nonzero((cl != 0) | (ch != 0))[0]
        if not used.size:
            continue
        x_mag = mag[k][src[used]]
        w_lo[used] += np.abs(cl[used]) * x_mag
        w_hi[used] += np.abs(ch[used]) * x_mag
        coef = coefs.setdefault(k, np.zeros((m, mag[k].size)))
        vals = pos[:, used] * cl[used] + neg[:, used] * ch[used]  # one side per entry: the sum is exact
        where = src[used]
        if np.unique(where).size == where.size:
            coef[:, where] += vals
        else:
            np.add.at(coef, (slice(None), where), vals)
    ds = ds + _gamma(n * len(rel.inputs)) * (pos @ w_lo - neg @ w_hi)
    for k, coef in coefs.items():
        ds = ds + _accumulate(terms, k, coef, mag)
    return dc, ds


def _accumulate(terms: dict[str, np.ndarray], name: str, coef: np.ndarray, mag: dict[str, np.ndarray]) -> np.ndarray:
    """Add coefficients of tensor ``name`` (a tensor read by several nodes collects several)."""
    if name not in terms:
        terms[name] = coef
        return np.zeros(coef.shape[0])
    terms[name] = terms[name] + coef
    return _U * (np.abs(terms[name]) @ mag[name])


def _gather(v: np.ndarray, src: np.ndarray | None) -> np.ndarray:
    return v if src is None else v[src]


def _scatter(coef: np.ndarray, src: np.ndarray | None, n_in: int) -> np.ndarray:
    if src is None:
        return coef
    onehot = np.zeros((len(src), n_in))
    onehot[np.arange(len(src)), src] = 1.0
    return coef @ onehot


# ---- the forward pass ------------------------------------------------------------------------


def symbolic_bounds(net: QNetwork, code_lo: np.ndarray, code_hi: np.ndarray) -> SymbolicBounds:
    """Bounds and relaxations of every tensor over the input code box [code_lo, code_hi]."""
    env = propagate(net, code_lo, code_hi)
    state = SymbolicBounds(("input",) + tuple(node.name for node in net.nodes))
    state.set("input", env["input"], _box(env["input"]))
    shapes = net.shapes
    for node in net.nodes:
        ins = [state.bounds[i] for i in node.inputs]
        if isinstance(node, (ops.Dense, ops.Conv2d)):
            rel, bounds = _affine(state, node, shapes[node.inputs[0]], env[node.name])
        else:
            lo, hi = node_interval(node, ins, shapes[node.name])
            bounds = (np.maximum(lo, env[node.name][0]), np.minimum(hi, env[node.name][1]))
            if isinstance(node, ops.AvgPool2d):
                rel, bounds = _avgpool_relax(state, node, bounds, shapes[node.inputs[0]])
            elif isinstance(node, ops.Add):
                rel, bounds = _add_relax(state, node, bounds)
            else:
                rel = _relax(node, ins, bounds, shapes[node.inputs[0]])
        state.set(node.name, bounds, rel)
    return state


def propagate_symbolic(net: QNetwork, code_lo: np.ndarray, code_hi: np.ndarray) -> dict[str, Interval]:
    """Interval of every tensor (by name) over the input code box, from symbolic bounds;
    the same contract as ``bounds.interval.propagate`` and never looser."""
    return symbolic_bounds(net, code_lo, code_hi).bounds


def output_linear_lower(net: QNetwork, code_lo: np.ndarray, code_hi: np.ndarray, C: np.ndarray,
                        bounds: SymbolicBounds | None = None) -> np.ndarray:
    """Sound lower bounds of ``C @ y`` over the box, y the flat output codes (C: [m, n_out],
    floats or Fractions). Substituting whole rows keeps what the outputs share, which
    is what proves ``o_y - o_j > 0`` where per-output bounds overlap. ``bounds``: a
    ``symbolic_bounds`` result for the same network and box, to reuse."""
    state = bounds if bounds is not None else symbolic_bounds(net, code_lo, code_hi)
    name = net.output.name
    rows = np.asarray(C, dtype=np.float64).reshape(-1, state.mag[name].size)
    return state.lower(name, rows, _U * (np.abs(rows) @ state.mag[name]))  # C's own rounding to float64


def _affine(state: SymbolicBounds, node: ops.Dense | ops.Conv2d, in_shape: tuple[int, ...],
            env: Interval) -> tuple[Relax, Interval]:
    """The exact affine map and its back-substituted bounds (within the interval pass's
    ``env``); a fresh symbol when pair saturation or a possible wrap breaks linearity."""
    lim = 2 ** (node.acc_bits - 1)
    can_wrap = bool(env[0].size) and env[0].min() <= -lim and env[1].max() >= lim - 1  # the interval pass's fallback
    if node.pair_saturation:
        return _box(env), env
    a, b = _matrix(node, in_shape)
    state.relax[node.name] = rel = Affine(node.inputs, (a,), b)
    n = a.shape[0]
    low = state.lower(node.name, np.vstack([np.eye(n), -np.eye(n)]))
    lo, hi = np.ceil(low[:n]), np.floor(-low[n:])
    if can_wrap and n and (lo.min() < -lim or hi.max() > lim - 1):
        return _box(env), env
    lo = np.maximum(lo.clip(-lim, lim - 1).astype(np.int64).reshape(env[0].shape), env[0])
    hi = np.minimum(hi.clip(-lim, lim - 1).astype(np.int64).reshape(env[0].shape), env[1])
    return rel, (lo, hi)


_MATRICES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # node -> {input shape: (A, b)}


def _matrix(node: ops.Dense | ops.Conv2d, in_shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(A, b) with acc = A @ flat(x) + b exactly (unrolled for Conv2d); cached per node."""
    cache = _MATRICES.setdefault(node, {})
    if in_shape not in cache:
        if isinstance(node, ops.Dense):
            w = np.asarray(node.weight, dtype=np.int64) - np.asarray(node.w_zero, dtype=np.int64)[:, None]
            bias = np.zeros(w.shape[0], np.int64) if node.bias is None else np.asarray(node.bias, dtype=np.int64)
        else:
            w, bias = _unrolled_conv(node, in_shape)
        b = bias - node.x_zero * w.sum(axis=1)  # padded positions hold x_zero: no term in w
        cache[in_shape] = (w.astype(np.float64), b.astype(np.float64))
    return cache[in_shape]


def _unrolled_conv(node: ops.Conv2d, in_shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The conv of (x - x_zero) as an integer matrix, from the interpreter's own conv on unit inputs."""
    wz = np.asarray(node.w_zero, dtype=np.int64)[:, None, None, None]
    probe = replace(node, weight=np.asarray(node.weight, dtype=np.int64) - wz, w_zero=np.zeros_like(node.w_zero),
                    x_zero=0, bias=None, acc_bits=64, pair_saturation=False)
    n_in = math.prod(in_shape)
    cols = EVAL[ops.Conv2d](probe, np.eye(n_in, dtype=np.int64).reshape((n_in,) + tuple(in_shape)))
    w = cols.reshape(n_in, -1).T
    per_channel = w.shape[0] // len(wz)
    bias = np.zeros(len(wz), np.int64) if node.bias is None else np.asarray(node.bias, dtype=np.int64)
    return w, np.repeat(bias, per_channel)


def _relax(node: ops.Node, ins: list[Interval], out: Interval, in_shape: tuple[int, ...]) -> Relax:
    if isinstance(node, ops.Requantize):
        return _requantize_relax(node, ins[0], out)
    if isinstance(node, ops.Clamp):
        return Pointwise(node.inputs[0], *clamp_relaxations(ins[0][0].ravel(), ins[0][1].ravel(), node.lo, node.hi))
    if isinstance(node, ops.MaxPool2d):
        return _maxpool_relax(node, ins[0], out, in_shape)
    if isinstance(node, ops.Reshape):
        return Select(node.inputs, (np.arange(ins[0][0].size),))
    if isinstance(node, ops.Concat):
        return _concat_select(node, ins)
    return _box(out)


def _box(b: Interval) -> Box:
    return Box(b[0].astype(np.float64).ravel(), b[1].astype(np.float64).ravel())


def _requantize_relax(node: ops.Requantize, acc: Interval, out: Interval) -> Relax:
    """Per element, lines from its channel's exact step table restricted to its band."""
    mono_lo, mono_hi = get_profile(node.profile).monotone_range(node.params)
    lo, hi = acc
    if lo.size == 0 or lo.min() < mono_lo or hi.max() > mono_hi:
        return _box(out)
    lo2, hi2 = lo.reshape(lo.shape[0], -1), hi.reshape(hi.shape[0], -1)
    tables = channel_tables(node, lo2.min(axis=1), hi2.max(axis=1))
    which = np.repeat(np.arange(lo2.shape[0]), lo2.shape[1])
    return Pointwise(node.inputs[0], *band_relaxations(tables, which, lo.ravel(), hi.ravel()))


def channel_tables(node: ops.Requantize, acc_lo: np.ndarray, acc_hi: np.ndarray) -> list[StepTable]:
    """The exact step table of every channel c over [acc_lo[c], acc_hi[c]] (inside the
    profile's monotone range): ``runtimes.base.step_table``'s bisection, run for every
    (channel, code) pair at once through the interpreter's own requantizer."""
    channels = np.arange(len(acc_lo))
    v_lo = _requantize_at(node, channels, acc_lo)
    counts = _requantize_at(node, channels, acc_hi) - v_lo
    ch = np.repeat(channels, counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    targets = np.repeat(v_lo, counts) + np.arange(len(ch)) - starts + 1
    node_ch = _gathered(node, ch)
    lo, hi = acc_lo[ch].astype(np.int64), acc_hi[ch].astype(np.int64)  # f(lo) < target <= f(hi)
    while np.any(hi - lo > 1):
        mid = lo + (hi - lo) // 2
        ge = eval_requantize(node_ch, mid[None])[0] >= targets
        hi, lo = np.where(ge, mid, hi), np.where(ge, lo, mid)
    ends = np.cumsum(counts)
    return [StepTable(int(acc_lo[c]), int(acc_hi[c]), int(v_lo[c]), hi[ends[c] - counts[c] : ends[c]]) for c in channels]


def _requantize_at(node: ops.Requantize, channels: np.ndarray, acc: np.ndarray) -> np.ndarray:
    return eval_requantize(_gathered(node, channels), np.asarray(acc, dtype=np.int64)[None])[0]


def _gathered(node: ops.Requantize, channels: np.ndarray) -> ops.Requantize:
    """The node with per-channel params picked by ``channels``: element i of a batch row is
    requantized as channel ``channels[i]`` (params broadcast along the channel axis)."""
    params = {k: (np.asarray(v)[channels] if np.asarray(v).ndim and np.asarray(v).size > 1 else v)
              for k, v in node.params.items()}
    return replace(node, params=params)


def _maxpool_relax(node: ops.MaxPool2d, x: Interval, out: Interval, in_shape: tuple[int, ...]) -> Pointwise:
    """Below: the tap with the highest lower bound (a max is at least each tap); above: the
    output's upper bound. A tap that dominates the window (and the floor) is the output exactly."""
    taps = _pool_taps(node, in_shape)
    valid = taps >= 0
    safe = np.where(valid, taps, 0)
    xlo, xhi = x[0].ravel().astype(np.float64), x[1].ravel().astype(np.float64)
    best = np.argmax(np.where(valid, xlo[safe], -np.inf), axis=1)
    k = safe[np.arange(len(taps)), best]
    others = np.where(valid & (taps != k[:, None]), xhi[safe], -np.inf).max(axis=1)
    some = valid.any(axis=1)  # a window of padding only (if the IR allowed one) has no tap to use
    exact = some & (xlo[k] >= np.maximum(others, node.floor))
    use_tap = some & (xlo[k] >= node.floor)  # below the floor, the constant lower bound is the better one
    olo, ohi = (o.astype(np.float64).ravel() for o in out)
    one, zero = np.ones(len(k)), np.zeros(len(k))
    return Pointwise(node.inputs[0], np.where(use_tap, one, zero), np.where(use_tap, zero, olo),
                     np.where(exact, one, zero), np.where(exact, zero, ohi), k, k)


def _pool_taps(node: ops.MaxPool2d, in_shape: tuple[int, ...]) -> np.ndarray:
    """[outputs, taps] flat input index of every window tap, -1 for padding (the interpreter's windows)."""
    idx = np.arange(math.prod(in_shape), dtype=np.int64).reshape((1,) + tuple(in_shape))
    taps = maxpool_taps(node, idx, -1)
    return taps.reshape(-1, node.kernel[0] * node.kernel[1])


def _concat_select(node: ops.Concat, ins: list[Interval]) -> Select:
    """Where each input element lands in the flat output."""
    sizes = [i[0].size for i in ins]
    offsets = np.cumsum([0] + sizes)
    pos = np.concatenate([np.arange(s).reshape(i[0].shape) + o for s, i, o in zip(sizes, ins, offsets)],
                         axis=node.axis).ravel()
    where = np.empty(len(pos), dtype=np.int64)
    where[pos] = np.arange(len(pos))
    return Select(node.inputs, tuple(where[offsets[k] : offsets[k + 1]] for k in range(len(ins))))


# ---- AvgPool2d and Add: the exact split of ir.split, relaxed -------------------------------

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


def _avgpool_relax(state: SymbolicBounds, node: ops.AvgPool2d, out: Interval,
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
        return _box(out), out
    n = c * len(wins)
    if n != out[0].size or n == 0:
        return _box(out), out
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
                    return _box(out), out
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
        return _box(out), out
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


def _add_relax(state: SymbolicBounds, node: ops.Add, out: Interval) -> tuple[Relax, Interval]:
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
        return _box(out), out
    (alo, ahi), (blo, bhi) = ins
    try:
        mask = np.asarray(add_vector_mask(node, shape), dtype=bool).ravel()
    except Exception:  # the interval pass decides about the op itself
        return _box(out), out
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


__all__ = ["Affine", "Box", "Pointwise", "Relax", "Select", "SymbolicBounds", "Taps", "output_linear_lower",
           "channel_tables", "propagate_symbolic", "symbolic_bounds"]
