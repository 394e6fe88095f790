"""Index geometry of the affine and windowed ops: which input elements feed which output
element. One definition for the reference interpreter and every encoder (bit-vector, ILP),
so they cannot disagree about a conv's padding or a pool's taps.
"""

from __future__ import annotations

import numpy as np

from bvverify.ir import ops
from bvverify.runtimes.sliding import conv_out_size

Row = tuple[np.ndarray, list[int], int]  # (coefficients, flat input indices, constant)
PairTaps = tuple[list[int], list[int | None], int]  # raw weights in K order, input index (None: padded), weight zp
Window = tuple[tuple[int, int, int], list[tuple[int, int]]]  # output element, its input taps (y, x)


def windows(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int],
            out_hw: tuple[int, int]) -> np.ndarray:
    """[N, C, OH, OW, kh, kw] view of the (already padded) x [N, C, H, W]."""
    kh, kw = kernel
    eff = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    v = np.lib.stride_tricks.sliding_window_view(x, eff, axis=(2, 3))
    v = v[:, :, :: stride[0], :: stride[1], :: dilation[0], :: dilation[1]]
    return v[:, :, : out_hw[0], : out_hw[1]]


def dense_rows(node: ops.Dense) -> tuple[list[Row], tuple[int, ...]]:
    """``acc_j = sum_i (w_ji - wz_j) * q_i + (bias_j - x_zero * sum_i (w_ji - wz_j))``."""
    w = np.asarray(node.weight, dtype=np.int64) - np.asarray(node.w_zero, dtype=np.int64)[:, None]
    bias = np.zeros(w.shape[0], np.int64) if node.bias is None else np.asarray(node.bias, dtype=np.int64)
    idx = list(range(w.shape[1]))
    return [(w[j], idx, int(bias[j]) - node.x_zero * int(w[j].sum())) for j in range(w.shape[0])], (w.shape[0],)


def conv_rows(node: ops.Conv2d, in_shape: tuple[int, ...]) -> tuple[list[Row], tuple[int, ...]]:
    """Rows of an (un-saturated) convolution; padded taps hold ``x_zero`` and so contribute 0."""
    c, h, wd = in_shape
    weight = np.asarray(node.weight, dtype=np.int64) - np.asarray(node.w_zero, dtype=np.int64)[:, None, None, None]
    o, cg, kh, kw = weight.shape
    (sh, sw), (ph, pw), (dh, dw) = node.stride, node.padding, node.dilation
    oh = conv_out_size(h, kh, sh, ph, dh)
    ow = conv_out_size(wd, kw, sw, pw, dw)
    og = o // node.groups
    bias = np.zeros(o, np.int64) if node.bias is None else np.asarray(node.bias, dtype=np.int64)
    rows: list[Row] = []
    for oc in range(o):
        g = oc // og
        for i in range(oh):
            for j in range(ow):
                coeffs, idx = [], []
                for ic in range(cg):
                    for p in range(kh):
                        y = i * sh - ph + p * dh
                        if not 0 <= y < h:
                            continue
                        for q in range(kw):
                            xx = j * sw - pw + q * dw
                            if 0 <= xx < wd:
                                coeffs.append(int(weight[oc, ic, p, q]))
                                idx.append(((g * cg + ic) * h + y) * wd + xx)
                rows.append((np.array(coeffs, dtype=np.int64), idx, int(bias[oc]) - node.x_zero * int(sum(coeffs))))
    return rows, (o, oh, ow)


def pair_taps(node: ops.Dense | ops.Conv2d, in_shape: tuple[int, ...]) -> tuple[list[PairTaps], tuple[int, ...]]:
    """Per output element, the raw weights in the kernel's K order (fbgemm's im2col order
    (kh, kw, ic) for convs) with padded taps kept (they hold ``x_zero``): the order in which a
    pair-saturating kernel forms its adjacent pairs."""
    weight = np.asarray(node.weight, dtype=np.int64)
    wz = np.asarray(node.w_zero, dtype=np.int64)
    if isinstance(node, ops.Dense):
        return [(list(weight[j]), list(range(weight.shape[1])), int(wz[j])) for j in range(weight.shape[0])], \
            (weight.shape[0],)
    c, h, wd = in_shape
    o, cg, kh, kw = weight.shape
    (sh, sw), (ph, pw), (dh, dw) = node.stride, node.padding, node.dilation
    oh = conv_out_size(h, kh, sh, ph, dh)
    ow = conv_out_size(wd, kw, sw, pw, dw)
    og = o // node.groups
    taps: list[PairTaps] = []
    for oc in range(o):
        g = oc // og
        for i in range(oh):
            for j in range(ow):
                ws: list[int] = []
                srcs: list[int | None] = []
                for p in range(kh):
                    y = i * sh - ph + p * dh
                    for q in range(kw):
                        xx = j * sw - pw + q * dw
                        for ic in range(cg):
                            ws.append(int(weight[oc, ic, p, q]))
                            inside = 0 <= y < h and 0 <= xx < wd
                            srcs.append(((g * cg + ic) * h + y) * wd + xx if inside else None)
                taps.append((ws, srcs, int(wz[oc])))
    return taps, (o, oh, ow)


def maxpool_windows(node: ops.MaxPool2d, in_shape: tuple[int, ...]) -> tuple[tuple[int, ...], list[Window]]:
    """Output shape and, per output element ``(ch, i, j)``, its distinct input taps ``(y, x)``
    (edge mode clamps taps into the input; ignore mode drops padded taps)."""
    c, h, wd = in_shape
    kh, kw = node.kernel
    (sh, sw), (ph, pw), (dh, dw) = node.stride, node.padding, node.dilation
    oh = conv_out_size(h, kh, sh, ph, dh, node.ceil_mode)
    ow = conv_out_size(wd, kw, sw, pw, dw, node.ceil_mode)
    out = []
    for ch in range(c):
        for i in range(oh):
            for j in range(ow):
                taps = set()
                for p in range(kh):
                    y = i * sh - ph + p * dh
                    for q in range(kw):
                        xx = j * sw - pw + q * dw
                        if node.pad_mode == "edge":
                            taps.add((min(max(y, 0), h - 1), min(max(xx, 0), wd - 1)))
                        elif 0 <= y < h and 0 <= xx < wd:
                            taps.add((y, xx))
                out.append(((ch, i, j), sorted(taps)))
    return (c, oh, ow), out


__all__ = ["PairTaps", "Row", "Window", "conv_rows", "dense_rows", "maxpool_windows", "pair_taps", "windows"]
