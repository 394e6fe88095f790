"""Elementwise quantized ops as torch 2.13 computes them (measured, 1 thread):
add / add_relu, and the requantization of concat inputs.

fbgemm / x86 add, per element of one sample in memory order, in blocks of the
target's vector width ``B`` (64 codes with AVX-512, 32 with AVX2):

- vector path (flat index < B*floor(numel/B)): ``da = fma(sa, qa, RN(sa*-za))``,
  likewise ``db``; ``c = RN(da + db)``; relu: ``max(c, 0)``; ``q = vec(c)``
  (``rne(RN(c*RN(1/so))) + zo`` with int32 wrap);
- scalar tail: ``da = RN(sa*(qa-za))``, ...; ``q = val(c)`` (zero point added in float).

onnxruntime's QLinearAdd: see ``runtimes.ort_add`` (one path, position independent).

qnnpack add is fixed point and position independent: ratios ``RN(sa/so)``, ``RN(sb/so)``,
``shift = 21 - exponent(max ratio)``, integer multipliers, round half away from zero.

The position rule is per sample: a batch of N in torch puts the scalar tail at the
end of the whole batch, so a sample's result can depend on its batch; bvverify
models the deployed single-sample call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bvverify.errors import UnsupportedOpError
from bvverify.runtimes.f32 import f32, fma32
from bvverify.runtimes.ort_add import ort_add_path
from bvverify.runtimes.quantize import dequantize
from bvverify.runtimes.torch_quantize import q_fbgemm, q_val, q_vec

F32 = np.float32
ADD_RULES = ("torch_fbgemm", "torch_x86", "torch_qnnpack", "onnxruntime")
VEC_BLOCK = 64


def vector_mask(shape: tuple[int, ...], channels_last: bool, block: int = VEC_BLOCK) -> np.ndarray:
    """Elements (logical layout, one sample) that torch adds on the vector path."""
    n = int(np.prod(shape))
    flat = np.arange(n) < (n // block) * block
    if channels_last and len(shape) == 3:
        c, h, w = shape
        return flat.reshape(h, w, c).transpose(2, 0, 1)
    return flat.reshape(shape)


@dataclass(frozen=True)
class AddPath:
    """One arithmetic path of quantized add, split at its only mixing point:
    ``q(a, b) = out(fa(a) + fb(b))`` where the sum is float32 (one rounding) when
    ``floating`` and exact int64 otherwise. ``out`` applies relu, the quantizer
    and the node's clamp; ``monotone(lo, hi)`` says whether ``out`` is proven
    monotone non-decreasing for sums in [lo, hi]."""

    fa: Callable[[np.ndarray], np.ndarray]
    fb: Callable[[np.ndarray], np.ndarray]
    floating: bool
    out: Callable[[np.ndarray], np.ndarray]
    monotone: Callable[[float, float], bool]

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        s = self.fa(a) + self.fb(b)
        return self.out(s.astype(F32) if self.floating else s)


def _always(lo: float, hi: float) -> bool:
    return True


def _fbgemm_path(p, relu: bool, vector: bool, lo: int, hi: int) -> AddPath:
    sa, sb, so = F32(p["sa"]), F32(p["sb"]), F32(p["s_out"])
    za, zb, zo = int(p["za"]), int(p["zb"]), int(p["z_out"])
    if vector:

        def fa(a: np.ndarray) -> np.ndarray:
            return fma32(sa, np.asarray(a).astype(F32), F32(sa * F32(-za)))

        def fb(b: np.ndarray) -> np.ndarray:
            return fma32(sb, np.asarray(b).astype(F32), F32(sb * F32(-zb)))

        inv = F32(1.0) / so

        def out(c: np.ndarray) -> np.ndarray:
            if relu:
                c = np.maximum(c, F32(0))
            return np.clip(q_vec(c, inv, zo), lo, hi)

        def monotone(c_lo: float, c_hi: float) -> bool:
            # RN(c*inv) stays within 2^30 in magnitude: the int32 zero-point add cannot wrap
            return max(abs(c_lo), abs(c_hi)) * float(inv) <= 2.0**29 and abs(zo) <= 2**29

        return AddPath(fa, fb, True, out, monotone)

    def fa(a: np.ndarray) -> np.ndarray:
        return (sa * (np.asarray(a) - za).astype(F32)).astype(F32)

    def fb(b: np.ndarray) -> np.ndarray:
        return (sb * (np.asarray(b) - zb).astype(F32)).astype(F32)

    def out(c: np.ndarray) -> np.ndarray:
        if relu:
            c = np.maximum(c, F32(0))
        return np.clip(q_val(c, float(so), zo), lo, hi)

    return AddPath(fa, fb, True, out, _always)


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


def _qnnpack_path(p, relu: bool, lo: int, hi: int) -> AddPath:
    am, bm, shift = qnnpack_multipliers(p)
    za, zb, zo = int(p["za"]), int(p["zb"]), int(p["z_out"])
    mask = (1 << shift) - 1

    def fa(a: np.ndarray) -> np.ndarray:
        return am * (np.asarray(a, dtype=np.int64) - za)

    def fb(b: np.ndarray) -> np.ndarray:
        return bm * (np.asarray(b, dtype=np.int64) - zb)

    def out(acc: np.ndarray) -> np.ndarray:
        rem = (acc & mask) - (acc < 0)
        y = (acc >> shift) + (rem > (mask >> 1))
        return np.clip(np.clip(y + zo, zo if relu else 0, 255), lo, hi)

    return AddPath(fa, fb, False, out, _always)


def add_path(node, vector: bool) -> AddPath:
    """The arithmetic of the elements torch adds on the vector path (``vector``)
    or on the scalar tail; qnnpack has one path for every element."""
    if node.rule in ("torch_fbgemm", "torch_x86"):
        return _fbgemm_path(node.params, node.relu, vector, node.lo, node.hi)
    if node.rule == "torch_qnnpack":
        return _qnnpack_path(node.params, node.relu, node.lo, node.hi)
    if node.rule == "onnxruntime":  # one path for every element (runtimes.ort_add)
        if node.relu:
            raise UnsupportedOpError(f"{node.name}: onnxruntime's QLinearAdd has no fused relu")
        return ort_add_path(node)  # type: ignore[return-value]  (same interface as AddPath)
    raise UnsupportedOpError(f"{node.name}: add rule {node.rule!r} unknown (known: {', '.join(ADD_RULES)})")


def add_vector_mask(node, shape: tuple[int, ...]) -> np.ndarray:
    """Per element (logical layout, one sample): whether ``add_path(node, True)`` applies."""
    if node.rule in ("torch_fbgemm", "torch_x86"):
        return vector_mask(shape, node.channels_last, node.vec_block)
    return np.ones(shape, dtype=bool)


def add(node, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    vec = add_path(node, True)
    mask = add_vector_mask(node, a.shape[1:])[None]
    if mask.all():
        return vec(a, b)
    return np.where(mask, vec(a, b), add_path(node, False)(a, b))


def requant_table(lo: int, hi: int, s_in: float, z_in: int, s_out: float, z_out: int, scalar_path: bool) -> np.ndarray:
    """torch quantized.cat's per-element map for codes lo..hi: dequantize
    ``RN(s_in*(q-z_in))``, then quantize with fbgemm::Quantize (general path) or
    quantize_val (the channels-last scalar fast path)."""
    codes = np.arange(lo, hi + 1, dtype=np.int64)
    x = dequantize(codes, s_in, z_in)
    return q_val(x, s_out, z_out) if scalar_path else q_fbgemm(x, s_out, z_out)


__all__ = ["ADD_RULES", "AddPath", "add", "add_path", "add_vector_mask", "f32", "qnnpack_multipliers", "requant_table",
           "vector_mask"]
