"""Interval bounds of every tensor over an input code box, sound for the exact semantics.

Affine layers get their exact interval (each input at the end that its weight's sign
prefers); every other op is monotone non-decreasing in each input, so it is evaluated
by the reference interpreter at the lower and the upper ends. Where a runtime's
monotonicity is not proven for the reachable range (an accumulator that can wrap,
int16 pair saturation, a quantizer whose int32 zero-point add could wrap), the bound
falls back to the op's whole output range: coarser, never wrong. ``inspect`` uses the
unwrapped accumulator intervals (worst case per layer, can it overflow?); the
verifier's engines use the same pass through ``bvverify.bounds``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bvverify.errors import InternalError, UnsupportedOpError
from bvverify.ir import interp, ops
from bvverify.ir.interp import EVAL
from bvverify.runtimes.base import get_profile

Interval = tuple[np.ndarray, np.ndarray]  # elementwise lo, hi (unbatched shape)


def _affine_range(w: np.ndarray, lo: np.ndarray, hi: np.ndarray, bias: np.ndarray | None) -> Interval:
    """Exact interval of sum_i w_i * d_i with d_i in [lo_i, hi_i] (w: [out, K])."""
    wp = np.maximum(w, 0)
    wn = np.minimum(w, 0)
    a_lo = wp @ lo + wn @ hi
    a_hi = wp @ hi + wn @ lo
    if bias is not None:
        a_lo = a_lo + bias
        a_hi = a_hi + bias
    return a_lo, a_hi


def _dense(node: ops.Dense, x: Interval) -> Interval:
    w = np.asarray(node.weight, dtype=object) - np.asarray(node.w_zero, dtype=object)[:, None]
    lo = np.asarray(x[0], dtype=object) - node.x_zero
    hi = np.asarray(x[1], dtype=object) - node.x_zero
    b = None if node.bias is None else np.asarray(node.bias, dtype=object)
    return _affine_range(w, lo, hi, b)


def _conv(node: ops.Conv2d, x: Interval) -> Interval:
    # evaluate the conv on the lo/hi corners per weight sign via the interpreter's conv
    from dataclasses import replace

    w = np.asarray(node.weight, dtype=np.int64) - np.asarray(node.w_zero, dtype=np.int64)[:, None, None, None]
    pos = replace(node, weight=np.maximum(w, 0), w_zero=np.zeros_like(node.w_zero), bias=None, acc_bits=64,
                  pair_saturation=False, weight_bits=17)
    neg = replace(pos, weight=np.minimum(w, 0))
    lo = np.asarray(x[0], dtype=np.int64)[None]
    hi = np.asarray(x[1], dtype=np.int64)[None]
    conv = EVAL[ops.Conv2d]
    a_lo = conv(pos, lo)[0] + conv(neg, hi)[0]
    a_hi = conv(pos, hi)[0] + conv(neg, lo)[0]
    if node.bias is not None:
        b = np.asarray(node.bias, dtype=np.int64)[:, None, None]
        a_lo, a_hi = a_lo + b, a_hi + b
    return a_lo, a_hi


def _full(shape: tuple[int, ...], lo: int, hi: int) -> Interval:
    return np.full(shape, lo, dtype=np.int64), np.full(shape, hi, dtype=np.int64)


def _pair(fn, node: ops.Node, *ins: Interval) -> Interval:
    lo = fn(node, *(i[0][None] for i in ins))[0]
    hi = fn(node, *(i[1][None] for i in ins))[0]
    return np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64)


def _affine(node: ops.Dense | ops.Conv2d, x: Interval, shape: tuple[int, ...]) -> Interval:
    lim = 2 ** (node.acc_bits - 1)
    if node.pair_saturation:  # saturated pair sums: sound only as the whole accumulator range
        return _full(shape, -lim, lim - 1)
    lo, hi = _dense(node, x) if isinstance(node, ops.Dense) else _conv(node, x)
    lo = np.asarray(lo, dtype=object)
    hi = np.asarray(hi, dtype=object)
    if np.any(lo < -lim) or np.any(hi > lim - 1):  # the int32 accumulator may wrap: anything
        return _full(shape, -lim, lim - 1)
    return lo.astype(np.int64), hi.astype(np.int64)


def _requantize(node: ops.Requantize, acc: Interval) -> Interval:
    mono_lo, mono_hi = get_profile(node.profile).monotone_range(node.params)
    if acc[0].size and (acc[0].min() < mono_lo or acc[1].max() > mono_hi):
        return _full(acc[0].shape, node.lo, node.hi)
    return _pair(interp.eval_requantize, node, acc)


def _avgpool(node: ops.AvgPool2d, x: Interval) -> Interval:
    from bvverify.runtimes.pooling import avgpool2d

    span = max(int(np.abs(x[0]).max(initial=0)), int(np.abs(x[1]).max(initial=0))) + abs(int(node.zero_point))
    if span * node.kernel[0] * node.kernel[1] > 2**30:  # the vector quantizer's zero-point add could wrap
        shape = interp.EVAL[ops.AvgPool2d](node, x[0][None])[0].shape
        return _full(shape, node.lo, node.hi)
    return _pair(lambda n, v: avgpool2d(n, v), node, x)


def _add(node: ops.Add, a: Interval, b: Interval) -> Interval:
    from bvverify.runtimes.elementwise import add, add_path

    p = node.params
    if node.rule != "torch_qnnpack":
        ca = float(np.float32(p["sa"])) * max(abs(int(a[0].min()) - int(p["za"])), abs(int(a[1].max()) - int(p["za"])))
        cb = float(np.float32(p["sb"])) * max(abs(int(b[0].min()) - int(p["zb"])), abs(int(b[1].max()) - int(p["zb"])))
        c = 2 * (ca + cb) + 1.0  # generous: float32 roundings stay far inside
        if not add_path(node, True).monotone(-c, c):
            return _full(a[0].shape, node.lo, node.hi)
    return _pair(lambda n, u, v: add(n, u, v), node, a, b)


def _lookup(node: ops.Lookup, x: Interval) -> Interval:
    table = np.asarray(node.table, dtype=np.int64)
    lo = np.empty(x[0].shape, dtype=np.int64)
    hi = np.empty(x[0].shape, dtype=np.int64)
    for idx in np.ndindex(x[0].shape):
        seg = table[int(x[0][idx]) - node.domain_lo : int(x[1][idx]) - node.domain_lo + 1]
        lo[idx], hi[idx] = seg.min(), seg.max()
    return lo, hi


def _affine_rule(node: ops.Dense | ops.Conv2d, ins: list[Interval], shape: tuple[int, ...]) -> Interval:
    return _affine(node, ins[0], shape)


def _requantize_rule(node: ops.Requantize, ins: list[Interval], shape: tuple[int, ...]) -> Interval:
    return _requantize(node, ins[0])


def _avgpool_rule(node: ops.AvgPool2d, ins: list[Interval], shape: tuple[int, ...]) -> Interval:
    return _avgpool(node, ins[0])


def _add_rule(node: ops.Add, ins: list[Interval], shape: tuple[int, ...]) -> Interval:
    return _add(node, ins[0], ins[1])


def _lookup_rule(node: ops.Lookup, ins: list[Interval], shape: tuple[int, ...]) -> Interval:
    return _lookup(node, ins[0])


def _monotone_rule(node: ops.Node, ins: list[Interval], shape: tuple[int, ...]) -> Interval:
    """Monotone non-decreasing in every input with no runtime caveat: the interpreter at both ends."""
    return _pair(EVAL[type(node)], node, *ins)


IntervalRule = Callable[[ops.Node, list[Interval], tuple[int, ...]], Interval]

INTERVAL: dict[type[ops.Node], IntervalRule] = {
    ops.Dense: _affine_rule,
    ops.Conv2d: _affine_rule,
    ops.Requantize: _requantize_rule,
    ops.Clamp: _monotone_rule,
    ops.MaxPool2d: _monotone_rule,
    ops.AvgPool2d: _avgpool_rule,
    ops.Add: _add_rule,
    ops.Lookup: _lookup_rule,
    ops.Concat: _monotone_rule,
    ops.Reshape: _monotone_rule,
}
"""Each op's interval rule, given its inputs' intervals and its output shape; one entry per op
type, so a new op without a rule fails by name here (and in ``tests/test_op_coverage.py``)."""


def node_interval(node: ops.Node, ins: list[Interval], shape: tuple[int, ...]) -> Interval:
    """One node's interval rule, given sound intervals of its inputs (``shape``: its output's)."""
    rule = INTERVAL.get(type(node))
    if rule is None:
        raise UnsupportedOpError(f"interval bounds: no rule for op {node.op} ({node.name})")
    return rule(node, ins, shape)


def intervals(input_spec: ops.InputSpec, nodes: tuple[ops.Node, ...], shapes: dict[str, tuple[int, ...]],
              box: Interval | None = None, accumulators: dict[str, Interval] | None = None) -> dict[str, Interval]:
    """Interval of every tensor (by name) over the input code ``box`` (default: every valid
    input). When ``accumulators`` is given, it receives the exact *unwrapped* interval of every
    Dense / Conv2d accumulator (before int32 wrap or pair saturation), for overflow questions."""
    env: dict[str, Interval] = {
        "input": (np.full(input_spec.shape, input_spec.lo, dtype=np.int64),
                  np.full(input_spec.shape, input_spec.hi, dtype=np.int64)) if box is None else
                 (np.asarray(box[0], dtype=np.int64).reshape(input_spec.shape),
                  np.asarray(box[1], dtype=np.int64).reshape(input_spec.shape))
    }
    for node in nodes:
        ins = [env[i] for i in node.inputs]
        if isinstance(node, (ops.Dense, ops.Conv2d)) and accumulators is not None:
            lo, hi = _dense(node, ins[0]) if isinstance(node, ops.Dense) else _conv(node, ins[0])
            accumulators[node.name] = (np.asarray(lo, dtype=object), np.asarray(hi, dtype=object))
        env[node.name] = node_interval(node, ins, shapes[node.name])
    return env


def accumulator_report(input_spec: ops.InputSpec, nodes: tuple[ops.Node, ...],
                       shapes: dict[str, tuple[int, ...]]) -> list[dict]:
    """Per Dense/Conv node: worst-case accumulator range and whether it can wrap."""
    acc: dict[str, Interval] = {}
    intervals(input_spec, nodes, shapes, accumulators=acc)
    out = []
    for node in nodes:
        if isinstance(node, (ops.Dense, ops.Conv2d)):
            lo, hi = acc[node.name]
            lo_v, hi_v = int(np.min(lo)), int(np.max(hi))
            limit = 2 ** (node.acc_bits - 1)
            bits = max(int(abs(lo_v)).bit_length(), int(abs(hi_v)).bit_length()) + 1
            out.append({"node": node.name, "acc_min": lo_v, "acc_max": hi_v, "acc_bits": node.acc_bits,
                        "bits_needed": bits, "can_overflow": lo_v < -limit or hi_v > limit - 1})
    return out


def tightened(lo: np.ndarray, hi: np.ndarray, outer: tuple[np.ndarray, np.ndarray] | None,
              what: str) -> tuple[np.ndarray, np.ndarray]:
    """An encoder's own exact interval of a tensor, intersected with sound outer bounds of the
    same tensor (e.g. symbolic): both hold every reachable value, so their meet does too."""
    if outer is not None:
        lo = np.maximum(lo.astype(object), np.asarray(outer[0], dtype=object).reshape(lo.shape))
        hi = np.minimum(hi.astype(object), np.asarray(outer[1], dtype=object).reshape(hi.shape))
    if np.any(lo.astype(object) > hi.astype(object)):
        raise InternalError(f"empty interval after {what}")
    return lo, hi


__all__ = ["INTERVAL", "Interval", "IntervalRule", "accumulator_report", "intervals", "node_interval", "tightened"]
