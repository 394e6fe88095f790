"""onnxruntime's quantized average pooling (com.microsoft QLinearAveragePool and
QLinearGlobalAveragePool), as its CPU kernels compute it. Two arithmetics:

- ``onnxruntime`` (MLAS ``MlasQLinearGlobalAveragePool``: QLinearGlobalAveragePool, and
  QLinearAveragePool whose kernel covers the whole image without pads, which onnxruntime
  sends to the same kernel): an exact int32 sum ``acc = S - size*z`` and
  ``q = sat(rne(RN(float32(acc) * m)) + z_out)`` with ``m = RN(s_in / RN(s_out * size))``.
- ``onnxruntime_float`` (every other QLinearAveragePool): each tap dequantized to
  ``T(q) = RN(s_in * (q - z))``, the window's valid taps summed in float32 one by one
  (row-major order), ``RN(sum / n)`` with ``n = kh*kw`` (count_include_pad) or the
  number of valid taps, then ``q = sat(int(nearbyint(RN(RN(y / s_out) + z_out))))``.

The float path rounds after every tap, so its result is in general not a function of
the integer sum ``S`` (with equal input and output scales, every window sum on an output
tie is decided by the taps' rounding errors). It is one wherever the rounding cannot reach
an output rounding boundary: ``float_table_check`` proves, for every ``S`` a window can
reach, that every float32 sum consistent with ``S`` (an error bound from the dequantization
table and the partial sums' half-ulps) maps to one code. That code is then
``q(RN(s_in * S))``, and the node is exact as an integer sum plus a step table, like
torch's pools (``float_code_fn`` refuses by name where the proof fails).

The interpreter (and so the interval bounds: every step is monotone in every tap) runs the
float kernel itself (``float_avgpool``), exact in every case. Without the proof the
bit-vector encoder writes the float kernel itself (``encoders.bv_float_pool``;
``runtimes.pooling.table_proven`` says which) and the ILP encoder, which needs the
integer-sum split, refuses the node by name.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from bvverify.errors import UnsupportedOpError

F32 = np.float32
RULE_INT = "onnxruntime"
RULE_FLOAT = "onnxruntime_float"
RULES = (RULE_INT, RULE_FLOAT)
_INT32_EDGE = 2.0**31


def _cvt_sat(v: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """float32 -> int32 as x86 converts (INT32_MIN past 2^31 or NaN), then the saturation to [lo, hi]."""
    v64 = np.asarray(v, dtype=F32).astype(np.float64)
    bad = ~np.isfinite(v64) | (v64 >= _INT32_EDGE) | (v64 < -_INT32_EDGE)
    return np.clip(np.rint(np.where(bad, -_INT32_EDGE, v64)).astype(np.int64), lo, hi)


# ---- the integer-sum (global) path ----------------------------------------------------------


def global_multiplier(s_in: float, s_out: float, size: int, name: str) -> F32:
    """MLAS's ``RN(s_in / RN(s_out * size))``; refused where onnxruntime throws."""
    m = F32(F32(s_in) / F32(F32(s_out) * F32(size)))
    if size >= 0x1000000 or not (2.0**-32 <= float(m) < 256.0):
        raise UnsupportedOpError(f"{name}: QLinearGlobalAveragePool multiplier {float(m):.6g} (or image size {size}) "
                                 "outside onnxruntime's range [2^-32, 256): onnxruntime refuses to run it too")
    return m


def int_code_fn(node, n: int) -> Callable[[np.ndarray], np.ndarray]:
    m = global_multiplier(node.scale, node.out_scale, n, node.name)
    zo, lo, hi = int(node.out_zero_point), int(node.lo), int(node.hi)

    def fn(acc: np.ndarray) -> np.ndarray:
        a = np.asarray(acc, dtype=np.int64).astype(np.float64).astype(F32)  # cvtdq2ps
        v = (a * m).astype(F32)
        v = np.clip(v, F32(lo - zo), F32(hi - zo))  # MLAS clamps in float before converting
        return np.clip(np.rint(v.astype(np.float64)).astype(np.int64) + zo, lo, hi)

    return fn


# ---- the float path -----------------------------------------------------------------------


def float_out(y: np.ndarray, n: int, s_out: F32, zo: int, lo: int, hi: int) -> np.ndarray:
    """Finalize (``y / n``) and quantize_value of a float32 window sum ``y``."""
    v = (np.asarray(y, dtype=F32) / F32(n)).astype(F32)
    v = (v / s_out).astype(F32)
    v = (v + F32(zo)).astype(F32)
    return _cvt_sat(np.rint(v.astype(np.float64)).astype(F32), lo, hi)


