"""Elementwise quantized ops as torch computes them: add / add_relu, and the
requantization of concat inputs whose qparams differ from the output's.

PROVISIONAL: dequantize both operands in float32, add, requantize with the
input-quantizer rounding. The measured per-path formula replaces this; until
then tests compare against torch and report mismatches.
"""

from __future__ import annotations

import numpy as np

from bvverify.errors import UnsupportedOpError
from bvverify.runtimes.f32 import f32, rne_int
from bvverify.runtimes.quantize import dequantize, quantize

ADD_RULES = ("torch_fbgemm", "torch_x86", "torch_qnnpack")


def add(node, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    p = node.params
    if node.rule not in ADD_RULES:
        raise UnsupportedOpError(f"{node.name}: add rule {node.rule!r} unknown (known: {', '.join(ADD_RULES)})")
    da = (a - np.int64(p["za"])).astype(np.float32) * f32(p["sa"])
    db = (b - np.int64(p["zb"])).astype(np.float32) * f32(p["sb"])
    c = da + db
    if node.relu:
        c = np.maximum(c, np.float32(0))
    q = rne_int(c * (np.float32(1) / f32(p["s_out"]))) + np.int64(p["z_out"])
    return np.clip(q, node.lo, node.hi)


def requant_table(lo: int, hi: int, s_in: float, z_in: int, s_out: float, z_out: int, engine: str) -> np.ndarray:
    """Output code for every input code lo..hi (dequantize, then quantize)."""
    codes = np.arange(lo, hi + 1, dtype=np.int64)
    return quantize(dequantize(codes, s_in, z_in), s_out, z_out, 0, 255, "torch_fma")
