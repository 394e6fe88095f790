"""Input boxes in float units <-> integer code boxes, exactly.

The input quantizer is monotone non-decreasing, so the codes of the floats in
``[lo, hi]`` are exactly the integers in ``[q(lo), q(hi)]`` (each step of a
quantizer is at most one code wide for any positive scale above float32's
spacing, which ``codes_of_box`` checks). A counterexample's codes are turned back
into floats *inside the box* by bisection over float32 values.
"""

from __future__ import annotations

import numpy as np

from bvverify.errors import BvverifyError, InternalError
from bvverify.ir.graph import QNetwork


class EmptyBoxError(BvverifyError, ValueError):
    """The input region contains no point of the model's input domain."""


def codes_of_box(net: QNetwork, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer code box [clo, chi] (elementwise) of all inputs in the box [lo, hi]."""
    lo = np.asarray(lo, dtype=np.float64).reshape(net.input.shape)
    hi = np.asarray(hi, dtype=np.float64).reshape(net.input.shape)
    if np.any(lo > hi):
        i = int(np.argmax((lo > hi).ravel()))
        raise EmptyBoxError(f"input box is empty at element {i}: lower bound {lo.ravel()[i]} > upper bound {hi.ravel()[i]}")
    if net.integer_input:
        clo = np.ceil(lo).astype(np.int64)
        chi = np.floor(hi).astype(np.int64)
        clo = np.maximum(clo, net.input.lo)
        chi = np.minimum(chi, net.input.hi)
    else:
        # floats inside [lo, hi] that float32 can represent: round lo up, hi down
        lo32 = _f32_ceil(lo)
        hi32 = _f32_floor(hi)
        if np.any(lo32 > hi32):
            i = int(np.argmax((lo32 > hi32).ravel()))
            raise EmptyBoxError(f"input box element {i} [{lo.ravel()[i]}, {hi.ravel()[i]}] contains no float32 value")
        clo = net.quantize_input(lo32[None])[0]
        chi = net.quantize_input(hi32[None])[0]
    if np.any(clo > chi):
        i = int(np.argmax((clo > chi).ravel()))
        raise EmptyBoxError(f"input box element {i} contains no valid input code (codes span "
                            f"[{net.input.lo}, {net.input.hi}])")
    return clo, chi


def _f32_ceil(x: np.ndarray) -> np.ndarray:
    r = x.astype(np.float32)
    return np.where(r.astype(np.float64) < x, np.nextafter(r, np.float32(np.inf)), r)


def _f32_floor(x: np.ndarray) -> np.ndarray:
    r = x.astype(np.float32)
    return np.where(r.astype(np.float64) > x, np.nextafter(r, np.float32(-np.inf)), r)


def _ordered(x: np.ndarray) -> np.ndarray:
    """float32 -> int64 key whose order is the float order."""
    i = x.astype(np.float32).view(np.int32).astype(np.int64)
    return np.where(i < 0, -(i & 0x7FFFFFFF), i)


def _unordered(k: np.ndarray) -> np.ndarray:
    i = np.where(k < 0, (-k) | 0x80000000, k).astype(np.int64)
    return (i & 0xFFFFFFFF).astype(np.uint32).view(np.int32).view(np.float32)


def _least_at_least(net: QNetwork, codes: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per element, the least ordered key k in [a, b] with q(k) >= code (b if none)."""
    while np.any(a < b):
        mid = a + (b - a) // 2
        ge = net.quantize_input(_unordered(mid)[None])[0] >= codes
        live = a < b  # settled elements stay put (b itself may not reach the code)
        b = np.where(live & ge, mid, b)
        a = np.where(live & ~ge, mid + 1, a)
    return a


def floats_for_codes(net: QNetwork, codes: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                     prefer: np.ndarray | None = None) -> np.ndarray:
    """float32 inputs inside [lo, hi] that the model's quantizer maps to ``codes``.

    The float nearest ``prefer`` (e.g. the original sample) with the right code: ``prefer``
    itself where it already maps to it, else the least (code above) or greatest (code below)
    such float. Without ``prefer``: the code's dequantized value when it maps back to the code
    inside the box, else the least float with that code. (A box in code units spans every
    float32, and its least float with code 0 would be -3.4e38: a correct but useless witness.)"""
    codes = np.asarray(codes, dtype=np.int64).reshape(net.input.shape)
    if net.integer_input:
        return codes.astype(np.float64)
    big = np.float32(np.finfo(np.float32).max)  # an infinite side of the box: every finite float
    lo32 = np.clip(_f32_ceil(np.asarray(lo, dtype=np.float64).reshape(codes.shape)), -big, big)
    hi32 = np.clip(_f32_floor(np.asarray(hi, dtype=np.float64).reshape(codes.shape)), -big, big)
    a, b = _ordered(lo32), _ordered(hi32)
    with np.errstate(over="ignore"):  # probes near +-float32 max overflow to inf: they still saturate
        least = _unordered(_least_at_least(net, codes, a, b))
        # greatest key with q <= code: one below the least key with q >= code + 1
        above = _least_at_least(net, codes + 1, a, b)
        top = net.quantize_input(_unordered(above)[None])[0] > codes
        greatest = _unordered(np.where(top, above - 1, above))
        q = net.input.quantizer
        x = least
        if prefer is not None:
            p = np.asarray(prefer, dtype=np.float32).reshape(codes.shape)
            pq = net.quantize_input(p[None])[0]
            inside = (p >= lo32) & (p <= hi32)
            x = np.where(inside & (pq == codes), p, np.where(inside & (pq > codes), greatest, least))
        elif q is not None:
            d = ((codes - q.zero_point) * np.float64(q.scale)).astype(np.float32)
            ok = (d >= lo32) & (d <= hi32) & (net.quantize_input(d[None])[0] == codes)
            x = np.where(ok, d, least)
        if not np.array_equal(net.quantize_input(x[None])[0], codes):
            raise InternalError("no float in the box maps to the counterexample's input codes")
    return x


def code_box(net: QNetwork, prop) -> tuple[np.ndarray, np.ndarray]:
    """The integer input-code box of a property, by its explicit units; computed once per
    (property, network) and kept on the property (engines, replay and bounds all ask)."""
    hit = prop.boxes.get(id(net))
    if hit is not None and hit[0] is net:
        return hit[1], hit[2]
    if prop.units == "codes":
        lo = np.asarray(prop.lo, dtype=np.int64).reshape(net.input.shape)
        hi = np.asarray(prop.hi, dtype=np.int64).reshape(net.input.shape)
        if np.any(lo > hi):
            raise EmptyBoxError("input code box is empty")
    else:
        lo, hi = codes_of_box(net, prop.lo, prop.hi)
    lo.flags.writeable = False  # shared by every caller of this query
    hi.flags.writeable = False
    prop.boxes[id(net)] = (net, lo, hi)
    return lo, hi


def float_region(net: QNetwork, prop) -> tuple[np.ndarray, np.ndarray]:
    """Float bounds of the region: the box itself, or all floats for a code box."""
    if prop.units == "codes" and not net.integer_input:
        big = float(np.finfo(np.float32).max)
        return np.full(net.input.shape, -big), np.full(net.input.shape, big)
    return (np.asarray(prop.lo, dtype=np.float64).reshape(net.input.shape),
            np.asarray(prop.hi, dtype=np.float64).reshape(net.input.shape))
