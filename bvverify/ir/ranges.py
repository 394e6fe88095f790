"""Worst-case integer ranges of every tensor over the whole input domain.

A plain per-element interval pass, used by ``inspect`` (worst-case accumulator
per layer, can it overflow?). The tighter, box-dependent bound propagation of
the verifier lives in ``bvverify.bounds``.
"""

from __future__ import annotations

import numpy as np

from bvverify.ir import ops
from bvverify.ir.interp import EVAL, eval_requantize, wrap

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


def exact_acc_ranges(input_spec: ops.InputSpec, nodes: tuple[ops.Node, ...],
                     shapes: dict[str, tuple[int, ...]], box: Interval | None = None) -> dict[str, Interval]:
    """Interval of every tensor over the input code ``box`` (default: every valid input);
    Dense/Conv tensors hold the *unwrapped* accumulator."""
    env: dict[str, Interval] = {
        "input": (np.full(input_spec.shape, input_spec.lo, dtype=np.int64),
                  np.full(input_spec.shape, input_spec.hi, dtype=np.int64)) if box is None else
                 (np.asarray(box[0], dtype=np.int64).reshape(input_spec.shape),
                  np.asarray(box[1], dtype=np.int64).reshape(input_spec.shape))
    }
    for node in nodes:
        ins = [env[i] for i in node.inputs]
        if isinstance(node, ops.Dense):
            lo, hi = _dense(node, ins[0])
            env[node.name] = (np.asarray(lo, dtype=object), np.asarray(hi, dtype=object))
        elif isinstance(node, ops.Conv2d):
            env[node.name] = _conv(node, ins[0])
        elif isinstance(node, ops.Requantize):
            # monotone per channel: evaluate at the (wrapped-if-overflowing) ends
            lo, hi = ins[0]
            bits = 32
            lo64 = np.asarray(lo, dtype=object)
            hi64 = np.asarray(hi, dtype=object)
            overflow = (lo64 < -(2 ** (bits - 1))) | (hi64 > 2 ** (bits - 1) - 1)
            lo_i = np.clip(lo64, -(2**31), 2**31 - 1).astype(np.int64)
            hi_i = np.clip(hi64, -(2**31), 2**31 - 1).astype(np.int64)
            qlo = eval_requantize(node, lo_i[None])[0]
            qhi = eval_requantize(node, hi_i[None])[0]
            qlo = np.where(overflow, node.lo, qlo)
            qhi = np.where(overflow, node.hi, qhi)
            env[node.name] = (qlo, qhi)
        elif isinstance(node, (ops.Clamp,)):
            env[node.name] = (np.clip(ins[0][0], node.lo, node.hi), np.clip(ins[0][1], node.lo, node.hi))
        elif isinstance(node, (ops.MaxPool2d, ops.Reshape, ops.Concat)):
            fn = EVAL[type(node)]
            env[node.name] = (fn(node, *(i[0][None] for i in ins))[0], fn(node, *(i[1][None] for i in ins))[0])
        elif isinstance(node, ops.Lookup):
            t = np.asarray(node.table)
            shp = shapes[node.name]
            env[node.name] = (np.full(shp, t.min()), np.full(shp, t.max()))
        else:  # AvgPool2d, Add: the node's clamp range
            shp = shapes[node.name]
            env[node.name] = (np.full(shp, node.lo), np.full(shp, node.hi))
    return env


def accumulator_report(input_spec: ops.InputSpec, nodes: tuple[ops.Node, ...],
                       shapes: dict[str, tuple[int, ...]]) -> list[dict]:
    """Per Dense/Conv node: worst-case accumulator range and whether it can wrap."""
    env = exact_acc_ranges(input_spec, nodes, shapes)
    out = []
    for node in nodes:
        if isinstance(node, (ops.Dense, ops.Conv2d)):
            lo, hi = env[node.name]
            lo_v, hi_v = int(np.min(lo)), int(np.max(hi))
            limit = 2 ** (node.acc_bits - 1)
            bits = max(int(abs(lo_v)).bit_length(), int(abs(hi_v)).bit_length()) + 1
            out.append({"node": node.name, "acc_min": lo_v, "acc_max": hi_v, "acc_bits": node.acc_bits,
                        "bits_needed": bits, "can_overflow": lo_v < -limit or hi_v > limit - 1})
    return out


__all__ = ["accumulator_report", "exact_acc_ranges", "wrap"]
