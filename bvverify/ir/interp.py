"""The numpy reference interpreter: the executable specification of the IR.

Batched and vectorised; integers are int64 throughout (accumulators are
wrapped to their declared width). Each op has one function in ``EVAL``; a
missing op fails by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

import numpy as np

from bvverify.errors import UnsupportedOpError
from bvverify.ir import ops
from bvverify.ir.geometry import windows
from bvverify.runtimes.base import get_profile
from bvverify.runtimes.sliding import conv_out_size


def wrap(acc: np.ndarray, bits: int) -> np.ndarray:
    """Two's-complement wrap of exact integers to ``bits`` bits."""
    if bits >= 63:
        return acc
    half = np.int64(1) << (bits - 1)
    return ((acc + half) & ((np.int64(1) << bits) - 1)) - half


def _sat16(x: np.ndarray) -> np.ndarray:
    return np.clip(x, -(2**15), 2**15 - 1)


def _matmul_exact(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact integer a @ b; float64 BLAS when every partial sum fits 2^53."""
    bound = float(np.abs(a).max(initial=0)) * float(np.abs(b).max(initial=0)) * a.shape[-1]
    if bound < 2.0**52:
        return np.rint(a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)
    return a.astype(np.int64) @ b.astype(np.int64)


def _pair_saturated_dot(q: np.ndarray, w: np.ndarray, x_zero: int, w_zero: np.ndarray) -> np.ndarray:
    """Non-VNNI fbgemm u8*s8: int16-saturated adjacent pair sums of raw codes,
    then the zero-point corrections in int32. q: [N, K] codes, w: [O, K] raw."""
    k = q.shape[1]
    if k % 2:
        q = np.concatenate([q, np.zeros((q.shape[0], 1), np.int64)], axis=1)
        w = np.concatenate([w, np.zeros((w.shape[0], 1), np.int64)], axis=1)
    prod = q[:, None, :] * w[None, :, :]  # [N, O, K]
    pairs = _sat16(prod[..., 0::2] + prod[..., 1::2])
    raw = pairs.sum(axis=-1)
    wz = w_zero[None, :]
    return raw - x_zero * w.sum(axis=1)[None, :] - wz * q.sum(axis=1)[:, None] + k * x_zero * wz


def eval_dense(node: ops.Dense, x: np.ndarray) -> np.ndarray:
    w = np.asarray(node.weight, dtype=np.int64)
    wz = np.asarray(node.w_zero, dtype=np.int64)
    if node.pair_saturation:
        acc = _pair_saturated_dot(x, w + 0, node.x_zero, wz)
    else:
        acc = _matmul_exact(x - node.x_zero, (w - wz[:, None]).T)
    if node.bias is not None:
        acc = acc + np.asarray(node.bias, dtype=np.int64)
    return wrap(acc, node.acc_bits)


def eval_conv2d(node: ops.Conv2d, x: np.ndarray) -> np.ndarray:
    n, c, h, w_ = x.shape
    weight = np.asarray(node.weight, dtype=np.int64)
    o, cg, kh, kw = weight.shape
    ph, pw = node.padding
    oh = conv_out_size(h, kh, node.stride[0], ph, node.dilation[0])
    ow = conv_out_size(w_, kw, node.stride[1], pw, node.dilation[1])
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=node.x_zero)
    win = windows(xp, (kh, kw), node.stride, node.dilation, (oh, ow))  # [N,C,OH,OW,kh,kw]
    g = node.groups
    og = o // g
    wz = np.asarray(node.w_zero, dtype=np.int64)
    outs = []
    for gi in range(g):
        wg = weight[gi * og : (gi + 1) * og]  # [og, cg, kh, kw]
        wzg = wz[gi * og : (gi + 1) * og]
        # columns ordered (kh, kw, ic): fbgemm's im2col order, which matters for pair saturation
        cols = win[:, gi * cg : (gi + 1) * cg].transpose(0, 2, 3, 4, 5, 1).reshape(n * oh * ow, kh * kw * cg)
        wm = wg.transpose(0, 2, 3, 1).reshape(og, kh * kw * cg)
        if node.pair_saturation:
            acc = _pair_saturated_dot(cols, wm, node.x_zero, wzg)
        else:
            acc = _matmul_exact(cols - node.x_zero, (wm - wzg[:, None]).T)
        outs.append(acc.reshape(n, oh, ow, og))
    acc = np.concatenate(outs, axis=3).transpose(0, 3, 1, 2)
    if node.bias is not None:
        acc = acc + np.asarray(node.bias, dtype=np.int64)[None, :, None, None]
    return wrap(acc, node.acc_bits)


def eval_requantize(node: ops.Requantize, acc: np.ndarray) -> np.ndarray:
    prof = get_profile(node.profile)
    moved = np.moveaxis(acc, 1, -1)
    q = prof.apply(moved, node.params)
    return np.moveaxis(np.clip(q, node.lo, node.hi), -1, 1)


def eval_clamp(node: ops.Clamp, x: np.ndarray) -> np.ndarray:
    return np.clip(x, node.lo, node.hi)


def maxpool_taps(node: ops.MaxPool2d, x: np.ndarray, fill: int) -> np.ndarray:
    """Every window's taps, [n, c, oh, ow, kh, kw]: padding holds ``fill``, or repeats the
    edge in qnnpack's edge mode (every tap index clamped into the input)."""
    n, c, h, w = x.shape
    kh, kw = node.kernel
    (sh, sw), (ph, pw), (dh, dw) = node.stride, node.padding, node.dilation
    oh = conv_out_size(h, kh, sh, ph, dh, node.ceil_mode)
    ow = conv_out_size(w, kw, sw, pw, dw, node.ceil_mode)
    extra_h = max(0, (oh - 1) * sh + dh * (kh - 1) + 1 - (h + 2 * ph))
    extra_w = max(0, (ow - 1) * sw + dw * (kw - 1) + 1 - (w + 2 * pw))
    pads = ((0, 0), (0, 0), (ph, ph + extra_h), (pw, pw + extra_w))
    xp = np.pad(x, pads, mode="edge") if node.pad_mode == "edge" else np.pad(x, pads, constant_values=fill)
    return windows(xp, node.kernel, node.stride, node.dilation, (oh, ow))


def eval_maxpool(node: ops.MaxPool2d, x: np.ndarray) -> np.ndarray:
    return np.maximum(maxpool_taps(node, x, np.iinfo(np.int64).min).max(axis=(4, 5)), node.floor)


def eval_avgpool(node: ops.AvgPool2d, x: np.ndarray) -> np.ndarray:
    from bvverify.runtimes.pooling import avgpool2d

    return avgpool2d(node, x)


def eval_add(node: ops.Add, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from bvverify.runtimes.elementwise import add

    return add(node, a, b)


def eval_lookup(node: ops.Lookup, x: np.ndarray) -> np.ndarray:
    table = np.asarray(node.table, dtype=np.int64)
    idx = x - node.domain_lo
    if idx.size and (idx.min() < 0 or idx.max() >= len(table)):
        raise UnsupportedOpError(f"{node.name}: code outside the lookup table's domain")
    return table[idx]


def eval_concat(node: ops.Concat, *xs: np.ndarray) -> np.ndarray:
    return np.concatenate(xs, axis=node.axis + 1)


def eval_reshape(node: ops.Reshape, x: np.ndarray) -> np.ndarray:
    return x.reshape((x.shape[0],) + tuple(node.shape))


EVAL: dict[type, Callable[..., np.ndarray]] = {
    ops.Dense: eval_dense,
    ops.Conv2d: eval_conv2d,
    ops.Requantize: eval_requantize,
    ops.Clamp: eval_clamp,
    ops.MaxPool2d: eval_maxpool,
    ops.AvgPool2d: eval_avgpool,
    ops.Add: eval_add,
    ops.Lookup: eval_lookup,
    ops.Concat: eval_concat,
    ops.Reshape: eval_reshape,
}


def refusal(table: str, op: type[ops.Node], why: str) -> Callable[..., NoReturn]:
    """The entry of a per-op table (this one or a later layer's) for an op it deliberately does
    not handle: calling it raises ``UnsupportedOpError`` naming the op, so a refusal is explicit
    and testable rather than a silent gap. ``refuses`` marks it for the op-coverage test."""

    def refuse(*args: object, **kwargs: object) -> NoReturn:
        raise UnsupportedOpError(f"{table}: op {op.__name__} is not supported ({why})")

    refuse.refuses = op  # type: ignore[attr-defined]
    return refuse


def run(nodes: tuple[ops.Node, ...], codes: np.ndarray, want: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Evaluate nodes in order on a batch of input codes; return the tensors in
    ``want``. Intermediate tensors are dropped after their last use."""
    last_use: dict[str, int] = {}
    for i, node in enumerate(nodes):
        for name in node.inputs:
            last_use[name] = i
    env: dict[str, np.ndarray] = {"input": np.asarray(codes, dtype=np.int64)}
    for i, node in enumerate(nodes):
        fn = EVAL.get(type(node))
        if fn is None:
            raise UnsupportedOpError(f"{node.name}: no reference semantics for op {node.op}")
        env[node.name] = fn(node, *(env[n] for n in node.inputs))
        for name in node.inputs:
            if last_use.get(name) == i and name not in want:
                env.pop(name, None)
    return {name: env[name] for name in want}
