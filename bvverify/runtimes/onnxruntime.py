"""ONNX Runtime QLinearMatMul / QLinearConv requantization.

semantics.md, measured on onnxruntime 1.32::

    M = RN(RN(a_s * b_s) / y_s);   acc includes the int32 bias input
    q = rne(RN(float32(acc) * M)) + y_zp        (then saturate)
"""

from __future__ import annotations

import numpy as np

from bvverify.runtimes.base import Params, Profile, check_scale, register
from bvverify.runtimes.f32 import f32, int_to_f32, rne_int


def multiplier(params: Params) -> np.ndarray:
    return np.asarray((f32(params["s_in"]) * f32(params["sw"])) / f32(params["s_out"]), dtype=np.float32)


def apply(acc: np.ndarray, params: Params) -> np.ndarray:
    return rne_int(int_to_f32(acc) * multiplier(params)) + np.asarray(params["z_out"], dtype=np.int64)


def check(params: Params) -> None:
    for k in ("s_in", "sw", "s_out"):
        check_scale(k, params[k])
    check_scale("output multiplier", multiplier(params))


def describe(params: Params) -> str:
    m = multiplier(params)
    return f"onnxruntime QLinear float32 requant, M in [{m.min():.4g}, {m.max():.4g}]"


PROFILE = register(Profile("onnxruntime", apply, check, describe))
