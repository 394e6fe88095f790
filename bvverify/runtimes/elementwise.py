"""Elementwise quantized ops as torch 2.13 computes them (measured, 1 thread):
add / add_relu, and the requantization of concat inputs.

fbgemm / x86 add, per element of one sample in memory order (block of 64):

- vector path (flat index < 64*floor(numel/64)): ``da = fma(sa, qa, RN(sa*-za))``,
  likewise ``db``; ``c = RN(da + db)``; relu: ``max(c, 0)``; ``q = vec(c)``
  (``rne(RN(c*RN(1/so))) + zo`` with int32 wrap);
- scalar tail: ``da = RN(sa*(qa-za))``, ...; ``q = val(c)`` (zero point added in float).

qnnpack add is fixed point and position independent: ratios ``RN(sa/so)``, ``RN(sb/so)``,
``shift = 21 - exponent(max ratio)``, integer multipliers, round half away from zero.

The position rule is per sample: a batch of N in torch puts the scalar tail at the
end of the whole batch, so a sample's result can depend on its batch; bvverify
models the deployed single-sample call.
"""

from __future__ import annotations

import numpy as np

from bvverify.errors import UnsupportedOpError
from bvverify.runtimes.f32 import f32, fma32
from bvverify.runtimes.quantize import dequantize
from bvverify.runtimes.torch_quantize import q_fbgemm, q_val, q_vec

F32 = np.float32
ADD_RULES = ("torch_fbgemm", "torch_x86", "torch_qnnpack")
VEC_BLOCK = 64


def vector_mask(shape: tuple[int, ...], channels_last: bool) -> np.ndarray:
    """Elements (logical layout, one sample) that torch adds on the vector path."""
    n = int(np.prod(shape))
    flat = np.arange(n) < (n // VEC_BLOCK) * VEC_BLOCK
    if channels_last and len(shape) == 3:
        c, h, w = shape
        return flat.reshape(h, w, c).transpose(2, 0, 1)
    return flat.reshape(shape)


def _fbgemm_add(p, a: np.ndarray, b: np.ndarray, relu: bool, channels_last: bool) -> np.ndarray:
    sa, sb, so = F32(p["sa"]), F32(p["sb"]), F32(p["s_out"])
    za, zb, zo = int(p["za"]), int(p["zb"]), int(p["z_out"])
    da = fma32(sa, a.astype(F32), F32(sa * F32(-za)))
    db = fma32(sb, b.astype(F32), F32(sb * F32(-zb)))
    cv = (da + db).astype(F32)
    ds = (sa * (a - za).astype(F32)).astype(F32)
    dbs = (sb * (b - zb).astype(F32)).astype(F32)
    cs = (ds + dbs).astype(F32)
    if relu:
        cv = np.maximum(cv, F32(0))
        cs = np.maximum(cs, F32(0))
    mask = vector_mask(a.shape[1:], channels_last)[None]
    return np.where(mask, q_vec(cv, F32(1.0) / so, zo), q_val(cs, float(so), zo))


def qnnpack_multipliers(p) -> tuple[int, int, int]:
    """(a multiplier, b multiplier, shift); raises where torch's qnnpack raises."""
    ac = F32(F32(p["sa"]) / F32(p["s_out"]))
    bc = F32(F32(p["sb"]) / F32(p["s_out"]))
    for r in (ac, bc):
        if not (2.0**-14 <= float(r) < 256.0):
            raise UnsupportedOpError(f"qnnpack add: scale ratio {float(r):.6g} outside [2^-14, 2^8) (torch refuses it too)")
    e = int(np.array(max(ac, bc), F32).view(np.uint32) >> 23) - 127
    shift = 21 - e
    return int(np.rint(np.float64(ac) * 2.0**shift)), int(np.rint(np.float64(bc) * 2.0**shift)), shift


def _qnnpack_add(p, a: np.ndarray, b: np.ndarray, relu: bool) -> np.ndarray:
    am, bm, shift = qnnpack_multipliers(p)
    zo = int(p["z_out"])
    acc = am * (a - int(p["za"])) + bm * (b - int(p["zb"]))
    mask = (1 << shift) - 1
    rem = (acc & mask) - (acc < 0)
    y = (acc >> shift) + (rem > (mask >> 1))
    return np.clip(y + zo, zo if relu else 0, 255)


def add(node, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if node.rule in ("torch_fbgemm", "torch_x86"):
        q = _fbgemm_add(node.params, a, b, node.relu, node.channels_last)
    elif node.rule == "torch_qnnpack":
        q = _qnnpack_add(node.params, a, b, node.relu)
    else:
        raise UnsupportedOpError(f"{node.name}: add rule {node.rule!r} unknown (known: {', '.join(ADD_RULES)})")
    return np.clip(q, node.lo, node.hi)


def requant_table(lo: int, hi: int, s_in: float, z_in: int, s_out: float, z_out: int, scalar_path: bool) -> np.ndarray:
    """torch quantized.cat's per-element map for codes lo..hi: dequantize
    ``RN(s_in*(q-z_in))``, then quantize with fbgemm::Quantize (general path) or
    quantize_val (the channels-last scalar fast path)."""
    codes = np.arange(lo, hi + 1, dtype=np.int64)
    x = dequantize(codes, s_in, z_in)
    return q_val(x, s_out, z_out) if scalar_path else q_fbgemm(x, s_out, z_out)


__all__ = ["ADD_RULES", "add", "f32", "qnnpack_multipliers", "requant_table", "vector_mask"]
