"""Quantized average pooling as torch 2.13 computes it (output qparams = input qparams).

Padded positions contribute the zero point (real 0). With ``S`` the sum of the
valid codes of a window, ``size`` their count, ``acc = S - size*z``, ``pool`` the
window clipped to the padded input and ``n = divisor_override or (pool if
count_include_pad else size)``, ``m = RN(1/n)``:

- generic NCHW kernel (fbgemm / x86; qnnpack with ceil_mode):
  ``rne(RN(RN(acc*m) + z))``;
- NHWC kernel (channels-last input; also NCHW with C == 1 or H == W == 1):
  channels below ``B*floor(C/B)``: ``vec(acc, m, z)``; the rest ``val(acc, RN(1/m), z)``
  (see ``torch_quantize``), where ``B`` is the target's int32 vector width (16 with
  AVX-512, 8 with AVX2: ``AvgPool2d.vec_channels``);
- onnxruntime (``rule`` ``onnxruntime`` / ``onnxruntime_float``): ``runtimes.ort_pool``;
- qnnpack without ceil_mode: ignores count_include_pad and divisor_override,
  ``n = kh*kw``, ``rne(RN(acc * RN(s / RN(s*n)))) + z`` (depends on the scale ``s``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bvverify.errors import UnsupportedOpError
from bvverify.runtimes.ort_pool import (
    RULE_FLOAT,
    RULE_INT,
    RULES,
    check_ort_pool,
    float_avgpool,
    float_code_fn,
    ort_code_fn,
    ort_divisor,
    ort_taps,
)
from bvverify.runtimes.sliding import conv_out_size
from bvverify.runtimes.torch_quantize import q_val, q_vec

F32 = np.float32


def nhwc_kernel(shape: tuple[int, ...], channels_last: bool) -> bool:
    """Whether torch takes its channels-last kernel for an input of this (C, H, W)."""
    c, h, w = shape
    return channels_last or c == 1 or (h == 1 and w == 1)


@dataclass(frozen=True)
class PoolWindow:
    """One output position: valid input rows ``[h0, h1)`` and columns ``[w0, w1)``
    (``size`` taps), and the divisor ``n`` of its path."""

    oy: int
    ox: int
    h0: int
    h1: int
    w0: int
    w1: int
    n: int

    @property
    def size(self) -> int:
        return (self.h1 - self.h0) * (self.w1 - self.w0)


def _qnnpack_plain(node) -> bool:
    return node.rule == "qnnpack" and not node.ceil_mode


def avgpool_plan(node, shape: tuple[int, int, int]) -> tuple[tuple[int, int], list[PoolWindow]]:
    """Output (OH, OW) and every window of an input (C, H, W); raises where torch refuses."""
    c, h, w = shape
    kh, kw = node.kernel
    (sh, sw), (ph, pw) = node.stride, node.padding
    if _qnnpack_plain(node):
        if kh * kw == 1:
            raise UnsupportedOpError(f"{node.name}: qnnpack average pooling with a 1x1 kernel (torch refuses it)")
    elif node.rule in RULES:
        check_ort_pool(node, shape)
    elif node.rule not in ("fbgemm", "qnnpack"):
        raise UnsupportedOpError(f"{node.name}: average-pool rule {node.rule!r} unknown")
    oh, ow = conv_out_size(h, kh, sh, ph, 1, node.ceil_mode), conv_out_size(w, kw, sw, pw, 1, node.ceil_mode)
    wins = []
    for oy in range(oh):
        hs = oy * sh - ph
        he = min(hs + kh, h + ph)
        for ox in range(ow):
            ws = ox * sw - pw
            we = min(ws + kw, w + pw)
            pool = (he - hs) * (we - ws)
            h0, h1, w0, w1 = max(hs, 0), min(he, h), max(ws, 0), min(we, w)
            size = (h1 - h0) * (w1 - w0)
            if _qnnpack_plain(node):  # full kh x kw window (padded taps hold the zero point)
                n = kh * kw
            elif node.rule in RULES:
                n = ort_divisor(node, kh, kw, size)
            else:
                n = node.divisor_override or (pool if node.count_include_pad else size)
            wins.append(PoolWindow(oy, ox, h0, h1, w0, w1, n))
    return (oh, ow), wins


def avgpool_kind(node, shape: tuple[int, int, int], channel: int) -> str:
    """The arithmetic channel ``channel`` goes through: ``qnnpack``, ``nchw``, ``vec`` or ``val``."""
    if _qnnpack_plain(node):
        return "qnnpack"
    if node.rule in RULES:
        return "ort_int" if node.rule == RULE_INT else "ort_float"
    c = shape[0]
    if not nhwc_kernel(shape, node.channels_last):
        return "nchw"
    block = node.vec_channels
    return "vec" if channel < (c // block) * block else "val"


def avgpool_code_fn(node, kind: str, n: int) -> Callable[[np.ndarray], np.ndarray]:
    """The exact map ``acc -> output code`` (final clamp included) of one window,
    where ``acc = S - size*z`` (int64, any shape)."""
    if kind in ("ort_int", "ort_float"):
        return ort_code_fn(node, kind, n)
    z = int(node.zero_point)
    lo, hi = node.lo, node.hi
    if kind == "qnnpack":
        sc = F32(F32(node.scale) / F32(F32(node.scale) * F32(n)))

        def fn(acc: np.ndarray) -> np.ndarray:
            acc = np.asarray(acc, dtype=np.int64)
            out = np.rint((acc.astype(F32) * sc).astype(F32)).astype(np.int64) + z
            return np.clip(out, max(lo, 0), min(hi, 255))

        return fn
    m = F32(1.0 / n)
    if kind == "nchw":

        def fn(acc: np.ndarray) -> np.ndarray:
            a = np.asarray(acc, dtype=np.int64).astype(F32)
            r = np.rint((F32(z) + (a * m).astype(F32)).astype(F32).astype(np.float64))
            return np.clip(np.clip(r, 0, 255).astype(np.int64), lo, hi)

        return fn
    if kind == "vec":

        def fn(acc: np.ndarray) -> np.ndarray:
            return np.clip(q_vec(np.asarray(acc, dtype=np.int64).astype(F32), m, z), lo, hi)

        return fn
    if kind == "val":
        inv = float(F32(F32(1.0) / m))

        def fn(acc: np.ndarray) -> np.ndarray:
            return np.clip(q_val(np.asarray(acc, dtype=np.int64).astype(F32), inv, z), lo, hi)

        return fn
    raise UnsupportedOpError(f"unknown average-pool kind {kind!r}")


def avgpool_monotone(node, kind: str, n: int, acc_lo: int, acc_hi: int) -> bool:
    """Whether ``avgpool_code_fn(node, kind, n)`` is proven monotone on [acc_lo, acc_hi].

    Every path is a chain of monotone roundings of positive scalings, except the
    vector quantizer's int32 zero-point add, which wraps only past 2^31 (onnxruntime's
    paths clamp in float, or are checked below 2^30, before converting)."""
    if kind != "vec":
        return True
    return max(abs(acc_lo), abs(acc_hi)) <= 2**30 and abs(int(node.zero_point)) <= 2**29


def avgpool2d(node, x: np.ndarray) -> np.ndarray:
    n_, c, h, w = x.shape
    z = int(node.zero_point)
    (oh, ow), wins = avgpool_plan(node, (c, h, w))
    if node.rule == RULE_FLOAT:
        return float_avgpool(node, x, wins)
    kinds = [avgpool_kind(node, (c, h, w), ch) for ch in range(c)]
    groups = {k: np.array([ch for ch in range(c) if kinds[ch] == k]) for k in dict.fromkeys(kinds)}
    out = np.empty((n_, c, oh, ow), np.int64)
    for win in wins:
        acc = x[:, :, win.h0 : win.h1, win.w0 : win.w1].sum((2, 3)) - win.size * z
        for kind, chans in groups.items():
            out[:, chans, win.oy, win.ox] = avgpool_code_fn(node, kind, win.n)(acc[:, chans])
    return out


def table_proven(node, shape: tuple[int, int, int]) -> bool:
    """Whether an onnxruntime float pool has an exact integer-sum table for every window (see
    ``runtimes.ort_pool``); the bit-vector encoder writes the float kernel itself where not."""
    _, wins = avgpool_plan(node, shape)
    try:
        for n in sorted({w.n for w in wins}):
            float_code_fn(node, n, ort_taps(node, n))
    except UnsupportedOpError:
        return False
    return True


def window_code_fn(node, kind: str, win: PoolWindow, acc_lo: int, acc_hi: int) -> Callable[[np.ndarray], np.ndarray]:
    """``avgpool_code_fn`` for one window whose ``acc`` stays in [acc_lo, acc_hi]: the same function, but
    onnxruntime's float kernel needs its integer-sum table proven only on those sums (refused by name
    where even they are not; the bit-vector encoder then writes the float kernel itself)."""
    if kind == "ort_float":
        return ort_code_fn(node, kind, win.n, win.size, (acc_lo, acc_hi))
    return avgpool_code_fn(node, kind, win.n)