def _half_ulp_bound(x: float) -> float:
    """An upper bound on half an ulp of any float32 of magnitude <= x."""
    if x <= 0:
        return 0.0
    return max(2.0 ** (math.floor(math.log2(x)) - 24), 2.0**-150)


def _below(v: np.ndarray) -> np.ndarray:
    """The largest float32 <= v (float64 v)."""
    f = v.astype(F32)
    return np.where(f.astype(np.float64) > v, np.nextafter(f, F32(-np.inf)), f)


def _above(v: np.ndarray) -> np.ndarray:
    f = v.astype(F32)
    return np.where(f.astype(np.float64) < v, np.nextafter(f, F32(np.inf)), f)


@lru_cache(maxsize=256)
def float_table_check(s_in: float, z: int, s_out: float, zo: int, lo: int, hi: int, n: int,
                      taps: tuple[int, ...]) -> tuple[int, ...]:
    """The window sums ``S`` (over windows of ``taps`` valid taps, divisor ``n``) whose output
    code is NOT proven to be a function of ``S`` alone; empty when the table is exact."""
    s, so = F32(s_in), F32(s_out)
    d = np.arange(lo - z, hi - z + 1, dtype=np.int64)
    exact = np.float64(s) * d.astype(np.float64)  # exact (24 x 9 bits)
    t = exact.astype(F32).astype(np.float64)  # T(q) = RN(s * (q - z))
    delta = t - exact  # exact (Sterbenz)
    max_t = float(np.abs(t).max())
    bad: list[int] = []
    for k in taps:
        partial = sum(_half_ulp_bound(j * max_t * (1 + 2.0**-20)) for j in range(2, k + 1))
        e_lo = k * float(delta.min()) - partial
        e_hi = k * float(delta.max()) + partial
        big = np.arange(k * int(d[0]), k * int(d[-1]) + 1, dtype=np.int64)
        centre = np.float64(s) * big.astype(np.float64)  # exact
        slack = (np.abs(centre) + abs(e_lo) + abs(e_hi)) * 2.0**-50 + 2.0**-149  # float64 rounding of these sums
        f_lo, f_hi = _below(centre + e_lo - slack), _above(centre + e_hi + slack)
        for f in (f_lo, f_hi):
            pre = ((f / F32(n)).astype(F32) / so).astype(F32).astype(np.float64) + zo
            if np.any(~np.isfinite(pre)) or np.abs(pre).max() >= _INT32_EDGE / 2:
                raise UnsupportedOpError(f"QLinearAveragePool: values reach 2^30 before the conversion to integer "
                                         f"(scales {float(s)}, {float(so)})")
        q_lo, q_hi = float_out(f_lo, n, so, zo, lo, hi), float_out(f_hi, n, so, zo, lo, hi)
        bad.extend(int(v) for v in big[q_lo != q_hi])
    return tuple(sorted(set(bad)))


