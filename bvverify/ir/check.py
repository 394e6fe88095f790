"""Validation and shape inference of an IR graph.

Runs when a network is built, so a bad file or importer bug fails at load time
with the node and field named, never later inside an encoder.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bvverify.errors import ModelFormatError, QuantParamError
from bvverify.ir import ops
from bvverify.runtimes.base import check_zero_point, get_profile
from bvverify.runtimes.sliding import conv_out_size


def _fail(node: ops.Node, msg: str) -> ModelFormatError:
    return ModelFormatError(f"node {node.name!r} ({node.op}): {msg}")


def _check_int_array(node: ops.Node, field: str, a: np.ndarray | None, bits: int | None = None) -> None:
    if a is None:
        return
    arr = np.asarray(a)
    if arr.dtype.kind not in "iu":
        raise _fail(node, f"{field} must be an integer array, got {arr.dtype}")
    if bits is not None and arr.size:
        lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        if arr.min() < lo or arr.max() > hi:
            raise _fail(node, f"{field} outside the signed {bits}-bit range [{lo}, {hi}]")


def _affine_common(node: ops.Dense | ops.Conv2d, out: int, code_range: tuple[int, int]) -> None:
    if not 2 <= node.weight_bits <= 16:
        raise _fail(node, f"weight_bits {node.weight_bits} not in 2..16")
    _check_int_array(node, "weight", node.weight, node.weight_bits)
    _check_int_array(node, "w_zero", node.w_zero, node.weight_bits)
    if np.asarray(node.w_zero).shape != (out,):
        raise _fail(node, f"w_zero has shape {np.asarray(node.w_zero).shape}, expected ({out},)")
    if node.bias is not None:
        _check_int_array(node, "bias", node.bias, node.acc_bits)
        if np.asarray(node.bias).shape != (out,):
            raise _fail(node, f"bias has shape {np.asarray(node.bias).shape}, expected ({out},)")
    if node.acc_bits not in (16, 32, 64):
        raise _fail(node, f"acc_bits {node.acc_bits} not one of 16, 32, 64")
    try:
        check_zero_point("x_zero", node.x_zero, *code_range)
    except QuantParamError as e:
        raise _fail(node, f"{e} (input codes span [{code_range[0]}, {code_range[1]}])") from None


def infer(input_spec: ops.InputSpec, nodes: tuple[ops.Node, ...]) -> dict[str, tuple[int, ...]]:
    """Check every node and return the (unbatched) shape of every tensor."""
    shapes: dict[str, tuple[int, ...]] = {"input": tuple(input_spec.shape)}
    ranges: dict[str, tuple[int, int]] = {"input": (input_spec.lo, input_spec.hi)}
    if input_spec.lo > input_spec.hi:
        raise ModelFormatError(f"input code range [{input_spec.lo}, {input_spec.hi}] is empty")
    if input_spec.quantizer is not None:
        from bvverify.runtimes.base import check_scale

        try:
            check_scale("input scale", np.float32(input_spec.quantizer.scale))
            check_zero_point("input zero point", input_spec.quantizer.zero_point, input_spec.lo, input_spec.hi)
        except QuantParamError as e:
            raise ModelFormatError(f"input quantizer: {e}") from None
    for node in nodes:
        if node.name in shapes:
            raise _fail(node, "duplicate tensor name")
        for i in node.inputs:
            if i not in shapes:
                raise _fail(node, f"input {i!r} is not defined before this node")
        ins = [shapes[i] for i in node.inputs]
        rng = ranges[node.inputs[0]] if node.inputs else (0, 0)
        shapes[node.name] = _shape(node, ins, rng)
        ranges[node.name] = _code_range(node, [ranges[i] for i in node.inputs])
    return shapes


def _code_range(node: ops.Node, ins: list[tuple[int, int]]) -> tuple[int, int]:
    """Coarse range of a tensor's integers, used only to check zero points."""
    if isinstance(node, (ops.Requantize, ops.Clamp, ops.AvgPool2d, ops.Add)):
        return (node.lo, node.hi)
    if isinstance(node, ops.Lookup):
        t = np.asarray(node.table)
        return (int(t.min()), int(t.max())) if t.size else (0, 0)
    if isinstance(node, (ops.Dense, ops.Conv2d)):
        return (-(2 ** (node.acc_bits - 1)), 2 ** (node.acc_bits - 1) - 1)
    if ins:
        return (min(r[0] for r in ins), max(r[1] for r in ins))
    return (0, 0)


