"""IR builders for the TorchScript ops the importer models exactly, one method per op kind.

``op_<namespace>_<name>`` (``op_quantized_conv2d`` for ``quantized::conv2d``) takes the
graph node and its input values and emits IR nodes; it returns the symbolic tensor the
op's output stands for. Engine arithmetic (bias placement, requantizer profile, pooling
and add rounding) follows the quantized engine; kernel routing follows the deployment
target (``importers.torch_routing``). A variant that is not modelled exactly is refused
by name with the module scope it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bvverify.errors import ModelFormatError, UnsupportedOpError
from bvverify.importers.torch_preprocess import FloatIn, fold, scalar_step
from bvverify.importers.torch_routing import fbgemm_depthwise, fbgemm_groupwise, onednn_conv_route
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork
from bvverify.runtimes import qnnpack
from bvverify.runtimes.pooling import nhwc_kernel
from bvverify.runtimes.target import Target

_QDTYPES = {13: (0, 255, "quint8"), 12: (-128, 127, "qint8")}
BATCH = object()  # marker for x.size(0) in traced reshapes


def _dtype_code(d: Any) -> Any:
    """A quantized dtype as the graph's ScalarType code (a scripted QuantStub holds a torch.dtype)."""
    import torch

    return {torch.quint8: 13, torch.qint8: 12}.get(d, d) if isinstance(d, torch.dtype) else d


def _quint8() -> Any:
    import torch

    return torch.quint8


def _qint8() -> Any:
    import torch

    return torch.qint8


_TORCH_QDTYPES = {13: _quint8, 12: _qint8}


@dataclass
class Sym:
    """A symbolic integer tensor in the walk: IR tensor name and its qparams."""

    name: str
    scale: float
    zero_point: int
    lo: int = 0
    hi: int = 255
    channels_last: bool = False  # memory format: selects torch's NHWC kernels (pooling, add, cat)


@dataclass
class Deq:
    """A float tensor that is exactly ``RN(s * (q - z))`` of a symbolic code tensor (after
    ``aten::dequantize``, possibly reshaped). Quantizing it again is a code -> code table."""

    sym: Sym


def scope(node: Any) -> str:
    """The module path a graph node came from, for messages and IR names."""
    s = node.scopeName()
    return s.replace("__module.", "") if s else "<top level>"


def pair(v: Any) -> tuple[int, int]:
    """A kernel/stride/padding argument as (h, w): torch accepts an int or a list."""
    if isinstance(v, int):
        return (v, v)
    v = list(v)
    return (int(v[0]), int(v[-1])) if v else (1, 1)


