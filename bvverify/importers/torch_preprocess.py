"""Float-side pre-processing in front of a model's QuantStub, folded into its input quantizer.

Users write ``x = x.reshape(x.shape[0], -1)`` or ``x = (x - mean) / std`` before
``self.quant(x)``. A reshape only changes the input shape the user feeds (the IR gets
the raw input shape and a ``Reshape`` node after the quantizer, which is elementwise).
Scalar affine steps change the codes: torch computes them in float32, then
``quantize_per_tensor``. bvverify's input quantizer is one per-tensor scale and zero point
under one rounding rule, so the steps fold only when some such quantizer computes the
very same code as torch for *every* float32 input. That is decided exactly, not sampled:
both maps are monotone non-decreasing step functions (each float32 op rounds
monotonically and the overall factor is positive), so they are equal iff they change code
at the same float32 values. torch's thresholds are found by bisection over all finite
float32 values, running torch's own ops on the model's own constants; a candidate quantizer
is accepted only if it agrees at every threshold and its predecessor. Otherwise the model is
refused, saying why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bvverify.errors import UnsupportedOpError
from bvverify.ir import ops
from bvverify.runtimes.quantize import RULES, quantize

_OPS = {"aten::sub": "-", "aten::add": "+", "aten::mul": "*", "aten::div": "/"}


@dataclass(frozen=True)
class Step:
    """One scalar float op on the input, with torch's own argument objects."""

    kind: str
    other: Any  # a Python number or a one-element tensor, exactly as the graph holds it
    alpha: Any = 1

    def apply(self, t: Any) -> Any:
        import torch

        if self.kind == "aten::sub":
            return torch.sub(t, self.other, alpha=self.alpha)
        if self.kind == "aten::add":
            return torch.add(t, self.other, alpha=self.alpha)
        if self.kind == "aten::mul":
            return torch.mul(t, self.other)
        return torch.div(t, self.other)

    def value(self) -> float:
        o = self.other
        return float(o.item()) if hasattr(o, "item") else float(o)

    def describe(self) -> str:
        v = f"{self.value():.6g}"
        return f"{_OPS[self.kind]} {v}" if self.alpha == 1 else f"{_OPS[self.kind]} {self.alpha} * {v}"


@dataclass(frozen=True)
class FloatIn:
    """The model's float input on its way to the QuantStub: reshaped, and scalar steps applied.
    ``raw_shape`` is what the user feeds (unbatched), ``shape`` what reaches the quantizer."""

    raw_shape: tuple[int, ...] | None
    shape: tuple[int, ...] | None
    steps: tuple[Step, ...] = ()

    def describe(self) -> str:
        text = "x"
        for i, s in enumerate(self.steps):
            text = f"{text} {s.describe()}" if i == 0 or s.kind in ("aten::mul", "aten::div") and self.steps[
                i - 1].kind in ("aten::mul", "aten::div") else f"({text}) {s.describe()}"
        return text


def scalar_step(kind: str, other: Any, alpha: Any, where: str) -> Step:
    """A pre-processing step, or a refusal naming why it cannot be a per-tensor scalar op."""
    import torch

    if kind == "aten::div" and alpha is not None and alpha != 1:
        raise UnsupportedOpError(f"{where}: division with rounding_mode={alpha!r} before the QuantStub is not supported")
    if isinstance(other, torch.Tensor):
        if other.numel() != 1:
            raise UnsupportedOpError(
                f"{where}: {kind} by a tensor of {other.numel()} values (per-channel normalisation) before the QuantStub: "
                "bvverify's input quantizer is per-tensor, so it cannot be folded; apply it to the data instead")
        if other.dim() > 0 and other.dtype != torch.float32:
            raise UnsupportedOpError(f"{where}: {kind} by a {other.dtype} tensor would change the input's float type")
    elif isinstance(other, bool) or not isinstance(other, (int, float)):
        raise UnsupportedOpError(f"{where}: {kind} before the QuantStub by a non-constant ({type(other).__name__}): "
                                 "only constant scalars are folded into the input quantizer")
    if kind in ("aten::sub", "aten::add") and alpha not in (1, -1):
        raise UnsupportedOpError(f"{where}: {kind} with alpha={alpha} before the QuantStub is not supported")
    step = Step(kind, other, 1 if kind in ("aten::mul", "aten::div") else alpha)
    if kind in ("aten::mul", "aten::div") and not step.value() > 0:
        raise UnsupportedOpError(
            f"{where}: {kind} by {step.value():.6g} before the QuantStub: only positive factors keep the input order "
            "that bvverify's input boxes rely on")
    return step