def _arity(node: ops.Node, ins: list, n: int | None) -> None:
    if n is not None and len(ins) != n:
        raise _fail(node, f"takes {n} input(s), got {len(ins)}")


def _dense(node: ops.Dense, ins: list[tuple[int, ...]], rng: tuple[int, int]) -> tuple[int, ...]:
    _arity(node, ins, 1)
    w = np.asarray(node.weight)
    if w.ndim != 2:
        raise _fail(node, f"weight must be 2-D [out, in], got shape {w.shape}")
    if ins[0] != (w.shape[1],):
        raise _fail(node, f"input shape {ins[0]} does not fit weight [out={w.shape[0]}, in={w.shape[1]}]")
    _affine_common(node, w.shape[0], rng)
    return (w.shape[0],)


def _conv2d(node: ops.Conv2d, ins: list[tuple[int, ...]], rng: tuple[int, int]) -> tuple[int, ...]:
    _arity(node, ins, 1)
    w = np.asarray(node.weight)
    if w.ndim != 4 or len(ins[0]) != 3:
        raise _fail(node, f"needs weight [out, in/groups, kh, kw] and input [C, H, W], got {w.shape}, {ins[0]}")
    c, h, wd = ins[0]
    o, cg, kh, kw = w.shape
    g = node.groups
    if g < 1 or c % g or o % g or cg * g != c:
        raise _fail(node, f"groups={g} does not fit {c} input / {o} output channels (weight in/groups={cg})")
    if min(node.stride) < 1 or min(node.dilation) < 1 or min(node.padding) < 0:
        raise _fail(node, "stride and dilation must be >= 1, padding >= 0")
    oh = conv_out_size(h, kh, node.stride[0], node.padding[0], node.dilation[0])
    ow = conv_out_size(wd, kw, node.stride[1], node.padding[1], node.dilation[1])
    if oh < 1 or ow < 1:
        raise _fail(node, f"kernel {kh}x{kw} does not fit input {h}x{wd}")
    _affine_common(node, o, rng)
    return (o, oh, ow)


def _requantize(node: ops.Requantize, ins: list[tuple[int, ...]], rng: tuple[int, int]) -> tuple[int, ...]:
    _arity(node, ins, 1)
    if node.lo > node.hi:
        raise _fail(node, f"clamp range [{node.lo}, {node.hi}] is empty")
    prof = get_profile(node.profile)
    channels = ins[0][0] if ins[0] else 1
    for k, v in node.params.items():
        a = np.asarray(v)
        if a.ndim > 1 or (a.ndim == 1 and a.shape[0] not in (1, channels)):
            raise _fail(node, f"parameter {k} has shape {a.shape}, expected scalar or ({channels},)")
    try:
        prof.check(node.params)
    except QuantParamError as e:
        raise _fail(node, str(e)) from None
    except KeyError as e:
        raise _fail(node, f"profile {node.profile} needs parameter {e.args[0]!r}") from None
    return ins[0]


def _clamp(node: ops.Clamp, ins: list[tuple[int, ...]], rng: tuple[int, int]) -> tuple[int, ...]:
    _arity(node, ins, 1)
    if node.lo > node.hi:
        raise _fail(node, f"clamp range [{node.lo}, {node.hi}] is empty")
    return ins[0]


