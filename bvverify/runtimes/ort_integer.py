"""onnxruntime's ``MatMulInteger`` / ``ConvInteger`` int32 result turned back into codes by float
ops: ``Cast(to float) -> Mul(c) -> [Add(b)] -> [Relu | Clip(lo, hi)] -> QuantizeLinear(s, z)``,
each a separate onnxruntime CPU kernel rounding once to float32 (measured on onnxruntime 1.32:
0 mismatches on 88 million accumulators, dense sweeps over every output step and exact ties)::

    v = RN(float32(acc) * c);  v = RN(v + b);  v = min(max(v, lo), hi)
    q = rne(RN(v / s)) + z                       (then saturate)

``float32(acc)`` is ``cvtdq2ps`` (round to nearest even), ``Mul`` / ``Add`` are Eigen's
elementwise float32 ops (no fused multiply-add across kernels), ``QuantizeLinear`` is MLAS's
divide, round-to-even and saturate. With ``c > 0`` and ``s > 0`` every step is non-decreasing
in ``acc``, so the map is a step table like every other requantizer. A missing ``Mul`` is
``c = 1`` and a missing ``Add`` is ``b = 0`` (both exact: ``RN(v * 1) = RN(v + 0) = v``); a
missing clamp is ``[-inf, inf]``.
"""

from __future__ import annotations

import numpy as np

from bvverify.errors import QuantParamError
from bvverify.runtimes.base import Params, Profile, check_finite, check_scale, register
from bvverify.runtimes.f32 import int_to_f32, rne_int

F32 = np.float32
NAME = "onnxruntime_integer"


def apply(acc: np.ndarray, params: Params) -> np.ndarray:
    with np.errstate(over="ignore"):
        v = (int_to_f32(acc) * np.asarray(params["mul"], F32)).astype(F32)
        v = (v + np.asarray(params["bias"], F32)).astype(F32)
        v = np.minimum(np.maximum(v, np.asarray(params["clip_lo"], F32)), np.asarray(params["clip_hi"], F32))
        v = (v / np.asarray(params["s_out"], F32)).astype(F32)
    return rne_int(v) + np.asarray(params["z_out"], dtype=np.int64)


def check(params: Params) -> None:
    check_scale("mul", params["mul"])
    check_scale("s_out", params["s_out"])
    check_finite("bias", params["bias"])
    lo, hi = np.asarray(params["clip_lo"], np.float64), np.asarray(params["clip_hi"], np.float64)
    if np.any(np.isnan(lo)) or np.any(np.isnan(hi)) or np.any(lo > hi):
        raise QuantParamError(f"clip_lo / clip_hi: empty or NaN clamp [{lo}, {hi}]")


def describe(params: Params) -> str:
    m = np.asarray(params["mul"], F32)
    clamp = "" if np.all(np.isinf(np.asarray(params["clip_lo"]))) else ", clamped"
    return (f"onnxruntime int32 -> float32 Mul [{m.min():.4g}, {m.max():.4g}] + Add -> QuantizeLinear "
            f"(s={float(np.asarray(params['s_out'], F32)):.4g}{clamp})")


PROFILE = register(Profile(NAME, apply, check, describe))

__all__ = ["NAME", "PROFILE", "apply"]
