"""PyTorch qnnpack requantization (bias quantized to int32 first).

semantics.md, measured on torch 2.13::

    req = RN(RN(sw * s_in) * RN(1/s_out))
    bq  = rne(RN(b * RN(1 / RN(sw * s_in))))   # sw*s_in in double, then cast
    acc = sum (qa - za)(qw - zw) + bq          # the bias lives in the accumulator
    q   = rne(RN(float32(acc) * req)) + z_out
"""

from __future__ import annotations

import numpy as np

from bvverify.runtimes.base import Params, Profile, check_scale, register
from bvverify.runtimes.f32 import f32, int_to_f32, rne_int


def multiplier(params: Params) -> np.ndarray:
    s_in = f32(params["s_in"])
    sw = f32(params["sw"])
    inv_out = np.float32(1.0) / f32(params["s_out"])
    return np.asarray((sw * s_in) * inv_out, dtype=np.float32)


def quantize_bias(bias: np.ndarray, sw: np.ndarray, s_in: float) -> np.ndarray:
    """The int32 bias qnnpack adds to the accumulator."""
    prod = f32(np.asarray(sw, dtype=np.float32).astype(np.float64) * np.float64(np.float32(s_in)))
    inv = np.float32(1.0) / prod
    return rne_int(f32(bias) * inv)


def apply(acc: np.ndarray, params: Params) -> np.ndarray:
    y = int_to_f32(acc) * multiplier(params)
    return rne_int(y) + np.asarray(params["z_out"], dtype=np.int64)


def check(params: Params) -> None:
    for k in ("s_in", "sw", "s_out"):
        check_scale(k, params[k])
    check_scale("requantization scale", multiplier(params))


def describe(params: Params) -> str:
    m = multiplier(params)
    return f"qnnpack float32 requant, M in [{m.min():.4g}, {m.max():.4g}], int32 bias"


PROFILE = register(Profile("qnnpack", apply, check, describe))
