"""oneDNN Conv2d requantization, as torch's ``x86`` engine runs it.

On Linux with AVX512-VNNI torch routes eligible Conv2d layers of the ``x86``
engine to oneDNN (groups <= 100, all weight zero points 0). Measured on torch
2.13 / oneDNN 3.12 (0 mismatches on 3.07M random and 26.2M near-tie outputs of
the general and depthwise kernels; semantics.md's two-step scaling was off at
ties): one combined per-channel scale, then a plain bias add::

    s' = RN(1 / RN(1 / s_in));   c = RN(s' * sw)
    x  = RN(RN(float32(acc) * c) + b)
    q  = rne(RN(RN(x * RN(1/s_out)) + z_out))
"""

from __future__ import annotations

import numpy as np

from bvverify.runtimes.base import Params, Profile, check_finite, check_scale, register
from bvverify.runtimes.f32 import f32, int_to_f32, rne_int


def apply(acc: np.ndarray, params: Params) -> np.ndarray:
    one = np.float32(1.0)
    s_in = one / (one / f32(params["s_in"]))
    c = (s_in * f32(params["sw"])).astype(np.float32)
    x = (int_to_f32(acc) * c).astype(np.float32) + f32(params["bias"])
    y = (x * (one / f32(params["s_out"]))) + f32(params["z_out"])
    return rne_int(y)


def check(params: Params) -> None:
    for k in ("s_in", "sw", "s_out"):
        check_scale(k, params[k])
    check_finite("bias", params["bias"])


def describe(params: Params) -> str:
    return "oneDNN float32 requant (torch x86 engine Conv2d), float bias, zero point added in float"


PROFILE = register(Profile("onednn", apply, check, describe))
