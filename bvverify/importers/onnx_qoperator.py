"""Walk an onnxruntime-optimized ONNX graph (QOperator form) into the integer IR.

Each tensor of the walk is a code tensor (:class:`Sym`), a constant (numpy), the
float model input, or a float copy of a code tensor (:class:`Deq`: DequantizeLinear
then exact elementwise float ops such as Relu / Clip). The integer kernels:

- QGemm / QLinearMatMul / QLinearConv: a ``Dense`` / ``Conv2d`` accumulator (int32
  bias added into it) and an ``onnxruntime`` ``Requantize``
  (``q = sat(rne(RN(float32(acc) * RN(RN(a_s * b_s) / y_s))) + y_zp)``);
- QuantizeLinear of the model input: the input quantizer (``div`` rule); of a
  ``Deq``: a code -> code ``Lookup`` computed from the exact float ops;
- QLinearAdd (``Add``, rule ``onnxruntime``), QLinearAveragePool / QLinearGlobalAveragePool
  (``AvgPool2d``, rules ``onnxruntime`` / ``onnxruntime_float``): ``onnx_qlinear_ops``;
- MatMulInteger / ConvInteger of static codes: a ``Dense`` / ``Conv2d`` accumulator, and the float
  ops onnxruntime runs after it (``Cast -> Mul -> [Add] -> [Relu | Clip] -> QuantizeLinear``) a
  ``Requantize`` of profile ``onnxruntime_integer``: ``onnx_integer_ops``;
- Relu / Clip on codes (literal: ``max(q, 0)``), MaxPool, Flatten, Reshape, Identity;
  Transpose only of constants.

Everything else is refused by op, node name and reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bvverify.errors import ModelFormatError, UnsupportedOpError
from bvverify.importers.onnx_code_ops import CodeOps
from bvverify.importers.onnx_integer_ops import CHAIN, IntegerOps
from bvverify.importers.onnx_qlinear_ops import QLinearOps
from bvverify.importers.onnx_values import AccChain, Deq, FloatInput, IntAcc, Sym, type_range
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork
from bvverify.runtimes.quantize import dequantize, quantize

_CODE_RANGES = {np.dtype(np.uint8): (0, 255), np.dtype(np.int8): (-128, 127)}
DYNAMIC = "dynamic quantization computes its scales at run time; quantize statically (quantize_static)"
_REFUSED = {
    "DynamicQuantizeLinear": DYNAMIC,
    "DynamicQuantizeMatMul": "onnxruntime's fusion of DynamicQuantizeLinear -> MatMulInteger: " + DYNAMIC,
    "MatMulIntegerToFloat": ("onnxruntime's fusion of MatMulInteger -> Cast -> Mul(a_scale * b_scale computed at run "
                             "time) -> [Add], a float output kernel (dynamic quantization), not modelled; quantize "
                             "statically (quantize_static)"),
}
_FLOAT_KERNELS = {"Gemm", "MatMul", "Conv", "Add", "Mul", "Sub", "Div", "Sigmoid", "Tanh", "Softmax", "AveragePool",
                  "GlobalAveragePool", "BatchNormalization"}



class Walk(CodeOps, QLinearOps, IntegerOps):
    """One import: the optimized ModelProto in, a QNetwork out."""

    def __init__(self, source: str, model: Any) -> None:
        from onnx import numpy_helper

        self.source = source
        self.graph = model.graph
        self.env: dict[str, Any] = {i.name: numpy_helper.to_array(i) for i in self.graph.initializer}
        self.nodes: list[ops.Node] = []
        self.input_spec: ops.InputSpec | None = None
        self.input_shape: tuple[int, ...] = ()
        self.used: set[str] = set()

    # -- helpers -----------------------------------------------------------
    def where(self, node: Any) -> str:
        return f"{self.source}: {node.op_type} (node {node.name or '<unnamed>'})"

    def refuse(self, node: Any, why: str) -> UnsupportedOpError:
        return UnsupportedOpError(f"{self.where(node)}: {why}")

    def fresh(self, base: str) -> str:
        base = base or "node"
        name, k = base, 1
        while name in self.used or name == "input":
            name, k = f"{base}_{k}", k + 1
        self.used.add(name)
        return name

    def emit(self, node: ops.Node) -> str:
        self.nodes.append(node)
        return node.name

    def const(self, node: Any, i: int, what: str) -> np.ndarray:
        if i >= len(node.input) or not node.input[i]:
            raise self.refuse(node, f"input {i} ({what}) is missing")
        v = self.env.get(node.input[i])
        if not isinstance(v, np.ndarray):
            raise self.refuse(node, f"{what} ({node.input[i]}) must be a constant initializer")
        return v

    def sym(self, node: Any, i: int = 0) -> Sym:
        v = self.env.get(node.input[i])
        if isinstance(v, Sym):
            return v
        if isinstance(v, (IntAcc, AccChain)):
            op = v.op if isinstance(v, IntAcc) else v.acc.op
            raise self.refuse(node, f"reads the int32 result of {op} {'' if isinstance(v, IntAcc) else '(through float ops) '}"
                                    f"({node.input[i]}); bvverify models that result only as {CHAIN}")
        if isinstance(v, (Deq, FloatInput)):
            raise self.refuse(node, "runs in float32 on a dequantized tensor (onnxruntime did not fuse it into an integer "
                                    "kernel); bvverify models only integer kernels")
        raise self.refuse(node, f"input {node.input[i]!r} is not a quantized tensor")

    def shape_of(self, s: Sym) -> tuple[int, ...]:
        return QNetwork(self.input_spec, tuple(self.nodes), ops.OutputSpec(s.name)).shapes[s.name]  # type: ignore[arg-type]

    def scale_zp(self, node: Any, si: int, zi: int, what: str) -> tuple[float, int, int, int]:
        """A per-tensor (scale, zero point, lo, hi) of an activation."""
        s = self.const(node, si, f"{what} scale")
        z = self.const(node, zi, f"{what} zero point") if zi < len(node.input) and node.input[zi] else np.uint8(0)
        if s.size != 1 or np.asarray(z).size != 1:
            raise self.refuse(node, f"per-axis {what} quantization of an activation is not supported")
        if np.asarray(z).dtype not in _CODE_RANGES:
            raise self.refuse(node, f"{what} type {np.asarray(z).dtype} is not supported (int8 or uint8)")
        lo, hi = _CODE_RANGES[np.asarray(z).dtype]
        return float(np.float32(s.ravel()[0])), int(np.asarray(z).ravel()[0]), lo, hi

    def attr(self, node: Any, name: str, default: Any) -> Any:
        from onnx import helper

        for a in node.attribute:
            if a.name == name:
                return helper.get_attribute_value(a)
        return default

    # -- the walk ----------------------------------------------------------
    def run(self, out_range: tuple[int, int] | None = None) -> QNetwork:
        """The network; ``out_range``: the output code type of the file as written (onnxruntime's x86
        optimizer turns int8 QDQ activations into uint8 ones with zero points + 128: the same
        arithmetic shifted by 128, shifted back at the output)."""
        self._input()
        self.out_range = out_range
        for node in self.graph.node:
            if node.domain not in ("", "ai.onnx", "com.microsoft"):
                raise self.refuse(node, f"operator domain {node.domain!r} is not supported")
            fn = getattr(self, "op_" + node.op_type, None)
            if fn is None:
                raise self.refuse(node, self._why_not(node))
            out = fn(node)
            self.env[node.output[0]] = out
            for extra in node.output[1:]:
                if extra:
                    raise self.refuse(node, f"a second output ({extra}) is not supported")
        return self._network()

    def _why_not(self, node: Any) -> str:
        if node.op_type in _REFUSED:
            return "not supported: " + _REFUSED[node.op_type]
        if node.op_type in _FLOAT_KERNELS:
            return ("runs in float32 (onnxruntime did not turn it into an integer kernel: its inputs or outputs are not "
                    "quantized with the DequantizeLinear / QuantizeLinear pattern onnxruntime fuses); bvverify models "
                    "only integer kernels")
        return "not supported in a quantized ONNX model by bvverify"

    def _input(self) -> None:
        from onnx import TensorProto

        inits = {i.name for i in self.graph.initializer}
        real = [i for i in self.graph.input if i.name not in inits]
        if len(real) != 1:
            raise ModelFormatError(f"{self.source}: the graph has {len(real)} inputs; bvverify takes one input tensor")
        vi = real[0]
        t = vi.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
        if len(dims) < 2 or None in dims[1:]:
            raise ModelFormatError(f"{self.source}: input {vi.name!r} has shape {dims}: expected [batch, fixed sizes...]")
        if dims[0] not in (None, 1):
            raise ModelFormatError(f"{self.source}: input {vi.name!r} has batch size {dims[0]}; expected 1 or dynamic")
        self.input_shape = tuple(int(d) for d in dims[1:])
        if t.elem_type == TensorProto.FLOAT:
            self.env[vi.name] = FloatInput(self.input_shape)
        elif t.elem_type in (TensorProto.UINT8, TensorProto.INT8):
            lo, hi = (0, 255) if t.elem_type == TensorProto.UINT8 else (-128, 127)
            self.input_spec = ops.InputSpec(self.input_shape, lo, hi, None)
            self.env[vi.name] = Sym("input", 1.0, 0, lo, hi)
        else:
            raise ModelFormatError(f"{self.source}: input {vi.name!r} has element type "
                                   f"{TensorProto.DataType.Name(t.elem_type)}; expected float, int8 or uint8")

    def _network(self) -> QNetwork:
        name = self.graph.output[0].name
        v = self.env.get(name)
        if isinstance(v, Deq) and v.fn is None:
            v = v.sym
            dequantized = True
        elif isinstance(v, Sym):
            dequantized = False
        else:
            v = None
        if v is not None:
            v = self._shift_to(v, self.out_range)
            out = ops.OutputSpec(v.name, v.scale if dequantized else None, v.zero_point)
        elif isinstance(v, (IntAcc, AccChain)):
            op = v.op if isinstance(v, IntAcc) else v.acc.op
            raise UnsupportedOpError(f"{self.source}: output {name!r} is the int32 result of {op} or float ops on it, "
                                     f"not codes; bvverify models that result only as {CHAIN}")
        else:
            raise ModelFormatError(f"{self.source}: output {name!r} is not a quantized tensor or its DequantizeLinear")
        if self.input_spec is None:
            raise ModelFormatError(f"{self.source}: the model input is never quantized")
        return QNetwork(self.input_spec, tuple(self.nodes), out, {})

    def _shift_to(self, v: Sym, want: tuple[int, int] | None) -> Sym:
        """The output codes in the file's own code type (see ``run``)."""
        if want is None or want == type_range(v):
            return v
        shift = want[0] - type_range(v)[0]
        codes = np.arange(v.lo, v.hi + 1, dtype=np.int64)
        name = self.emit(ops.Lookup(self.fresh("output_codes"), (v.name,), codes + shift, v.lo))
        return Sym(name, v.scale, v.zero_point + shift, v.lo + shift, v.hi + shift, want[0] < 0)

    # -- quantize / dequantize ---------------------------------------------
    def op_QuantizeLinear(self, node: Any) -> Sym:
        scale, zp, lo, hi = self.scale_zp(node, 1, 2, "output")
        x = self.env.get(node.input[0])
        if isinstance(x, FloatInput):
            if self.input_spec is not None:
                raise self.refuse(node, "the model input is quantized twice")
            self.input_spec = ops.InputSpec(self.input_shape, lo, hi, ops.InputQuantizer(scale, zp, "div"))
            if x.shape == self.input_shape:
                return Sym("input", scale, zp, lo, hi)
            name = self.emit(ops.Reshape(self.fresh("input_reshape"), ("input",), x.shape))
            return Sym(name, scale, zp, lo, hi)
        if isinstance(x, Deq):
            return self._requantize(node, x, scale, zp, lo, hi)
        if isinstance(x, AccChain):
            return self.chain_quantize(node, x)
        raise self.refuse(node, "quantizes a tensor that is neither the model input nor a dequantized code tensor")

    def _requantize(self, node: Any, x: Deq, scale: float, zp: int, lo: int, hi: int) -> Sym:
        """QuantizeLinear(f(DequantizeLinear(q))): a table over every code of q, exact."""
        s = x.sym
        codes = np.arange(s.lo, s.hi + 1, dtype=np.int64)
        v = dequantize(codes, s.scale, s.zero_point)
        if x.fn is not None:
            v = x.fn(v)
        table = quantize(v, scale, zp, lo, hi, "div")
        if np.array_equal(table, codes) and (lo < 0) == s.signed:
            return Sym(s.name, scale, zp, s.lo, s.hi, s.signed)
        name = self.emit(ops.Lookup(self.fresh(node.name or "requant"), (s.name,), table, s.lo))
        return Sym(name, scale, zp, lo, hi)

    def op_DequantizeLinear(self, node: Any) -> Deq | np.ndarray:
        if isinstance(self.env.get(node.input[0]), np.ndarray):  # a weight left to a float kernel
            w = self.const(node, 0, "x")
            return dequantize(w, float(self.const(node, 1, "scale").ravel()[0]), 0).astype(np.float32)
        x = self.sym(node)
        scale, zp, _, _ = self.scale_zp(node, 1, 2, "input")
        if np.float32(scale) != np.float32(x.scale) or zp != x.zero_point:
            raise self.refuse(node, f"dequantizes with scale {scale} / zero point {zp}, but the tensor was quantized "
                                    f"with {x.scale} / {x.zero_point}")
        return Deq(x)

    # -- integer kernels ---------------------------------------------------
    def _weights(self, node: Any, w: np.ndarray, ws: np.ndarray, wz: np.ndarray, n: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """Weight codes, per-output-channel float32 scales and zero points, weight bits."""
        if w.dtype not in _CODE_RANGES:
            raise self.refuse(node, f"weights of type {w.dtype} are not supported (int8 or uint8)")
        if ws.size not in (1, n) or np.asarray(wz).size not in (1, n):
            raise self.refuse(node, f"weight scales / zero points have {ws.size} / {np.asarray(wz).size} entries; "
                                    f"expected 1 or {n} (per output channel)")
        sw = np.broadcast_to(ws.astype(np.float32).ravel(), (n,)).copy()
        zw = np.broadcast_to(np.asarray(wz).astype(np.int64).ravel(), (n,)).copy()
        return w.astype(np.int64), sw, zw, 8 if w.dtype == np.int8 else 9

    def _affine(self, node: Any, x: Sym, q: np.ndarray, sw: np.ndarray, zw: np.ndarray, bits: int,
                bias: np.ndarray | None, y: tuple[float, int, int, int], conv: dict | None) -> Sym:
        y_scale, y_zp, lo, hi = y
        if bias is not None:
            if bias.dtype != np.int32:
                raise self.refuse(node, f"bias of type {bias.dtype}; expected int32")
            bias = bias.astype(np.int64).ravel()
            if bias.size != q.shape[0]:
                raise self.refuse(node, f"bias has {bias.size} entries for {q.shape[0]} outputs")
        base = node.name or node.op_type
        acc = self.fresh(base + ".acc")
        if conv is None:
            self.emit(ops.Dense(acc, (x.name,), q, zw, x.zero_point, bias, weight_bits=bits))
        else:
            self.emit(ops.Conv2d(acc, (x.name,), q, zw, x.zero_point, bias, weight_bits=bits, **conv))
        params = {"s_in": np.float32(x.scale), "sw": sw, "s_out": np.float32(y_scale), "z_out": np.int64(y_zp)}
        out = self.emit(ops.Requantize(self.fresh(base), (acc,), "onnxruntime", params, lo, hi))
        return Sym(out, y_scale, y_zp, lo, hi)

    def _flat_input(self, node: Any, x: Sym) -> None:
        if len(self.shape_of(x)) != 1:
            raise self.refuse(node, f"input of shape {self.shape_of(x)} (unbatched); bvverify takes [batch, features] here "
                                    "(Flatten first)")

    def op_QGemm(self, node: Any) -> Sym:
        x = self.sym(node)
        a_scale, a_zp, _, _ = self.scale_zp(node, 1, 2, "A")
        if self.attr(node, "transA", 0):
            raise self.refuse(node, "transA=1 is not supported")
        if float(self.attr(node, "alpha", 1.0)) != 1.0:
            raise self.refuse(node, "alpha != 1 is not supported")
        if len(node.input) < 8 or not node.input[7]:
            raise self.refuse(node, "a float output (no y_scale) is not supported")
        self._check_in(node, x, a_scale, a_zp)
        self._flat_input(node, x)
        b = self.const(node, 3, "B")
        if b.ndim != 2:
            raise self.refuse(node, f"B has shape {b.shape}; expected 2-D")
        w = b if self.attr(node, "transB", 0) else b.T
        q, sw, zw, bits = self._weights(node, w, self.const(node, 4, "B scale"), self.const(node, 5, "B zero point"),
                                        w.shape[0])
        bias = self.const(node, 6, "C") if len(node.input) > 6 and node.input[6] else None
        return self._affine(node, x, q, sw, zw, bits, bias, self.scale_zp(node, 7, 8, "Y"), None)

    def op_QLinearMatMul(self, node: Any) -> Sym:
        x = self.sym(node)
        a_scale, a_zp, _, _ = self.scale_zp(node, 1, 2, "a")
        self._check_in(node, x, a_scale, a_zp)
        self._flat_input(node, x)
        b = self.const(node, 3, "b")
        if b.ndim != 2:
            raise self.refuse(node, f"b has shape {b.shape}; expected 2-D [K, N]")
        w = b.T
        q, sw, zw, bits = self._weights(node, w, self.const(node, 4, "b scale"), self.const(node, 5, "b zero point"),
                                        w.shape[0])
        return self._affine(node, x, q, sw, zw, bits, None, self.scale_zp(node, 6, 7, "y"), None)

    def op_QLinearConv(self, node: Any) -> Sym:
        x = self.sym(node)
        x_scale, x_zp, _, _ = self.scale_zp(node, 1, 2, "x")
        self._check_in(node, x, x_scale, x_zp)
        w = self.const(node, 3, "w")
        if w.ndim != 4:
            raise self.refuse(node, f"{w.ndim - 2}-d convolution is not supported (2-d only)")
        conv = self.conv_attrs(node)
        q, sw, zw, bits = self._weights(node, w, self.const(node, 4, "w scale"), self.const(node, 5, "w zero point"),
                                        w.shape[0])
        bias = self.const(node, 8, "B") if len(node.input) > 8 and node.input[8] else None
        return self._affine(node, x, q, sw, zw, bits, bias, self.scale_zp(node, 6, 7, "y"), conv)

    def conv_attrs(self, node: Any) -> dict:
        """A 2-d convolution's stride / padding / dilation / groups as ``ops.Conv2d`` takes them."""
        if self.attr(node, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise self.refuse(node, "auto_pad is not supported (explicit pads only)")
        pads = list(self.attr(node, "pads", [0, 0, 0, 0]))
        if pads[:2] != pads[2:]:
            raise self.refuse(node, f"asymmetric pads {pads} are not supported")
        return {"stride": tuple(self.attr(node, "strides", [1, 1])), "padding": (int(pads[0]), int(pads[1])),
                "dilation": tuple(self.attr(node, "dilations", [1, 1])), "groups": int(self.attr(node, "group", 1))}

    def _check_in(self, node: Any, x: Sym, scale: float, zp: int) -> None:
        if np.float32(scale) != np.float32(x.scale) or zp != x.zero_point:
            raise self.refuse(node, f"reads its input with scale {scale} / zero point {zp}, but it was quantized with "
                                    f"{x.scale} / {x.zero_point} (the kernel's arithmetic then differs from its graph)")
