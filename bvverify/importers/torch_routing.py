"""Which kernel torch runs a quantized Conv2d on, per engine and deployment target.

These are measured facts about torch's x86 kernels (each rule says what was measured),
not derived from a formula: the importer consults them to pick the exact integer model
(pair-saturating accumulators, oneDNN's refused requantization, exact groupwise sums).
"""

from __future__ import annotations

import numpy as np

from bvverify.runtimes.target import Target


def onednn_conv_route(engine: str, groups: int, w_zero: np.ndarray, target: Target) -> bool:
    """Whether torch's x86 engine runs this Conv2d through oneDNN (semantics.md)."""
    return engine == "x86" and groups <= 100 and not np.any(w_zero) and target.onednn_conv


def fbgemm_groupwise(c_in: int, weight_shape: tuple[int, ...], conv: dict, target: Target) -> bool:
    """Whether fbgemm runs this conv on its groupwise kernel (``fbgemmOptimizedGConv``), which
    accumulates exactly on every target (measured: 0 of 144,000 outputs differ on the AVX2 path
    where the pair-saturating GEMM model differs on 26,070). How many groups it packs together
    depends on the CPU's AVX-512 support (cpuinfo), not on FBGEMM_ENABLE_INSTRUCTIONS."""
    o, cg, kh, kw = weight_shape
    g = conv["groups"]
    if o != g * cg or cg not in (2, 4, 8, 16):
        return False
    width = 64 if target.cpu != "avx2" else 32
    together = max(width // cg // max(cg, 4), 1)
    return (g >= together and (kh, kw) == (3, 3) and tuple(conv["padding"]) == (1, 1)
            and tuple(conv["dilation"]) == (1, 1) and conv["stride"][0] == conv["stride"][1] and conv["stride"][0] in (1, 2))


def fbgemm_depthwise(c_in: int, weight_shape: tuple[int, ...], conv: dict) -> bool:
    """Whether fbgemm runs this conv on its depthwise kernel, whose accumulator
    saturates adjacent tap-pair sums to int16 (measured: 0 mismatches on 238k outputs)."""
    o, cg, kh, kw = weight_shape
    g = conv["groups"]
    return (g == c_in and cg == 1 and o in (g, 2 * g) and g % 8 == 0 and all(s in (1, 2) for s in conv["stride"])
            and kh == kw and kh in (3, 5) and tuple(conv["padding"]) == ((kh - 1) // 2,) * 2
            and tuple(conv["dilation"]) == (1, 1))


__all__ = ["fbgemm_depthwise", "fbgemm_groupwise", "onednn_conv_route"]
