"""onnxruntime's QLinearAdd, QLinearAveragePool and QLinearGlobalAveragePool (com.microsoft)
as exact IR (the walk's mixin): ``Add`` with rule ``onnxruntime`` (``runtimes.ort_add``) and
``AvgPool2d`` with rule ``onnxruntime`` (the integer global kernel) or ``onnxruntime_float``
(the float kernel: exact in the interpreter and the bounds; the encoders take it where
``runtimes.ort_pool`` proves it an integer sum + step table, and refuse it by name otherwise).
quantize_static writes them in QOperator form; in QDQ form onnxruntime's own optimizer fuses
DQ -> Add / AveragePool / GlobalAveragePool -> Q into them."""

from __future__ import annotations

from typing import Any

import numpy as np

from bvverify.errors import UnsupportedOpError
from bvverify.importers.onnx_values import Sym, type_range
from bvverify.importers.onnx_walk_api import WalkApi
from bvverify.ir import ops
from bvverify.runtimes.ort_pool import RULE_FLOAT, RULE_INT
from bvverify.runtimes.pooling import avgpool_code_fn, avgpool_kind, avgpool_plan


class QLinearOps(WalkApi):
    """Builders for :class:`bvverify.importers.onnx_qoperator.Walk` (which provides the helpers)."""

    def _same_type(self, node: Any, xs: list[Sym], out: tuple[int, int]) -> None:
        for x in xs:
            if type_range(x) != out:
                raise self.refuse(node, f"input codes {type_range(x)} and output codes {out} differ in type; "
                                        "onnxruntime's kernel takes one type")

    def _positive(self, node: Any, *scales: float) -> None:
        """The rules (and the bounds' corner evaluation) rely on every map being increasing."""
        if not all(np.isfinite(np.float32(s)) and np.float32(s) > 0 for s in scales):
            raise self.refuse(node, f"scales {[float(s) for s in scales]} must be positive and finite")

    def op_QLinearAdd(self, node: Any) -> Sym:
        if any(isinstance(self.env.get(node.input[i]), np.ndarray) for i in (0, 3)):
            raise self.refuse(node, "adds a constant (a bias): onnxruntime computes a constant or broadcast operand with "
                                    "another formula, not modelled; export the layer as Gemm so the bias lands in QGemm's "
                                    "int32 accumulator")
        a, b = self.sym(node, 0), self.sym(node, 3)
        sa, za, _, _ = self.scale_zp(node, 1, 2, "A")
        sb, zb, _, _ = self.scale_zp(node, 4, 5, "B")
        so, zo, lo, hi = self.scale_zp(node, 6, 7, "C")
        self._positive(node, sa, sb, so)
        self._check_in(node, a, sa, za)
        self._check_in(node, b, sb, zb)
        self._same_type(node, [a, b], (lo, hi))
        if self.shape_of(a) != self.shape_of(b):
            raise self.refuse(node, f"broadcasts {list(self.shape_of(a))} with {list(self.shape_of(b))}; onnxruntime "
                                    "computes a broadcast operand with another formula, not modelled (only inputs of "
                                    "one shape, as in a residual add, are supported)")
        params = {"sa": np.float32(sa), "sb": np.float32(sb), "s_out": np.float32(so), "za": np.int64(za),
                  "zb": np.int64(zb), "z_out": np.int64(zo)}
        name = self.emit(ops.Add(self.fresh(node.name or "qlinearadd"), (a.name, b.name), "onnxruntime", params,
                                 False, lo, hi))
        return Sym(name, so, zo, lo, hi)

    def _pool(self, node: Any, kernel: tuple[int, int], stride: tuple[int, int], pads: tuple[int, int],
              count_include_pad: bool, rule: str) -> Sym:
        x = self.sym(node)
        xs, xz, _, _ = self.scale_zp(node, 1, 2, "x")
        ys, yz, lo, hi = self.scale_zp(node, 3, 4, "y")
        self._positive(node, xs, ys)
        self._check_in(node, x, xs, xz)
        self._same_type(node, [x], (lo, hi))
        if self.attr(node, "channels_last", 0):
            raise self.refuse(node, "channels_last=1 is not supported (NCHW only)")
        pool = ops.AvgPool2d(self.fresh(node.name or "avgpool"), (x.name,), kernel, stride, pads, False,
                             count_include_pad, None, rule, int(xz), lo, hi, scale=float(np.float32(xs)),
                             out_scale=float(np.float32(ys)), out_zero_point=int(yz))
        try:  # the plan and the integer kernel's multiplier now, so a refusal names the ONNX node (the float
            # kernel's integer-sum table is the encoders' business: the interpreter runs the kernel itself)
            shape = self.shape_of(x)
            _, wins = avgpool_plan(pool, shape)  # type: ignore[arg-type]
            if rule == RULE_INT:
                avgpool_code_fn(pool, avgpool_kind(pool, shape, 0), wins[0].n)  # type: ignore[arg-type]
        except UnsupportedOpError as e:
            raise self.refuse(node, str(e)) from None
        name = self.emit(pool)
        return Sym(name, ys, yz, lo, hi)

    def _image(self, node: Any) -> tuple[int, int, int]:
        shape = self.shape_of(self.sym(node))
        if len(shape) != 3:
            raise self.refuse(node, f"input of shape {list(shape)}; 2-d pooling of [C, H, W] only")
        return shape  # type: ignore[return-value]

    def op_QLinearGlobalAveragePool(self, node: Any) -> Sym:
        _, h, w = self._image(node)
        return self._pool(node, (h, w), (1, 1), (0, 0), False, RULE_INT)

    def op_QLinearAveragePool(self, node: Any) -> Sym:
        _, h, w = self._image(node)
        if self.attr(node, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise self.refuse(node, "auto_pad is not supported (explicit pads only)")
        if self.attr(node, "ceil_mode", 0):
            raise self.refuse(node, "ceil_mode=1 is not supported")
        k = tuple(int(v) for v in self.attr(node, "kernel_shape", []))
        if len(k) != 2:
            raise self.refuse(node, f"{len(k)}-d pooling is not supported (2-d only)")
        pads = [int(v) for v in self.attr(node, "pads", [0, 0, 0, 0])]
        if pads[:2] != pads[2:]:
            raise self.refuse(node, f"asymmetric pads {pads} are not supported")
        stride = tuple(int(v) for v in self.attr(node, "strides", [1, 1]))
        cip = bool(self.attr(node, "count_include_pad", 0))
        if k == (h, w) and not any(pads):  # onnxruntime runs its integer global kernel here
            return self._pool(node, (h, w), (1, 1), (0, 0), False, RULE_INT)
        return self._pool(node, k, stride, (pads[0], pads[1]), cip, RULE_FLOAT)  # type: ignore[arg-type]
