"""PyTorch fbgemm (and the ``x86`` engine's Linear) requantization.

Bias stays float32 and is folded in float, after converting the accumulator
(semantics.md, measured on torch 2.13)::

    atws = RN(s_in * sw);  M = RN(atws / s_out)
    bt   = per_channel ? RN(b / atws) : RN(b * RN(1/atws))
    y    = RN(RN(RN(float32(acc)) + bt) * M)
    q    = rne(y) + z_out            (then the node clamps)
"""

from __future__ import annotations

import numpy as np

from bvverify.runtimes.base import Params, Profile, check_finite, check_scale, register
from bvverify.runtimes.f32 import f32, int_to_f32, rne_int


def derived(params: Params) -> tuple[np.ndarray, np.ndarray]:
    """(M, bt) per channel, in float32, exactly as fbgemm precomputes them."""
    s_in = f32(params["s_in"])
    sw = f32(params["sw"])
    s_out = f32(params["s_out"])
    atws = s_in * sw
    m = atws / s_out
    b = f32(params["bias"])
    if int(np.asarray(params["per_channel"]).ravel()[0]):
        bt = b / atws
    else:
        bt = b * (np.float32(1.0) / atws)
    return m.astype(np.float32), np.asarray(bt, dtype=np.float32)


def apply(acc: np.ndarray, params: Params) -> np.ndarray:
    m, bt = derived(params)
    y = (int_to_f32(acc) + bt) * m
    return rne_int(y) + np.asarray(params["z_out"], dtype=np.int64)


def check(params: Params) -> None:
    for k in ("s_in", "sw", "s_out"):
        check_scale(k, params[k])
    check_finite("bias", params["bias"])
    m, bt = derived(params)
    check_scale("multiplier s_in*sw/s_out", m)
    check_finite("bias / (s_in*sw)", bt)


def describe(params: Params) -> str:
    m, _ = derived(params)
    return f"fbgemm float32 requant, M in [{m.min():.4g}, {m.max():.4g}], float bias"


PROFILE = register(Profile("fbgemm", apply, check, describe))
