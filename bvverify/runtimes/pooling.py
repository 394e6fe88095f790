"""Quantized average pooling as the torch engines compute it (output qparams =
input qparams). fbgemm / x86: ``rne(sum q / n)``; qnnpack:
``rne((sum q - z*n) / n) + z``; they differ at .5 ties when z is odd."""

from __future__ import annotations

import numpy as np

from bvverify.errors import UnsupportedOpError


def _window_sums(node, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from bvverify.ir.interp import conv_out_size, windows

    n, c, h, w = x.shape
    kh, kw = node.kernel
    (sh, sw), (ph, pw) = node.stride, node.padding
    oh = conv_out_size(h, kh, sh, ph, 1, node.ceil_mode)
    ow = conv_out_size(w, kw, sw, pw, 1, node.ceil_mode)
    extra_h = max(0, (oh - 1) * sh + kh - (h + 2 * ph))
    extra_w = max(0, (ow - 1) * sw + kw - (w + 2 * pw))
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph + extra_h), (pw, pw + extra_w)))
    sums = windows(xp, node.kernel, node.stride, (1, 1), (oh, ow)).sum(axis=(4, 5))
    # divisor per output position, torch's rule
    hs = np.arange(oh) * sh - ph
    ws = np.arange(ow) * sw - pw
    he = np.minimum(hs + kh, h + ph)
    we = np.minimum(ws + kw, w + pw)
    if node.divisor_override:
        div = np.full((oh, ow), node.divisor_override, dtype=np.int64)
    elif node.count_include_pad:
        div = (he - hs)[:, None] * (we - ws)[None, :]
    else:
        div = (np.minimum(he, h) - np.maximum(hs, 0))[:, None] * (np.minimum(we, w) - np.maximum(ws, 0))[None, :]
    return sums, div


def avgpool2d(node, x: np.ndarray) -> np.ndarray:
    sums, div = _window_sums(node, x)
    if node.rule == "fbgemm":
        q = np.rint(sums / div)
    elif node.rule == "qnnpack":
        q = np.rint((sums - node.zero_point * div) / div) + node.zero_point
    else:
        raise UnsupportedOpError(f"{node.name}: average-pool rule {node.rule!r} unknown")
    return np.clip(q.astype(np.int64), node.lo, node.hi)
