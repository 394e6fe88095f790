"""onnxruntime's QLinearAdd (com.microsoft) as its x86 kernel computes it (MLAS
``MlasQLinearAddKernelAvx2Helper``, used on every AVX2 / AVX-512 host), both inputs
full tensors of one shape:

- ``ra = RN(sa / s_out)``, ``rb = RN(sb / s_out)`` (float32 divisions);
- ``fixed = RN(z_out - fma(ra, za, RN(rb * zb)))`` (the compiler contracts one product
  of the scalar setup into an fma: measured, the other orders mismatch);
- per element ``c = fma(a, ra, fma(b, rb, fixed))`` with the codes as floats;
- ``q = sat(cvt(c))``: ``cvtps2dq`` rounds to nearest even (and gives INT32_MIN past
  2^31), then two saturating packs clamp to the code type.

Every element goes through the same vector code (the tail of a row is computed in
a full vector too), so unlike torch's add the result never depends on the position.
In ``AddPath`` form: ``fa(a) = a*ra`` exactly (float64), ``fb(b) = fma(b, rb, fixed)``,
one float32 rounding of their sum. A scalar (broadcast) operand goes through
another formula (``RN(fixed + RN(b*rb))``); the importer refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bvverify.runtimes.f32 import fma32

F32 = np.float32
RULE = "onnxruntime"
_INT32_EDGE = 2.0**31


def _fma1(a: F32, b: F32, c: F32) -> F32:
    """A scalar fma32 (``fma32`` wants arrays)."""
    return fma32(np.array([a], F32), np.array([b], F32), np.array([c], F32))[0]


def ort_add_constants(p) -> tuple[F32, F32, F32]:
    """(ra, rb, fixed) exactly as the kernel's scalar setup computes them."""
    sa, sb, so = F32(p["sa"]), F32(p["sb"]), F32(p["s_out"])
    za, zb, zo = int(p["za"]), int(p["zb"]), int(p["z_out"])
    ra, rb = F32(sa / so), F32(sb / so)
    fixed = F32(F32(zo) - _fma1(ra, F32(za), F32(rb * F32(zb))))
    return ra, rb, fixed


def cvt_sat(c: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """``cvtps2dq`` (ties to even; NaN or |c| >= 2^31 give INT32_MIN) then saturation to [lo, hi]."""
    c64 = np.asarray(c, dtype=F32).astype(np.float64)
    bad = ~np.isfinite(c64) | (c64 >= _INT32_EDGE) | (c64 < -_INT32_EDGE)
    q = np.rint(np.where(bad, -_INT32_EDGE, c64)).astype(np.int64)
    return np.clip(q, lo, hi)


@dataclass(frozen=True)
class OrtAddPath:
    """The kernel's one arithmetic path (the ``AddPath`` interface of ``runtimes.elementwise``);
    ``__call__`` uses a true fma, so it is exact whatever the operand magnitudes."""

    ra: F32
    rb: F32
    fixed: F32
    lo: int
    hi: int
    floating: bool = True

    def fa(self, a: np.ndarray) -> np.ndarray:
        return np.asarray(a, dtype=np.int64).astype(np.float64) * np.float64(self.ra)  # exact: 9 x 24 bits

    def fb(self, b: np.ndarray) -> np.ndarray:
        b = np.asarray(b, dtype=np.int64)
        bf = b.astype(F32).ravel()
        t = fma32(bf, np.full(bf.shape, self.rb, F32), np.full(bf.shape, self.fixed, F32))
        return t.astype(np.float64).reshape(b.shape)

    def out(self, c: np.ndarray) -> np.ndarray:
        return cvt_sat(c, self.lo, self.hi)

    def bound(self) -> float:
        """A bound on |fa(a) + fb(b)| over every code pair (the kernel's whole reachable range)."""
        codes = np.arange(-128, 256, dtype=np.int64)
        return float(np.abs(self.fa(codes)).max() + np.abs(self.fb(codes)).max())

    def monotone(self, c_lo: float, c_hi: float) -> bool:
        # cvt is monotone below 2^31 in magnitude; past it INT32_MIN breaks the order
        return max(abs(c_lo), abs(c_hi), self.bound()) < _INT32_EDGE / 2

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        a, b = np.broadcast_arrays(a, b)
        t = self.fb(b).astype(F32).ravel()
        c = fma32(a.astype(F32).ravel(), np.full(t.shape, self.ra, F32), t)
        return self.out(c).reshape(a.shape)


def ort_add_path(node) -> OrtAddPath:
    ra, rb, fixed = ort_add_constants(node.params)
    return OrtAddPath(ra, rb, fixed, int(node.lo), int(node.hi))


__all__ = ["RULE", "OrtAddPath", "cvt_sat", "ort_add_constants", "ort_add_path"]
