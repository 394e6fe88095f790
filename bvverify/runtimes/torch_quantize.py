"""The three float -> quint8 conversions inside torch's CPU kernels (measured on
torch 2.13, AVX512). Which one an op uses decides its result at ties.

- ``fbgemm``: ``fbgemm::Quantize`` array form: ``rne(fma(x, RN(1/s), z))`` (one rounding);
- ``vec``: ``Vectorized<quint8>::quantize``: ``rne(RN(x * inv)) + z`` where the int32
  add of the zero point wraps (so a huge positive value gives 0, not 255);
- ``val``: ``quantize_val`` scalar form: ``rne(RN(z + RN(x * RN(1/s))))``.

All clamp to [0, 255] at the end.
"""

from __future__ import annotations

import numpy as np

from bvverify.runtimes.f32 import f32, fma32

F32 = np.float32
_CVT_MAX = 2147483520.0  # largest float32 below 2^31


def _cvt(t: np.ndarray) -> np.ndarray:
    """cvtps2dq: round to nearest even; out of range gives INT32_MIN."""
    t64 = np.asarray(t, dtype=np.float64)
    r = np.rint(np.minimum(t64, _CVT_MAX))
    return np.where(r < -2147483648.0, -2147483648.0, r).astype(np.int64)


def q_fbgemm(x: np.ndarray, scale: float, z: int) -> np.ndarray:
    t = fma32(f32(x), F32(1.0) / F32(scale), F32(z))
    return np.clip(_cvt(t), 0, 255)


def q_vec(x: np.ndarray, inv_scale: np.float32, z: int) -> np.ndarray:
    t = (f32(x) * F32(inv_scale)).astype(F32)
    r = _cvt(t) + np.int64(z)
    r = (r + 2**31) % 2**32 - 2**31  # _mm512_add_epi32 wraps
    return np.clip(r, 0, 255)


def q_val(x: np.ndarray, scale: float, z: int) -> np.ndarray:
    inv = F32(1.0) / F32(scale)
    t = (F32(z) + (f32(x) * inv).astype(F32)).astype(F32)
    return np.clip(np.rint(np.clip(t.astype(np.float64), -1e12, 1e12)), 0, 255).astype(np.int64)
