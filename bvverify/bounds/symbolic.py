"""Symbolic linear bounds (DeepPoly / CROWN-style back-substitution) through the exact integer semantics.

Every tensor gets a lower and an upper linear function of the tensors it is computed
from: exact for Dense / Conv2d (when the accumulator cannot wrap), Reshape and Concat;
sound lines from the exact step table for Requantize, from the corners for Clamp; a
chosen tap below and a constant above for MaxPool2d; only its interval for every
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
from bvverify.bounds.relax import band_relaxations, clamp_relaxations
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork
from bvverify.ir.interp import EVAL, conv_out_size, eval_requantize, windows
from bvverify.ir.ranges import Interval, node_interval
from bvverify.runtimes.base import StepTable, get_profile

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
class Box:
    """``lo <= y <= hi`` and nothing more: back-substitution stops here."""

    lo: np.ndarray
    hi: np.ndarray


Relax = Affine | Select | Pointwise | Box


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
    pos, neg = np.maximum(lam, 0), np.minimum(lam, 0)
    c_lo, c_hi = pos * rel.a_lo, neg * rel.a_hi
    dc = pos @ rel.b_lo + neg @ rel.b_hi
    x_mag = mag[rel.input]
    ds = _gamma(n) * (np.abs(lam) @ np.maximum(np.abs(rel.b_lo), np.abs(rel.b_hi))
                      + np.abs(c_lo) @ _gather(x_mag, rel.src_lo) + np.abs(c_hi) @ _gather(x_mag, rel.src_hi))
    coef = _scatter(c_lo, rel.src_lo, x_mag.size) + _scatter(c_hi, rel.src_hi, x_mag.size)
    return dc, ds + _accumulate(terms, rel.input, coef, mag)


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
    c, h, w = in_shape
    kh, kw = node.kernel
    (sh, sw), (ph, pw), (dh, dw) = node.stride, node.padding, node.dilation
    oh = conv_out_size(h, kh, sh, ph, dh, node.ceil_mode)
    ow = conv_out_size(w, kw, sw, pw, dw, node.ceil_mode)
    extra_h = max(0, (oh - 1) * sh + dh * (kh - 1) + 1 - (h + 2 * ph))
    extra_w = max(0, (ow - 1) * sw + dw * (kw - 1) + 1 - (w + 2 * pw))
    pads = ((0, 0), (0, 0), (ph, ph + extra_h), (pw, pw + extra_w))
    idx = np.arange(c * h * w, dtype=np.int64).reshape(1, c, h, w)
    xp = np.pad(idx, pads, mode="edge") if node.pad_mode == "edge" else np.pad(idx, pads, constant_values=-1)
    return windows(xp, node.kernel, node.stride, node.dilation, (oh, ow)).reshape(c * oh * ow, kh * kw)


def _concat_select(node: ops.Concat, ins: list[Interval]) -> Select:
    """Where each input element lands in the flat output."""
    sizes = [i[0].size for i in ins]
    offsets = np.cumsum([0] + sizes)
    pos = np.concatenate([np.arange(s).reshape(i[0].shape) + o for s, i, o in zip(sizes, ins, offsets)],
                         axis=node.axis).ravel()
    where = np.empty(len(pos), dtype=np.int64)
    where[pos] = np.arange(len(pos))
    return Select(node.inputs, tuple(where[offsets[k] : offsets[k + 1]] for k in range(len(ins))))


__all__ = ["Affine", "Box", "Pointwise", "Relax", "Select", "SymbolicBounds", "output_linear_lower",
           "channel_tables", "propagate_symbolic", "symbolic_bounds"]
