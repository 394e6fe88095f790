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


def fma32(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """RN(a*b + c) with a single rounding, for float32 a, b, c.

    a*b is exact in float64 (24+24 bit significands). The float64 sum s = p + c
    may round; its error e is recovered with TwoSum. Rounding s to float32 is
    then wrong only when s lies exactly half-way between two float32 values and
    e != 0 (double rounding); there the sign of e picks the neighbour.
    """
    if np.broadcast_shapes(np.shape(a), np.shape(b), np.shape(c)) == ():  # scalars: the slow path indexes arrays
        return fma32(np.reshape(a, (1,)), np.reshape(b, (1,)), np.reshape(c, (1,))).reshape(())
    a64 = np.asarray(a, dtype=np.float32).astype(np.float64)
    b64 = np.asarray(b, dtype=np.float32).astype(np.float64)
    c64 = np.asarray(c, dtype=np.float32).astype(np.float64)
    p = a64 * b64
    s = p + c64
    r = s.astype(np.float32)
    # Only a float64 sum lying exactly on a float32 half-way point can double-round:
    # its 29 low significand bits are then 1000...0. (Tiny sums, where float32 is
    # subnormal, go the slow way too.) The rest keep r.
    low = np.asarray(s).view(np.int64) & ((1 << 29) - 1)
    suspect = (low == (1 << 28)) | (np.abs(s) < 2.0**-125)
    if np.any(suspect):
        p_b, c_b = np.broadcast_to(p, s.shape), np.broadcast_to(c64, s.shape)
        idx = np.nonzero(suspect)
        ps, cs, ss = p_b[idx], c_b[idx], s[idx]
        bb = ss - ps
        e = (ps - (ss - bb)) + (cs - bb)  # TwoSum: the exact error of s = p + c
        rs = r[idx]
        r64 = rs.astype(np.float64)
        up = np.nextafter(rs, np.float32(np.inf))
        down = np.nextafter(rs, np.float32(-np.inf))
        with np.errstate(invalid="ignore"):
            mid_above = (ss > r64) & (ss == r64 + (up.astype(np.float64) - r64) / 2)
            mid_below = (ss < r64) & (ss == r64 - (r64 - down.astype(np.float64)) / 2)
        r = np.array(r, dtype=np.float32, copy=True)
        r[idx] = np.where(mid_above & (e > 0), up, np.where(mid_below & (e < 0), down, rs))
    return np.asarray(r, dtype=np.float32)


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