# -- exact comparison of two monotone float32 -> code maps -------------------------
_MAX = np.float32(np.finfo(np.float32).max)


def _key(x: np.ndarray) -> np.ndarray:
    """float32 -> int64 key whose order is the float order."""
    i = np.asarray(x, dtype=np.float32).view(np.int32).astype(np.int64)
    return np.where(i < 0, -(i & 0x7FFFFFFF), i)


def _float(k: np.ndarray) -> np.ndarray:
    i = np.where(k < 0, (-k) | 0x80000000, k).astype(np.int64)
    return (i & 0xFFFFFFFF).astype(np.uint32).view(np.int32).view(np.float32)


def torch_codes(steps: tuple[Step, ...], scale: float, zero_point: int, dtype: Any, x: np.ndarray) -> np.ndarray:
    """The codes torch computes for float32 inputs ``x``: the model's steps, then quantize_per_tensor."""
    import torch

    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    with torch.no_grad():
        for s in steps:
            t = s.apply(t)
        if t.dtype != torch.float32:
            raise UnsupportedOpError(f"the pre-processing turns the float32 input into {t.dtype}; not supported")
        return torch.quantize_per_tensor(t, float(scale), int(zero_point), dtype).int_repr().numpy().astype(np.int64)


def thresholds(f: Any, lo: int, hi: int) -> np.ndarray:
    """Per code k in (lo, hi], the least float32 key x with f(x) >= k (one past the largest
    finite key when f never reaches k); f must be monotone non-decreasing."""
    ks = np.arange(lo + 1, hi + 1, dtype=np.int64)
    a = np.full(ks.shape, _key(-_MAX))
    top = _key(_MAX)
    b = np.full(ks.shape, top + 1)
    while np.any(a < b):
        mid = a + (b - a) // 2
        live = a < b
        ge = f(_float(mid)) >= ks  # mid < b <= top + 1: always a finite float
        b = np.where(live & ge, mid, b)
        a = np.where(live & ~ge, mid + 1, a)
    return a


def first_difference(f_thr: np.ndarray, g: Any, lo: int) -> tuple[float, int, int] | None:
    """None when the monotone map ``g`` has exactly the thresholds ``f_thr``; else one float32
    input where they differ with the codes of f and g there."""
    top = _key(_MAX)
    ks = np.arange(lo + 1, lo + 1 + len(f_thr), dtype=np.int64)
    at = np.minimum(f_thr, top)
    g_at = g(_float(at))
    below = np.maximum(f_thr - 1, _key(-_MAX))
    g_below = g(_float(below))
    reached = f_thr <= top
    first = f_thr == _key(-_MAX)
    bad_at = reached & (g_at < ks)  # f reaches k here, g does not
    bad_below = reached & ~first & (g_below >= ks)  # g reaches k earlier than f
    bad_never = ~reached & (g_at >= ks)  # f never reaches k, g does at the largest float
    for mask, pts in ((bad_at, at), (bad_below, below), (bad_never, at)):
        if np.any(mask):
            i = int(np.argmax(mask))
            x = _float(pts[i : i + 1])
            return float(x[0]), -1, int(g(x)[0])
    return None


