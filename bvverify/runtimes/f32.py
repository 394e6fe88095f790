"""Float32 arithmetic exactly as a C runtime does it.

numpy float32 ops round each result once to nearest-even, which is what the
runtimes' scalar and SIMD code does for +, -, *, /. The one thing numpy lacks
is a float32 fused multiply-add (a single rounding of ``a*b + c``); ``fma32``
provides it exactly.
"""

from __future__ import annotations

import numpy as np

F32 = np.float32


def f32(x: object) -> np.ndarray:
    """Round to float32 (RN)."""
    return np.asarray(x, dtype=np.float64).astype(np.float32)


def recip32(x: object) -> np.ndarray:
    """RN(1 / x) in float32."""
    return np.float32(1.0) / f32(x)


def fma32(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """RN(a*b + c) with a single rounding, for float32 a, b, c.

    a*b is exact in float64 (24+24 bit significands). The float64 sum s = p + c
    may round; its error e is recovered with TwoSum. Rounding s to float32 is
    then wrong only when s lies exactly half-way between two float32 values and
    e != 0 (double rounding); there the sign of e picks the neighbour.
    """
    a64 = np.asarray(a, dtype=np.float32).astype(np.float64)
    b64 = np.asarray(b, dtype=np.float32).astype(np.float64)
    c64 = np.asarray(c, dtype=np.float32).astype(np.float64)
    p = a64 * b64
    s = p + c64
    bb = s - p
    e = (p - (s - bb)) + (c64 - bb)
    r = s.astype(np.float32)
    r64 = r.astype(np.float64)
    up = np.nextafter(r, np.float32(np.inf))
    down = np.nextafter(r, np.float32(-np.inf))
    with np.errstate(invalid="ignore"):
        mid_above = (s > r64) & (s == r64 + (up.astype(np.float64) - r64) / 2)
        mid_below = (s < r64) & (s == r64 - (r64 - down.astype(np.float64)) / 2)
    out = np.where(mid_above & (e > 0), up, np.where(mid_below & (e < 0), down, r))
    return np.asarray(out, dtype=np.float32)


def rne_int(x: np.ndarray, limit: float = 2.0**40) -> np.ndarray:
    """Round float to nearest integer, ties to even, as int64.

    Values are clipped to +-limit first so huge or infinite floats cannot
    overflow int64; clipping is monotone, so step-function structure survives.
    """
    x64 = np.clip(np.asarray(x, dtype=np.float64), -limit, limit)
    return np.rint(x64).astype(np.int64)


def int_to_f32(acc: np.ndarray) -> np.ndarray:
    """float32(acc) for an integer accumulator (rounds when |acc| > 2^24)."""
    return np.asarray(acc, dtype=np.int64).astype(np.float64).astype(np.float32)
