"""Float -> integer-code input quantizers and output dequantizers.

The rounding rule is a parameter because runtimes differ exactly at ties:

- ``torch_fma``: ``rne(RN_fma(x * RN(1/s) + z))`` (QuantStub in torch 2.13, a fused
  multiply-add with one rounding);
- ``mul_inv``: ``rne(RN(x * RN(1/s))) + z`` (newer FBGEMM without the fused form);
- ``div``: ``rne(RN(x / s)) + z`` (ONNX Runtime QuantizeLinear).

All clamp to ``[qmin, qmax]``. The float input is first rounded to float32.
"""

from __future__ import annotations

import numpy as np

from bvverify.errors import QuantParamError
from bvverify.runtimes.f32 import f32, fma32, rne_int

RULES = ("torch_fma", "mul_inv", "div")


def quantize(x: np.ndarray, scale: float, zero_point: int, qmin: int, qmax: int, rule: str) -> np.ndarray:
    x32 = f32(x)
    s = np.float32(scale)
    z = np.int64(zero_point)
    if rule == "torch_fma":
        y = fma32(x32, np.float32(1.0) / s, np.float32(z))
        q = rne_int(y)
    elif rule == "mul_inv":
        q = rne_int(x32 * (np.float32(1.0) / s)) + z
    elif rule == "div":
        q = rne_int(x32 / s) + z
    else:
        raise QuantParamError(f"input quantizer rule {rule!r} unknown (known: {', '.join(RULES)})")
    return np.clip(q, qmin, qmax)


def dequantize(q: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """``RN(s * (q - z))`` in float32 (torch DeQuantStub, ORT DequantizeLinear)."""
    d = (np.asarray(q, dtype=np.int64) - np.int64(zero_point)).astype(np.float32)
    return (d * np.float32(scale)).astype(np.float32)