def fold(pre: FloatIn, scale: float, zero_point: int, dtype: Any, lo: int, hi: int,
         where: str) -> ops.InputQuantizer:
    """The input quantizer that computes exactly torch's codes of ``pre`` then
    quantize_per_tensor(scale, zero_point), or a refusal naming why none does."""
    steps = pre.steps
    s = np.float32(scale)

    def f(x: np.ndarray) -> np.ndarray:
        return torch_codes(steps, scale, zero_point, dtype, x)

    if not steps:
        return ops.InputQuantizer(float(s), int(zero_point), "torch_fma")
    # the real affine map y = a x + b of the steps (float64: only to propose candidates)
    a, b = 1.0, 0.0
    for st in steps:
        v = st.value()
        if st.kind in ("aten::sub", "aten::add"):
            b += (-1 if (st.kind == "aten::sub") == (st.alpha == 1) else 1) * v
        elif st.kind == "aten::mul":
            a, b = a * v, b * v
        else:
            a, b = a / v, b / v
    f_thr = thresholds(f, lo, hi)
    # sampled check of monotonicity (torch near float32 overflow), beside the thresholds
    xs = np.sort(np.concatenate([_float(f_thr[f_thr <= _key(_MAX)]),
                                 np.float32([-_MAX, _MAX, 0.0]),
                                 np.random.default_rng(0).standard_normal(4096).astype(np.float32) * np.float32(100)]))
    if np.any(np.diff(f(xs)) < 0):
        raise UnsupportedOpError(f"{where}: torch's codes of {pre.describe()} are not monotone in the input "
                                 "(float32 overflow in the pre-processing?); bvverify cannot fold it")
    shift = zero_point + b / float(s)  # code = (a x + b) / s + z = x / (s / a) + (z + b / s)
    base = float(np.float32(float(s) / a))
    scales = [base]
    up = down = np.float32(base)
    for _ in range(3):
        up, down = np.nextafter(up, np.float32(np.inf)), np.nextafter(down, np.float32(0))
        scales += [float(up), float(down)]
    zps = sorted({int(np.floor(shift)), int(np.ceil(shift)), int(np.round(shift))})
    best: tuple[float, int, int, int, float, str] | None = None
    for zp in zps:
        if not lo <= zp <= hi:
            continue
        for sc in scales:
            for rule in RULES:
                def g(x: np.ndarray, sc: float = sc, zp: int = zp, rule: str = rule) -> np.ndarray:
                    return quantize(x, sc, zp, lo, hi, rule)

                diff = first_difference(f_thr, g, lo)
                if diff is None:
                    # and, as the self-check does for every model, on many inputs
                    if np.array_equal(f(xs), g(xs)):
                        return ops.InputQuantizer(sc, zp, rule)
                    continue
                if best is None:
                    best = (diff[0], int(f(np.float32([diff[0]]))[0]), diff[2], zp, sc, rule)
    frac = shift - round(shift)
    why = (f"it moves the zero point by {b / float(s):.6g} codes, not a whole number" if abs(frac) > 1e-9
           else "torch's float32 rounding of the steps puts some code boundaries on other float32 values")
    if best is not None:
        x, fc, gc, zp, sc, rule = best
        why += (f" (the nearest fold, scale {sc:.9g} zero point {zp} rule {rule}, gives code {gc} at x = {x!r} where "
                f"torch gives {fc})")
    elif not any(lo <= zp <= hi for zp in zps):
        why = f"the folded zero point {shift:.6g} lies outside the code range [{lo}, {hi}]"
    raise UnsupportedOpError(
        f"{where}: the float pre-processing {pre.describe()} in front of the QuantStub (scale {float(s):.9g}, zero point "
        f"{zero_point}) cannot be folded exactly into bvverify's input quantizer (one per-tensor scale and zero point): "
        f"{why}. Apply it to the data instead and verify the model from its QuantStub on (inputs in normalised units)")


__all__ = ["FloatIn", "Step", "first_difference", "fold", "scalar_step", "thresholds", "torch_codes"]
