"""TFLite / gemmlowp fixed-point requantization (no floats at run time).

``MultiplyByQuantizedMultiplier(acc, m, shift)``: a left shift for positive
``shift``, ``SaturatingRoundingDoublingHighMul`` with the Q31 multiplier ``m``,
then ``RoundingDivideByPOT`` (round half away from zero) for negative ``shift``;
then ``+ z_out`` and the node's clamp.
"""

from __future__ import annotations

import math

import numpy as np

from bvverify.errors import QuantParamError
from bvverify.runtimes.base import Params, Profile, register

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def _wrap32(x: np.ndarray) -> np.ndarray:
    return ((x.astype(np.int64) + 2**31) % 2**32) - 2**31


def srdhm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SaturatingRoundingDoublingHighMul on int32 values (held in int64)."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    # |a*b| < 2^62: exact in int64
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    s = ab + nudge
    q = np.where(s >= 0, s // (1 << 31), -((-s) // (1 << 31)))  # C division truncates
    return np.where(overflow, INT32_MAX, q)


def rounding_divide_by_pot(x: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.int64)
    e = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << e) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> e) + (remainder > threshold)


def apply(acc: np.ndarray, params: Params) -> np.ndarray:
    m = np.asarray(params["multiplier"], dtype=np.int64)
    shift = np.asarray(params["shift"], dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    x = _wrap32(np.asarray(acc, dtype=np.int64) << left)
    return rounding_divide_by_pot(srdhm(x, m), right) + np.asarray(params["z_out"], dtype=np.int64)


def check(params: Params) -> None:
    m = np.asarray(params["multiplier"])
    shift = np.asarray(params["shift"])
    if np.any(m <= 0) or np.any(m > INT32_MAX):
        raise QuantParamError("multiplier: Q31 multiplier must be in [1, 2^31-1]")
    if np.any(shift > 30) or np.any(shift < -31):
        raise QuantParamError("shift: must be in [-31, 30]")


def monotone_range(params: Params) -> tuple[int, int]:
    left = int(np.max(np.maximum(np.asarray(params["shift"]), 0)))
    return (INT32_MIN >> left, INT32_MAX >> left)


def describe(params: Params) -> str:
    return "gemmlowp fixed point (Q31 multiplier, rounding right shift)"


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplier: real = m * 2^(shift-31), m in [2^30, 2^31)."""
    if not (real > 0 and math.isfinite(real)):
        raise QuantParamError(f"multiplier: real multiplier must be positive and finite, got {real}")
    frac, shift = math.frexp(real)
    q = round(frac * (1 << 31))
    if q == 1 << 31:
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return int(q), int(shift)


PROFILE = register(Profile("gemmlowp", apply, check, describe, monotone_range))