class Builders:
    """The walk's state (set by the graph walker) and the op builders that extend it."""

    module: Any
    engine: str
    target: Target
    source: str
    input_shape: tuple[int, ...] | None
    nodes: list[ops.Node]
    env: dict[Any, Any]
    input_spec: ops.InputSpec | None
    input_value: Any
    counter: dict[str, int]
    notes: list[str]
    paths: dict[Any, str]  # graph value -> attribute path from the model (prim::GetAttr chains)

    # -- names -----------------------------------------------------------
    def owner(self, node: Any) -> str | None:
        """The submodule a node's weights come from (``fc1`` for ``fc1._packed_params._packed_params``):
        a saved or scripted model's inlined graph has no module scopes, its attribute reads do."""
        for v in node.inputs():
            path = self.paths.get(v)
            if path:
                parts = [p for p in path.split(".") if p != "_packed_params"]
                if parts:
                    return ".".join(parts)
        return None

    def where(self, node: Any) -> str:
        """The module a node came from, for messages: its trace scope, else its weights' owner."""
        return scope(node) if node.scopeName() else (self.owner(node) or scope(node))

    def layer(self, node: Any, default: str) -> str:
        """The IR name base of a node: its module's name (``fc1``; the path ``blocks.0.conv.0``
        of a saved model's weights), else ``default``."""
        if node.scopeName():
            return scope(node).split(".")[-1] or default
        return self.owner(node) or default

    # -- helpers ---------------------------------------------------------
    def fresh(self, base: str) -> str:
        k = self.counter.get(base, 0)
        self.counter[base] = k + 1
        return f"{base}{k}" if k else base

    def emit(self, node: ops.Node) -> str:
        self.nodes.append(node)
        return node.name

    def sym(self, v: Any, node: Any) -> Sym:
        s = self.env.get(v)
        if not isinstance(s, Sym):
            raise UnsupportedOpError(f"{self.source}: {node.kind()} in {self.where(node)}: expected a quantized tensor input")
        return s

    def sym_or_deq(self, v: Any, node: Any) -> tuple[Sym, bool]:
        """The symbolic tensor behind a quantized tensor or its dequantized float copy."""
        d = self.env.get(v)
        if isinstance(d, Deq):
            return d.sym, True
        return self.sym(v, node), False

    def const(self, v: Any) -> Any:
        return self.env.get(v)

    def sym_shape(self, v: Any, node: Any) -> tuple[int, ...]:
        return self.sym_shape_of(self.sym_or_deq(v, node)[0])

    def shape_of(self, v: Any, node: Any) -> tuple[int, ...]:
        """Unbatched shape of a quantized tensor, its dequantized copy or the float input."""
        d = self.env.get(v)
        if isinstance(d, FloatIn):
            if d.shape is None:
                raise ModelFormatError(f"{self.source}: the input shape is unknown; give it (e.g. --input-shape 1,8,8)")
            return d.shape
        return self.sym_shape(v, node)

    def sym_shape_of(self, s: Sym) -> tuple[int, ...]:
        """Unbatched shape of a walked tensor (the graph so far is validated on the way)."""
        return QNetwork(self.input_spec, tuple(self.nodes), ops.OutputSpec(s.name)).shapes[s.name]  # type: ignore[arg-type]

    # -- ops ---------------------------------------------------------------
    def op_aten_quantize_per_tensor(self, node: Any, ins: list) -> Sym:
        scale, zp, dtype = self.const(ins[1]), self.const(ins[2]), _dtype_code(self.const(ins[3]))
        if dtype not in _QDTYPES:
            raise UnsupportedOpError(f"{self.source}: input quantized to dtype code {dtype}; supported: quint8, qint8")
        lo, hi, _ = _QDTYPES[dtype]
        if isinstance(self.env.get(ins[0]), Deq):
            return self._requantize(node, self.env[ins[0]].sym, float(np.float32(scale)), int(zp), lo, hi)
        pre = self.env.get(ins[0])
        plain = isinstance(pre, FloatIn) and not pre.steps and pre.shape == pre.raw_shape
        if plain and self.input_spec is not None:
            q = self.input_spec.quantizer
            if q is not None and (np.float32(q.scale), q.zero_point, self.input_spec.lo, self.input_spec.hi) == (
                    np.float32(scale), int(zp), lo, hi):
                return Sym("input", q.scale, q.zero_point, lo, hi)  # the same input quantized again
        if not isinstance(pre, FloatIn) or self.input_spec is not None:
            raise UnsupportedOpError(
                f"{self.source}: quantize_per_tensor in {self.where(node)}: only the model input, or a dequantized "
                "quantized tensor, may be quantized (the model input is quantized twice with different qparams?)")
        if pre.raw_shape is None or pre.shape is None:
            raise ModelFormatError(f"{self.source}: the input shape is unknown; give it (e.g. --input-shape 1,8,8)")
        quantizer = fold(pre, float(scale), int(zp), _TORCH_QDTYPES[dtype](), lo, hi,
                         f"{self.source}: quantize_per_tensor in {self.where(node)}")
        if pre.steps:
            self.notes.append(f"input: the float pre-processing {pre.describe()} is folded into the input quantizer "
                              f"(scale {quantizer.scale:.9g}, zero point {quantizer.zero_point}, rule {quantizer.rule}): "
                              "the same code as torch for every float32 input")
        self.input_spec = ops.InputSpec(tuple(pre.raw_shape), lo, hi, quantizer)
        out = Sym("input", float(np.float32(scale)), int(zp), lo, hi)
        if pre.shape != pre.raw_shape:  # the quantizer is elementwise: quantize, then reshape, is the same
            name = self.emit(ops.Reshape(self.fresh("input.reshape"), ("input",), tuple(pre.shape)))
            out = Sym(name, out.scale, out.zero_point, lo, hi)
        return out

    def _pre_step(self, node: Any, ins: list) -> FloatIn:
        """``x - mean``, ``x / std`` ... on the float input before its QuantStub."""
        pre = self.env.get(ins[0])
        kind = node.kind()
        if not isinstance(pre, FloatIn):
            raise UnsupportedOpError(f"{self.source}: op {kind} in {self.where(node)} is not supported (only on the "
                                     "float input before its QuantStub, by a constant)")
        alpha = self.const(ins[2]) if len(ins) > 2 else 1
        step = scalar_step(kind, self.const(ins[1]), alpha, f"{self.source}: {kind} in {self.where(node)}")
        return FloatIn(pre.raw_shape, pre.shape, pre.steps + (step,))

    op_aten_sub = _pre_step
    op_aten_add = _pre_step
    op_aten_mul = _pre_step
    op_aten_div = _pre_step

    def _requantize(self, node: Any, x: Sym, scale: float, zp: int, lo: int, hi: int) -> Sym:
        """quantize_per_tensor(dequantize(x)): exact as a table over x's codes (FX inserts
        this pair around float-only ops such as a Flatten module)."""
        from bvverify.runtimes.quantize import dequantize, quantize

        if np.float32(x.scale) == np.float32(scale) and x.zero_point == zp and (x.lo, x.hi) == (lo, hi):
            return x
        codes = np.arange(x.lo, x.hi + 1, dtype=np.int64)
        table = quantize(dequantize(codes, x.scale, x.zero_point), scale, zp, lo, hi, "torch_fma")
        if np.array_equal(table, codes):
            return Sym(x.name, scale, zp, lo, hi)
        base = self.layer(node, "requant")
        name = self.emit(ops.Lookup(self.fresh(base + ".requant"), (x.name,), table, x.lo))
        return Sym(name, scale, zp, lo, hi)

    def _weights(self, w: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        import torch

        q = w.int_repr().numpy().astype(np.int64)
        if w.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric):
            if w.q_per_channel_axis() != 0:
                raise UnsupportedOpError(f"{self.source}: per-channel weights on axis {w.q_per_channel_axis()}")
            sw = w.q_per_channel_scales().numpy().astype(np.float32)
            zw = w.q_per_channel_zero_points().numpy().astype(np.int64)
            return q, sw, zw, True
        n = q.shape[0]
        return q, np.full(n, np.float32(w.q_scale())), np.full(n, int(w.q_zero_point()), np.int64), False

    def _affine(self, node: Any, x: Sym, w: Any, bias: Any, scale: float, zp: int, relu: bool,
                conv: dict | None) -> Sym:
        q, sw, zw, per_channel = self._weights(w)
        b = np.zeros(q.shape[0], np.float32) if bias is None else bias.detach().numpy().astype(np.float32)
        s_in = np.float32(x.scale)
        s_out = np.float32(scale)
        base = self.layer(node, "layer")
        acc_name = self.fresh(base + ".acc")
        in_shape = self.sym_shape_of(x) if conv is not None else ()
        int_bias = None
        if self.engine == "qnnpack":
            int_bias = qnnpack.quantize_bias(b, sw, float(s_in))
            if np.any(np.abs(int_bias) >= 2**31 - 1):
                # measured: torch saturates it in Linear but a Conv2d produced INT32_MIN-like results
                raise UnsupportedOpError(f"{self.source}: {'Conv2d' if conv else 'Linear'} in {self.where(node)}: the "
                                         "qnnpack int32 bias overflows (bias / (input scale * weight scale) >= 2^31); "
                                         "torch's kernels disagree there, so bvverify refuses it")
            profile, params = "qnnpack", {"s_in": np.float32(s_in), "sw": sw, "s_out": s_out, "z_out": np.int64(zp)}
        elif conv is not None and onednn_conv_route(self.engine, conv["groups"], zw, self.target):
            raise UnsupportedOpError(
                f"{self.source}: Conv2d in {self.where(node)} runs on oneDNN (x86 engine) and oneDNN's int8 requantization "
                f"is not modelled exactly on target {self.target} (measured: near-tie codes differ from every formula "
                "tried); run it on the fbgemm engine (--qengine fbgemm for a TorchScript file quantized for fbgemm), "
                "or import it for a CPU without AVX-512 VNNI (--target avx2), where torch runs the conv on fbgemm")
        else:
            if np.any(zw):
                raise UnsupportedOpError(f"{self.source}: {'Conv2d' if conv else 'Linear'} in {self.where(node)} has nonzero "
                                         f"weight zero points on the {self.engine} engine; fbgemm's result was measured to "
                                         "differ from the exact model on some outputs, so bvverify refuses it "
                                         "(use symmetric weight quantization)")
            profile = "fbgemm"
            params = {"s_in": np.float32(s_in), "sw": sw, "s_out": s_out, "z_out": np.int64(zp), "bias": b,
                      "per_channel": np.int64(per_channel)}
        gemm_pairs = profile == "fbgemm" and self.target.pair_saturation
        if conv is None:
            self.emit(ops.Dense(acc_name, (x.name,), q, zw, x.zero_point, int_bias, pair_saturation=gemm_pairs))
        else:
            depthwise = profile == "fbgemm" and fbgemm_depthwise(in_shape[0], q.shape, conv)
            if depthwise:
                self.notes.append(f"{base}: fbgemm's depthwise kernel saturates pair sums to int16; modelled exactly")
            groupwise = profile == "fbgemm" and fbgemm_groupwise(in_shape[0], q.shape, conv, self.target)
            if gemm_pairs and groupwise:
                self.notes.append(f"{base}: fbgemm's groupwise kernel accumulates exactly on {self.target}")
            pairs = depthwise or (gemm_pairs and not groupwise)
            self.emit(ops.Conv2d(acc_name, (x.name,), q, zw, x.zero_point, int_bias, pair_saturation=pairs, **conv))
        out = self.emit(ops.Requantize(self.fresh(base), (acc_name,), profile, params, int(zp) if relu else 0, 255))
        return Sym(out, float(s_out), int(zp), channels_last=conv is not None)

    def _linear(self, node: Any, ins: list, relu: bool) -> Sym:
        import torch

        w, b = torch.ops.quantized.linear_unpack(self.const(ins[1]))
        return self._affine(node, self.sym(ins[0], node), w, b, self.const(ins[2]), self.const(ins[3]), relu, None)

    def op_quantized_linear(self, node: Any, ins: list) -> Sym:
        return self._linear(node, ins, False)

    def op_quantized_linear_relu(self, node: Any, ins: list) -> Sym:
        return self._linear(node, ins, True)

    def _conv(self, node: Any, ins: list, relu: bool) -> Sym:
        packed = self.const(ins[1])
        w, b = packed.unpack()
        if packed.transpose():
            raise UnsupportedOpError(f"{self.source}: transposed convolution in {self.where(node)} is not supported")
        if w.dim() != 4:
            raise UnsupportedOpError(f"{self.source}: {w.dim() - 2}-d convolution in {self.where(node)} is not supported")
        conv = {"stride": tuple(packed.stride()), "padding": tuple(packed.padding()),
                "dilation": tuple(packed.dilation()), "groups": int(packed.groups())}
        return self._affine(node, self.sym(ins[0], node), w, b, self.const(ins[2]), self.const(ins[3]), relu, conv)

    def op_quantized_conv2d(self, node: Any, ins: list) -> Sym:
        return self._conv(node, ins, False)

    def op_quantized_conv2d_relu(self, node: Any, ins: list) -> Sym:
        return self._conv(node, ins, True)

    def _relu(self, node: Any, ins: list) -> Sym:
        x = self.sym(ins[0], node)
        name = self.emit(ops.Clamp(self.fresh(self.layer(node, "relu")), (x.name,), x.zero_point, x.hi))
        return Sym(name, x.scale, x.zero_point, x.zero_point, x.hi, x.channels_last)

    op_aten_relu = _relu
    op_aten_relu_ = _relu

    def op_aten_max_pool2d(self, node: Any, ins: list) -> Sym:
        x = self.sym(ins[0], node)
        k, s, p, d, ceil = (self.const(i) for i in ins[1:6])
        k = pair(k)
        s = pair(s) if s else k
        qnn = self.engine == "qnnpack" and not ceil
        if qnn and k[0] * k[1] == 1:
            raise UnsupportedOpError(f"{self.source}: qnnpack max_pool2d with a 1x1 kernel in {self.where(node)} "
                                     "(torch refuses it)")
        # qnnpack (without ceil_mode) clamps every tap index into the input: edge replication
        name = self.emit(ops.MaxPool2d(self.fresh(self.layer(node, "maxpool")), (x.name,), k, s,
                                       pair(p), pair(d), bool(ceil), "edge" if qnn else "ignore", x.lo))
        return Sym(name, x.scale, x.zero_point, x.lo, x.hi, x.channels_last)

    def op_aten_avg_pool2d(self, node: Any, ins: list) -> Sym:
        x = self.sym(ins[0], node)
        k, s, p, ceil, cip, div = (self.const(i) for i in ins[1:7])
        k = pair(k)
        s = pair(s) if s else k
        rule = "qnnpack" if self.engine == "qnnpack" else "fbgemm"
        if rule == "qnnpack" and not ceil and k[0] * k[1] == 1:
            raise UnsupportedOpError(f"{self.source}: qnnpack avg_pool2d with a 1x1 kernel in {self.where(node)} "
                                     "(torch refuses it)")
        name = self.emit(ops.AvgPool2d(self.fresh(self.layer(node, "avgpool")), (x.name,), k, s,
                                       pair(p), bool(ceil), bool(cip), div, rule, x.zero_point, x.lo, x.hi,
                                       x.channels_last, float(np.float32(x.scale)), self.target.avgpool_block))
        return Sym(name, x.scale, x.zero_point, x.lo, x.hi, x.channels_last)

    def op_aten_flatten(self, node: Any, ins: list) -> Sym | Deq | FloatIn:
        pre = self.env.get(ins[0])
        start, end = self.const(ins[1]), self.const(ins[2])
        shape = self.shape_of(ins[0], node)
        full = (1,) + shape
        nd = len(full)
        start, end = start % nd, end % nd
        if start == 0:
            raise UnsupportedOpError(f"{self.source}: flatten over the batch axis in {self.where(node)}")
        new = full[:start] + (int(np.prod(full[start : end + 1])),) + full[end + 1 :]
        if isinstance(pre, FloatIn):
            return FloatIn(pre.raw_shape, tuple(new[1:]), pre.steps)
        x, deq = self.sym_or_deq(ins[0], node)
        out = self._reshape(node, x, new[1:])
        return Deq(out) if deq else out

    def _reshape(self, node: Any, x: Sym, shape: tuple[int, ...]) -> Sym:
        name = self.emit(ops.Reshape(self.fresh(self.layer(node, "reshape")), (x.name,), tuple(shape)))
        return Sym(name, x.scale, x.zero_point, x.lo, x.hi)

    def _view(self, node: Any, ins: list) -> Sym | Deq | FloatIn:
        pre = self.env.get(ins[0])
        sizes = list(self.const(ins[1]))
        if not sizes or not (sizes[0] is BATCH or sizes[0] in (1, -1)):
            raise UnsupportedOpError(f"{self.source}: reshape in {self.where(node)} must keep the batch axis first")
        if any(v is BATCH or v is None for v in sizes[1:]):
            raise UnsupportedOpError(f"{self.source}: reshape in {self.where(node)} to sizes computed at run time")
        rest = [int(v) for v in sizes[1:]]
        size = int(np.prod(self.shape_of(ins[0], node)))
        if rest.count(-1) == 1:
            known = int(np.prod([v for v in rest if v != -1]))
            rest[rest.index(-1)] = size // max(known, 1)
        if int(np.prod(rest)) != size:
            raise UnsupportedOpError(f"{self.source}: reshape in {self.where(node)} of {size} values per sample to "
                                     f"{rest} (is the input shape right?)")
        if isinstance(pre, FloatIn):
            return FloatIn(pre.raw_shape, tuple(rest), pre.steps)
        x, deq = self.sym_or_deq(ins[0], node)
        out = self._reshape(node, x, tuple(rest))
        return Deq(out) if deq else out

    op_aten_view = _view
    op_aten_reshape = _view

    def _add(self, node: Any, ins: list, relu: bool) -> Sym:
        a, b = self.sym(ins[0], node), self.sym(ins[1], node)
        scale, zp = self.const(ins[2]), self.const(ins[3])
        params = {"sa": np.float32(a.scale), "za": np.int64(a.zero_point), "sb": np.float32(b.scale),
                  "zb": np.int64(b.zero_point), "s_out": np.float32(scale), "z_out": np.int64(zp)}
        shape = self.sym_shape_of(a)
        cl = a.channels_last and len(shape) == 3
        if len(shape) == 3 and cl != (b.channels_last and len(shape) == 3) and shape[0] > 1 and shape[1] * shape[2] > 1:
            raise UnsupportedOpError(f"{self.source}: quantized add in {self.where(node)} of tensors in different memory formats")
        if self.engine == "qnnpack":
            from bvverify.runtimes.elementwise import qnnpack_multipliers

            try:
                qnnpack_multipliers(params)
            except UnsupportedOpError as e:
                raise UnsupportedOpError(f"{self.source}: {self.where(node)}: {e}") from None
            if relu and int(zp) >= 255:
                raise UnsupportedOpError(f"{self.source}: qnnpack add_relu with output zero point 255 in {self.where(node)} "
                                         "(torch refuses it)")
        name = self.emit(ops.Add(self.fresh(self.layer(node, "add")), (a.name, b.name),
                                 "torch_" + self.engine, params, relu, 0, 255, cl, self.target.add_block))
        return Sym(name, float(np.float32(scale)), int(zp), channels_last=cl)

    def op_quantized_add(self, node: Any, ins: list) -> Sym:
        return self._add(node, ins, False)

    def op_quantized_add_relu(self, node: Any, ins: list) -> Sym:
        return self._add(node, ins, True)

    def _cat(self, node: Any, xs: list[Sym], dim: int, scale: float, zp: int) -> Sym:
        from bvverify.runtimes.elementwise import requant_table

        if dim == 0 or dim < -len(self.sym_shape_of(xs[0])) - 1:
            raise UnsupportedOpError(f"{self.source}: cat along the batch axis in {self.where(node)}")
        nd = len(self.sym_shape_of(xs[0])) + 1
        axis = (dim % nd) - 1
        names = []
        base = self.layer(node, "cat")
        shapes = [self.sym_shape_of(x) for x in xs]
        # torch's channels-last fast path: cat along channels of inputs that are all NHWC-contiguous
        fast = axis == 0 and all(len(sh) == 3 and nhwc_kernel(sh, x.channels_last) for sh, x in zip(shapes, xs))
        if fast and any(sh[0] >= 64 for sh in shapes):
            raise UnsupportedOpError(f"{self.source}: quantized cat in {self.where(node)} of channels-last inputs with 64 or "
                                     "more channels (torch's vectorised fast path is not modelled)")
        for x in xs:
            table = requant_table(x.lo, x.hi, x.scale, x.zero_point, scale, zp, scalar_path=fast)
            if np.array_equal(table, np.arange(x.lo, x.hi + 1)):
                names.append(x.name)
            else:
                names.append(self.emit(ops.Lookup(self.fresh(base + ".requant"), (x.name,), table, x.lo)))
        name = self.emit(ops.Concat(self.fresh(base), tuple(names), axis))
        return Sym(name, float(np.float32(scale)), int(zp), channels_last=all(x.channels_last for x in xs))

    def op_quantized_cat(self, node: Any, ins: list) -> Sym:
        xs = [x for x in self.const(ins[0])]
        if not all(isinstance(x, Sym) for x in xs):
            raise UnsupportedOpError(f"{self.source}: cat in {self.where(node)} mixes quantized and other tensors")
        return self._cat(node, xs, self.const(ins[1]), self.const(ins[2]), self.const(ins[3]))

    def op_aten_cat(self, node: Any, ins: list) -> Sym:
        """torch.cat of quantized tensors requantizes every input to the first input's qparams."""
        xs = [x for x in self.const(ins[0])]
        if not xs or not all(isinstance(x, Sym) for x in xs):
            raise UnsupportedOpError(f"{self.source}: cat in {self.where(node)} mixes quantized and other tensors")
        return self._cat(node, xs, self.const(ins[1]), xs[0].scale, xs[0].zero_point)

    def op_aten_dequantize(self, node: Any, ins: list) -> Deq:
        return Deq(self.sym(ins[0], node))


__all__ = ["BATCH", "Builders", "Deq", "FloatIn", "Sym", "pair", "scope"]