def float_code_fn(node, n: int, taps: tuple[int, ...],
                  acc_range: tuple[int, int] | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """``acc = S - size*z`` -> code, exact for every S a window of ``taps`` valid taps with
    divisor ``n`` reaches, or only for S in ``acc_range`` (one output element's reachable sums):
    checked, refused by name otherwise."""
    lo, hi, z, zo = int(node.lo), int(node.hi), int(node.zero_point), int(node.out_zero_point)
    try:
        bad = float_table_check(float(F32(node.scale)), z, float(F32(node.out_scale)), zo, lo, hi, n, taps)
    except UnsupportedOpError as e:
        raise UnsupportedOpError(f"{node.name}: {e}") from None
    if acc_range is not None:
        bad = tuple(b for b in bad if acc_range[0] <= b <= acc_range[1])
    if bad:
        shown = ", ".join(map(str, bad[:5])) + (", ..." if len(bad) > 5 else "")
        raise UnsupportedOpError(
            f"{node.name}: onnxruntime's QLinearAveragePool sums the dequantized taps in float32, one rounding per "
            f"tap; with these scales the output code of {len(bad)} window sum(s) (S - size*zero_point = {shown}, "
            f"divisor {n}) depends on the taps themselves, not only on their sum, so it has no exact integer model "
            "(not supported here; the bit-vector engine, --engine bv, encodes the float kernel itself exactly; a "
            "GlobalAveragePool, or an AveragePool over the whole image without pads, runs an integer kernel)")
    s, so = F32(node.scale), F32(node.out_scale)

    def fn(acc: np.ndarray) -> np.ndarray:
        y = (np.float64(s) * np.asarray(acc, dtype=np.int64).astype(np.float64)).astype(F32)
        return float_out(y, n, so, zo, lo, hi)

    return fn


def float_avgpool(node, x: np.ndarray, wins, sums: bool = False) -> np.ndarray:
    """The float kernel itself, tap by tap (exact whether or not ``float_table_check`` proves a table):
    the interpreter's semantics of ``onnxruntime_float``; with ``sums`` the float32 window sums
    before the divisor (what the bit-vector lowering thresholds)."""
    n_, c = x.shape[:2]
    s, so = F32(node.scale), F32(node.out_scale)
    zo, lo, hi = int(node.out_zero_point), int(node.lo), int(node.hi)
    taps = (s * (np.asarray(x, dtype=np.int64) - int(node.zero_point)).astype(F32)).astype(F32)
    oh, ow = max(w.oy for w in wins) + 1, max(w.ox for w in wins) + 1
    out = np.empty((n_, c, oh, ow), F32 if sums else np.int64)
    for win in wins:
        acc = np.zeros((n_, c), F32)
        for y in range(win.h0, win.h1):
            for xx in range(win.w0, win.w1):
                acc = (acc + taps[:, :, y, xx]).astype(F32)
        out[:, :, win.oy, win.ox] = acc if sums else float_out(acc, win.n, so, zo, lo, hi)
    return out


def ort_divisor(node, kh: int, kw: int, size: int) -> int:
    """onnxruntime's divisor: the kernel area with count_include_pad, else the valid taps."""
    return kh * kw if node.count_include_pad else size


def check_ort_pool(node, shape: tuple[int, int, int]) -> None:
    """Refuse what onnxruntime's kernels do differently from the plan ``runtimes.pooling`` draws."""
    if node.ceil_mode:
        raise UnsupportedOpError(f"{node.name}: onnxruntime average pooling with ceil_mode is not supported")
    if node.divisor_override:
        raise UnsupportedOpError(f"{node.name}: onnxruntime average pooling has no divisor_override")
    if node.out_scale is None or node.out_zero_point is None:
        raise UnsupportedOpError(f"{node.name}: onnxruntime average pooling needs out_scale and out_zero_point")
    if node.rule == RULE_FLOAT:  # the float kernel is monotone in every tap while its values stay below 2^31
        s, so = abs(float(F32(node.scale))), float(F32(node.out_scale))
        reach = 256.0 * s * (1 + 2.0**-20) * node.kernel[0] * node.kernel[1] / so + abs(int(node.out_zero_point)) + 2
        if not (so > 0 and s > 0 and np.isfinite(reach) and reach < _INT32_EDGE / 2):
            raise UnsupportedOpError(f"{node.name}: scales {float(s)} / {float(so)} put QLinearAveragePool's values "
                                     "past 2^30 before the conversion to integer (or are not positive)")
    if node.rule == RULE_INT and (tuple(node.kernel) != tuple(shape[1:]) or any(node.padding)):
        raise UnsupportedOpError(f"{node.name}: the integer (global) average-pool kernel covers the whole "
                                 f"{shape[1]}x{shape[2]} image without pads; got kernel {node.kernel}, "
                                 f"padding {node.padding}")


def ort_taps(node, n: int) -> tuple[int, ...]:
    """The valid-tap counts a window with divisor ``n`` can have."""
    kh, kw = node.kernel
    return tuple(range(1, kh * kw + 1)) if node.count_include_pad else (n,)


def ort_code_fn(node, kind: str, n: int, size: int | None = None,
                acc_range: tuple[int, int] | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """The code function of one window path; for the float kernel, with ``size`` and ``acc_range``,
    proven only for that window's tap count and reachable sums (else for every window of divisor ``n``)."""
    if kind == "ort_int":
        return int_code_fn(node, n)
    return float_code_fn(node, n, ort_taps(node, n) if size is None else (size,), acc_range)


__all__ = ["RULES", "RULE_FLOAT", "RULE_INT", "check_ort_pool", "float_avgpool", "float_code_fn", "float_out",
           "float_table_check", "global_multiplier", "int_code_fn", "ort_code_fn", "ort_divisor", "ort_taps"]