def _pool(node: ops.MaxPool2d | ops.AvgPool2d, ins: list[tuple[int, ...]], rng: tuple[int, int]) -> tuple[int, ...]:
    _arity(node, ins, 1)
    if len(ins[0]) != 3:
        raise _fail(node, f"needs an input [C, H, W], got {ins[0]}")
    c, h, w = ins[0]
    kh, kw = node.kernel
    dil = getattr(node, "dilation", (1, 1))
    if min(node.stride) < 1 or min(node.kernel) < 1:
        raise _fail(node, "kernel and stride must be >= 1")
    if node.padding[0] * 2 > kh or node.padding[1] * 2 > kw:
        raise _fail(node, "padding must be at most half the kernel size")
    if isinstance(node, ops.MaxPool2d) and node.pad_mode not in ("ignore", "edge"):
        raise _fail(node, f"pad_mode {node.pad_mode!r} is not 'ignore' or 'edge'")
    oh = conv_out_size(h, kh, node.stride[0], node.padding[0], dil[0], node.ceil_mode)
    ow = conv_out_size(w, kw, node.stride[1], node.padding[1], dil[1], node.ceil_mode)
    if oh < 1 or ow < 1:
        raise _fail(node, f"kernel {kh}x{kw} does not fit input {h}x{w}")
    return (c, oh, ow)


def _add(node: ops.Add, ins: list[tuple[int, ...]], rng: tuple[int, int]) -> tuple[int, ...]:
    _arity(node, ins, 2)
    if ins[0] != ins[1]:
        raise _fail(node, f"operands have different shapes {ins[0]} and {ins[1]}")
    return ins[0]


def _lookup(node: ops.Lookup, ins: list[tuple[int, ...]], rng: tuple[int, int]) -> tuple[int, ...]:
    _arity(node, ins, 1)
    _check_int_array(node, "table", node.table, 32)
    lo, hi = rng
    if lo < node.domain_lo or hi >= node.domain_lo + len(node.table):
        raise _fail(node, f"table covers [{node.domain_lo}, {node.domain_lo + len(node.table) - 1}], "
                          f"input codes span [{lo}, {hi}]")
    return ins[0]


def _concat(node: ops.Concat, ins: list[tuple[int, ...]], rng: tuple[int, int]) -> tuple[int, ...]:
    if not ins:
        raise _fail(node, "needs at least one input")
    ax = node.axis
    base = ins[0]
    if not 0 <= ax < len(base):
        raise _fail(node, f"axis {ax} out of range for shape {base}")
    for s in ins[1:]:
        if len(s) != len(base) or any(a != b for i, (a, b) in enumerate(zip(s, base)) if i != ax):
            raise _fail(node, f"input shapes {ins} do not concatenate along axis {ax}")
    return base[:ax] + (sum(s[ax] for s in ins),) + base[ax + 1 :]


def _reshape(node: ops.Reshape, ins: list[tuple[int, ...]], rng: tuple[int, int]) -> tuple[int, ...]:
    _arity(node, ins, 1)
    size = int(np.prod(ins[0]))
    shape = tuple(node.shape)
    if int(np.prod(shape)) != size or any(d < 1 for d in shape):
        raise _fail(node, f"cannot reshape {ins[0]} to {shape}")
    return shape


ShapeRule = Callable[[ops.Node, list[tuple[int, ...]], tuple[int, int]], tuple[int, ...]]

SHAPE: dict[type[ops.Node], ShapeRule] = {
    ops.Dense: _dense,
    ops.Conv2d: _conv2d,
    ops.Requantize: _requantize,
    ops.Clamp: _clamp,
    ops.MaxPool2d: _pool,
    ops.AvgPool2d: _pool,
    ops.Add: _add,
    ops.Lookup: _lookup,
    ops.Concat: _concat,
    ops.Reshape: _reshape,
}
"""Each op's validation and output shape, given its input shapes and its first input's code
range (``rng``); one entry per op type, so an op without checks is refused at load time."""


def _shape(node: ops.Node, ins: list[tuple[int, ...]], rng: tuple[int, int]) -> tuple[int, ...]:
    rule = SHAPE.get(type(node))
    if rule is None:
        raise _fail(node, "unknown op")
    return rule(node, ins, rng)
