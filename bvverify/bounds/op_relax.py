"""Relaxations of the ops that are affine, rearrange elements or map one element at a time.

Dense / Conv2d are exact affine maps (while the accumulator cannot wrap); Reshape and
Concat only rearrange; Requantize gets lines from its channel's exact step table, Clamp
from its corners, MaxPool2d a chosen tap below and a constant above.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import replace

import numpy as np

from bvverify.bounds.backsub import Affine, Pointwise, Relax, Select, SymbolicBounds, fresh_symbol
from bvverify.bounds.relax import band_relaxations, clamp_relaxations
from bvverify.ir import ops
from bvverify.ir.interp import EVAL, eval_requantize, maxpool_taps
from bvverify.ir.ranges import Interval
from bvverify.runtimes.base import StepTable, get_profile


def affine_relax(state: SymbolicBounds, node: ops.Dense | ops.Conv2d, in_shape: tuple[int, ...],
            env: Interval) -> tuple[Relax, Interval]:
    """The exact affine map and its back-substituted bounds (within the interval pass's
    ``env``); a fresh symbol when pair saturation or a possible wrap breaks linearity."""
    lim = 2 ** (node.acc_bits - 1)
    can_wrap = bool(env[0].size) and env[0].min() <= -lim and env[1].max() >= lim - 1  # the interval pass's fallback
    if node.pair_saturation:
        return fresh_symbol(env), env
    a, b = _matrix(node, in_shape)
    state.relax[node.name] = rel = Affine(node.inputs, (a,), b)
    n = a.shape[0]
    low = state.lower(node.name, np.vstack([np.eye(n), -np.eye(n)]))
    lo, hi = np.ceil(low[:n]), np.floor(-low[n:])
    if can_wrap and n and (lo.min() < -lim or hi.max() > lim - 1):
        return fresh_symbol(env), env
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



def clamp_relax(node: ops.Clamp, x: Interval) -> Pointwise:
    """The corners' lines per element (``bounds.relax.clamp_relaxations``)."""
    return Pointwise(node.inputs[0], *clamp_relaxations(x[0].ravel(), x[1].ravel(), node.lo, node.hi))


def reshape_select(node: ops.Reshape, x: Interval) -> Select:
    """A reshape keeps the flat order: element i of the output is element i of the input."""
    return Select(node.inputs, (np.arange(x[0].size),))


def requantize_relax(node: ops.Requantize, acc: Interval, out: Interval) -> Relax:
    """Per element, lines from its channel's exact step table restricted to its band."""
    mono_lo, mono_hi = get_profile(node.profile).monotone_range(node.params)
    lo, hi = acc
    if lo.size == 0 or lo.min() < mono_lo or hi.max() > mono_hi:
        return fresh_symbol(out)
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


def maxpool_relax(node: ops.MaxPool2d, x: Interval, out: Interval, in_shape: tuple[int, ...]) -> Pointwise:
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


def concat_select(node: ops.Concat, ins: list[Interval]) -> Select:
    """Where each input element lands in the flat output."""
    sizes = [i[0].size for i in ins]
    offsets = np.cumsum([0] + sizes)
    pos = np.concatenate([np.arange(s).reshape(i[0].shape) + o for s, i, o in zip(sizes, ins, offsets)],
                         axis=node.axis).ravel()
    where = np.empty(len(pos), dtype=np.int64)
    where[pos] = np.arange(len(pos))
    return Select(node.inputs, tuple(where[offsets[k] : offsets[k + 1]] for k in range(len(ins))))


__all__ = ["affine_relax", "channel_tables", "clamp_relax", "concat_select", "maxpool_relax", "requantize_relax",
           "reshape_select"]
