"""Quantized average pooling as torch 2.13 computes it (output qparams = input qparams).

Padded positions contribute the zero point (real 0). With ``S`` the sum of the
valid codes of a window, ``size`` their count, ``acc = S - size*z``, ``pool`` the
window clipped to the padded input and ``n = divisor_override or (pool if
count_include_pad else size)``, ``m = RN(1/n)``:

- generic NCHW kernel (fbgemm / x86; qnnpack with ceil_mode):
  ``rne(RN(RN(acc*m) + z))``;
- NHWC kernel (channels-last input; also NCHW with C == 1 or H == W == 1):
  channels below ``16*floor(C/16)``: ``vec(acc, m, z)``; the rest ``val(acc, RN(1/m), z)``
  (see ``torch_quantize``);
- qnnpack without ceil_mode: ignores count_include_pad and divisor_override,
  ``n = kh*kw``, ``rne(RN(acc * RN(s / RN(s*n)))) + z`` (depends on the scale ``s``).
"""

from __future__ import annotations

import numpy as np

from bvverify.errors import UnsupportedOpError
from bvverify.runtimes.torch_quantize import q_val, q_vec

F32 = np.float32


def _out(n: int, k: int, s: int, p: int, ceil: bool) -> int:
    num = n + 2 * p - (k - 1) - 1 + ((s - 1) if ceil else 0)
    o = num // s + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def nhwc_kernel(shape: tuple[int, ...], channels_last: bool) -> bool:
    """Whether torch takes its channels-last kernel for an input of this (C, H, W)."""
    c, h, w = shape
    return channels_last or c == 1 or (h == 1 and w == 1)


def avgpool2d(node, x: np.ndarray) -> np.ndarray:
    n_, c, h, w = x.shape
    kh, kw = node.kernel
    (sh, sw), (ph, pw) = node.stride, node.padding
    z = int(node.zero_point)
    if node.rule == "qnnpack" and not node.ceil_mode:
        if kh * kw == 1:
            raise UnsupportedOpError(f"{node.name}: qnnpack average pooling with a 1x1 kernel (torch refuses it)")
        n = kh * kw
        sc = F32(F32(node.scale) / F32(F32(node.scale) * F32(n)))
        oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
        xp = np.pad(x - z, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        out = np.empty((n_, c, oh, ow), np.int64)
        for oy in range(oh):
            for ox in range(ow):
                acc = xp[:, :, oy * sh : oy * sh + kh, ox * sw : ox * sw + kw].sum((2, 3))
                out[:, :, oy, ox] = np.rint((acc.astype(F32) * sc).astype(F32)).astype(np.int64) + z
        return np.clip(out, max(node.lo, 0), min(node.hi, 255))
    if node.rule not in ("fbgemm", "qnnpack"):
        raise UnsupportedOpError(f"{node.name}: average-pool rule {node.rule!r} unknown")
    nhwc = nhwc_kernel((c, h, w), node.channels_last)
    oh, ow = _out(h, kh, sh, ph, node.ceil_mode), _out(w, kw, sw, pw, node.ceil_mode)
    out = np.empty((n_, c, oh, ow), np.int64)
    cvec = (c // 16) * 16
    for oy in range(oh):
        hs = oy * sh - ph
        he = min(hs + kh, h + ph)
        for ox in range(ow):
            ws = ox * sw - pw
            we = min(ws + kw, w + pw)
            pool = (he - hs) * (we - ws)
            h0, h1, w0, w1 = max(hs, 0), min(he, h), max(ws, 0), min(we, w)
            size = (h1 - h0) * (w1 - w0)
            s = x[:, :, h0:h1, w0:w1].sum((2, 3))
            n = node.divisor_override or (pool if node.count_include_pad else size)
            m = F32(1.0 / n)
            acc = (s - size * z).astype(F32)
            if not nhwc:
                r = np.rint((F32(z) + (acc * m).astype(F32)).astype(F32).astype(np.float64))
                out[:, :, oy, ox] = np.clip(r, 0, 255).astype(np.int64)
            else:
                rv = q_vec(acc, m, z)
                rs = q_val(acc, float(F32(F32(1.0) / m)), z)
                out[:, :, oy, ox] = np.where(np.arange(c)[None, :] < cvec, rv, rs)
    return np.clip(out, node.lo, node.hi)
