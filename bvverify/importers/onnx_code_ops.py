"""ONNX ops that move or clamp codes without arithmetic (the walk's mixin): Relu / Clip on codes
(literal: ``max(q, 0)``; on a dequantized float copy they become part of an exact code table),
MaxPool, Flatten / Reshape (also of the float input before its quantizer), Identity, and
Transpose of constants."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bvverify.importers.onnx_values import AccChain, Deq, FloatInput, Sym
from bvverify.importers.onnx_walk_api import WalkApi
from bvverify.ir import ops


class CodeOps(WalkApi):
    """Builders for :class:`bvverify.importers.onnx_qoperator.Walk` (which provides the helpers)."""

    def op_Relu(self, node: Any) -> Sym | Deq | AccChain:
        v = self.env.get(node.input[0])
        if isinstance(v, AccChain):
            return self.chain_clamp(node, v, 0.0, float("inf"))
        if isinstance(v, Deq):
            return self._float_map(v, lambda a: np.maximum(a, np.float32(0)))
        x = self.sym(node)
        lo = max(x.lo, 0)
        name = self.emit(ops.Clamp(self.fresh(node.name or "relu"), (x.name,), lo, x.hi))
        return Sym(name, x.scale, x.zero_point, lo, x.hi, x.signed)

    def op_Clip(self, node: Any) -> Sym | Deq | AccChain:
        lo_v = self.const(node, 1, "min") if len(node.input) > 1 and node.input[1] else None
        hi_v = self.const(node, 2, "max") if len(node.input) > 2 and node.input[2] else None
        if lo_v is None and self.attr(node, "min", None) is not None:  # Clip before opset 11: attributes
            lo_v = np.float32(self.attr(node, "min", None))
        if hi_v is None and self.attr(node, "max", None) is not None:
            hi_v = np.float32(self.attr(node, "max", None))
        v = self.env.get(node.input[0])
        if isinstance(v, AccChain):
            if any(b is not None and np.asarray(b).size != 1 for b in (lo_v, hi_v)):
                raise self.refuse(node, "min / max must be scalars")
            return self.chain_clamp(node, v, -np.inf if lo_v is None else float(np.float32(np.asarray(lo_v).ravel()[0])),
                                    np.inf if hi_v is None else float(np.float32(np.asarray(hi_v).ravel()[0])))
        if isinstance(v, Deq):
            a_lo = np.float32(-np.inf) if lo_v is None else np.float32(lo_v)
            a_hi = np.float32(np.inf) if hi_v is None else np.float32(hi_v)
            return self._float_map(v, lambda a: np.minimum(np.maximum(a, a_lo), a_hi))
        x = self.sym(node)
        lo = x.lo if lo_v is None else max(x.lo, int(lo_v))
        hi = x.hi if hi_v is None else min(x.hi, int(hi_v))
        if lo > hi:
            raise self.refuse(node, f"clip range [{lo}, {hi}] is empty")
        name = self.emit(ops.Clamp(self.fresh(node.name or "clip"), (x.name,), lo, hi))
        return Sym(name, x.scale, x.zero_point, lo, hi, x.signed)

    @staticmethod
    def _float_map(v: Deq, f: Callable[[np.ndarray], np.ndarray]) -> Deq:
        g = v.fn
        return Deq(v.sym, f if g is None else (lambda a: f(g(a))))

    def op_MaxPool(self, node: Any) -> Sym:
        x = self.sym(node)
        if self.attr(node, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise self.refuse(node, "auto_pad is not supported (explicit pads only)")
        if self.attr(node, "storage_order", 0):
            raise self.refuse(node, "storage_order=1 is not supported")
        k = list(self.attr(node, "kernel_shape", []))
        if len(k) != 2:
            raise self.refuse(node, f"{len(k)}-d pooling is not supported (2-d only)")
        pads = list(self.attr(node, "pads", [0, 0, 0, 0]))
        if pads[:2] != pads[2:]:
            raise self.refuse(node, f"asymmetric pads {pads} are not supported")
        name = self.emit(ops.MaxPool2d(self.fresh(node.name or "maxpool"), (x.name,), (int(k[0]), int(k[1])),
                                       tuple(self.attr(node, "strides", [1, 1])), (int(pads[0]), int(pads[1])),
                                       tuple(self.attr(node, "dilations", [1, 1])),
                                       bool(self.attr(node, "ceil_mode", 0)), "ignore", x.lo))
        return Sym(name, x.scale, x.zero_point, x.lo, x.hi, x.signed)

    def _reshape(self, node: Any, shape: tuple[int, ...]) -> Sym | Deq:
        v = self.env.get(node.input[0])
        x = v.sym if isinstance(v, Deq) else self.sym(node)
        if isinstance(v, Deq) and v.fn is not None:
            raise self.refuse(node, "reshapes a float tensor")
        if tuple(shape) == self.shape_of(x):
            return v
        name = self.emit(ops.Reshape(self.fresh(node.name or "reshape"), (x.name,), tuple(shape)))
        s = Sym(name, x.scale, x.zero_point, x.lo, x.hi, x.signed)
        return Deq(s) if isinstance(v, Deq) else s

    def op_Flatten(self, node: Any) -> Sym | Deq | FloatInput:
        axis = int(self.attr(node, "axis", 1))
        if axis != 1:
            raise self.refuse(node, f"axis={axis}; only axis=1 (keep the batch axis) is supported")
        v = self.env.get(node.input[0])
        if isinstance(v, FloatInput):
            return FloatInput((int(np.prod(v.shape)),))
        x = v.sym if isinstance(v, Deq) else self.sym(node)
        return self._reshape(node, (int(np.prod(self.shape_of(x))),))

    def op_Reshape(self, node: Any) -> Sym | Deq | FloatInput:
        want = [int(d) for d in self.const(node, 1, "shape").ravel()]
        v = self.env.get(node.input[0])
        if isinstance(v, FloatInput):
            return FloatInput(self._reshaped(node, want, v.shape))
        x = v.sym if isinstance(v, Deq) else self.sym(node)
        return self._reshape(node, self._reshaped(node, want, self.shape_of(x)))

    def _reshaped(self, node: Any, want: list[int], have: tuple[int, ...]) -> tuple[int, ...]:
        """The unbatched shape ONNX Reshape ``want`` (batch axis first) gives a tensor of shape ``have``."""
        if not want or want[0] not in (0, 1, -1) or (want[0] == -1 and -1 in want[1:]):
            raise self.refuse(node, f"shape {want} does not keep the batch axis first")
        rest = [have[i] if d == 0 and i < len(have) else d for i, d in enumerate(want[1:])]
        if -1 in rest:
            known = int(np.prod([d for d in rest if d != -1]))
            rest[rest.index(-1)] = int(np.prod(have)) // max(known, 1)
        if int(np.prod(rest)) != int(np.prod(have)):
            raise self.refuse(node, f"shape {want} does not fit the tensor's shape {list(have)}")
        return tuple(rest)

    def op_Identity(self, node: Any) -> Any:
        return self.env.get(node.input[0])

    def op_Transpose(self, node: Any) -> np.ndarray:
        v = self.env.get(node.input[0])
        if not isinstance(v, np.ndarray):
            raise self.refuse(node, "transposes an activation; only constants may be transposed")
        perm = self.attr(node, "perm", None)
        return np.transpose(v, None if perm is None else list(perm))
