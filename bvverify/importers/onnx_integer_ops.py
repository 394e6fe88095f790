"""``MatMulInteger`` / ``ConvInteger`` with static quantization (the walk's mixin).

The integer op's inputs are codes of a static ``QuantizeLinear`` (or of an earlier integer
kernel) and constant weights / zero points, so its int32 result is an exact ``Dense`` /
``Conv2d`` accumulator. onnxruntime turns it back into codes with separate float32 kernels,
``Cast(to float) -> Mul(constant) -> [Add(constant)] -> [Relu | Clip] -> QuantizeLinear``: with
per-channel constants and positive scales that chain is a non-decreasing function of each
accumulator, modelled exactly as a ``Requantize`` of profile ``onnxruntime_integer``
(``runtimes.ort_integer``). Any other use of the int32 result, or a float op outside that
order, is refused by op and node name. (onnxruntime's optimizer fuses ``MatMulInteger ->
Cast -> Mul`` into ``MatMulIntegerToFloat`` only when the Mul's scale is itself computed by a
``Mul`` node at run time, i.e. dynamic quantization; constant scales are folded first and the
chain stays as written: measured on onnxruntime 1.32.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bvverify.importers.onnx_values import AccChain, IntAcc, Sym
from bvverify.importers.onnx_walk_api import WalkApi
from bvverify.ir import ops
from bvverify.runtimes.ort_integer import NAME as PROFILE

F32 = np.float32
_WEIGHT_BITS = {np.dtype(np.int8): 8, np.dtype(np.uint8): 9}  # signed bits of the codes and zero points
CHAIN = "Cast(to float) -> Mul(constant) -> [Add(constant)] -> [Relu | Clip] -> QuantizeLinear"
_STAGES = ("Cast", "Mul", "Add", "Relu / Clip")


class IntegerOps(WalkApi):
    """Builders for :class:`bvverify.importers.onnx_qoperator.Walk` (which provides the helpers)."""

    # -- the integer kernels -----------------------------------------------
    def _zero_point(self, node: Any, i: int, x: Sym | None, what: str) -> np.ndarray:
        """Zero point input ``i`` as int64 (absent: 0); ``x``: the activation whose code type it must have."""
        if i >= len(node.input) or not node.input[i]:
            return np.zeros(1, np.int64)
        z = np.asarray(self.const(node, i, what))
        if z.dtype not in _WEIGHT_BITS:
            raise self.refuse(node, f"{what} of type {z.dtype}; expected int8 or uint8")
        if x is not None and (z.dtype == np.int8) != bool(x.signed):
            raise self.refuse(node, f"{what} is {z.dtype} but its input codes are {'int8' if x.signed else 'uint8'}")
        return z.astype(np.int64).ravel()

    def _integer_weights(self, node: Any, w: np.ndarray) -> tuple[np.ndarray, int]:
        if w.dtype not in _WEIGHT_BITS:
            raise self.refuse(node, f"weights of type {w.dtype} are not supported (int8 or uint8)")
        return w.astype(np.int64), _WEIGHT_BITS[w.dtype]

    def op_MatMulInteger(self, node: Any) -> IntAcc:
        x = self.sym(node, 0)
        self._flat_input(node, x)
        b = self.const(node, 1, "B")
        if b.ndim != 2:
            raise self.refuse(node, f"B has shape {list(b.shape)}; expected 2-D [K, N]")
        w, bits = self._integer_weights(node, b.T)
        n = w.shape[0]
        az = self._zero_point(node, 2, x, "a_zero_point")
        if az.size != 1:
            raise self.refuse(node, "a per-row a_zero_point is not supported (onnxruntime takes one)")
        if len(node.input) > 3 and node.input[3]:
            raw = np.asarray(self.const(node, 3, "b_zero_point"))
            if raw.dtype != b.dtype:
                raise self.refuse(node, f"b_zero_point is {raw.dtype} but B is {b.dtype}")
            if raw.ndim > 1 or raw.size not in (1, n):
                raise self.refuse(node, f"b_zero_point of shape {list(raw.shape)}; expected one or one per column ({n})")
        bz = self._zero_point(node, 3, None, "b_zero_point")
        acc = self.fresh((node.name or "matmulinteger") + ".acc")
        self.emit(ops.Dense(acc, (x.name,), w, np.broadcast_to(bz, (n,)).copy(), int(az[0]), None, weight_bits=bits))
        return IntAcc(acc, "MatMulInteger", n)

    def op_ConvInteger(self, node: Any) -> IntAcc:
        x = self.sym(node, 0)
        if len(self.shape_of(x)) != 3:
            raise self.refuse(node, f"input of shape {list(self.shape_of(x))}; 2-d convolution of [C, H, W] only")
        w4 = self.const(node, 1, "w")
        if w4.ndim != 4:
            raise self.refuse(node, f"{w4.ndim - 2}-d convolution is not supported (2-d only)")
        w, bits = self._integer_weights(node, w4)
        xz = self._zero_point(node, 2, x, "x_zero_point")
        if xz.size != 1:
            raise self.refuse(node, "a per-channel x_zero_point is not supported (onnxruntime takes one)")
        wz = self._zero_point(node, 3, None, "w_zero_point")
        if wz.size != 1:
            raise self.refuse(node, "a per-channel w_zero_point: onnxruntime's ConvInteger kernel takes one weight zero "
                                    "point (it fails at run time with 'Non per-tensor quantization is not supported')")
        kernel = self.attr(node, "kernel_shape", None)
        if kernel is not None and tuple(kernel) != tuple(w4.shape[2:]):
            raise self.refuse(node, f"kernel_shape {list(kernel)} differs from the weights' {list(w4.shape[2:])}")
        m = w.shape[0]
        acc = self.fresh((node.name or "convinteger") + ".acc")
        self.emit(ops.Conv2d(acc, (x.name,), w, np.full(m, int(wz[0]), np.int64), int(xz[0]), None, weight_bits=bits,
                             **self.conv_attrs(node)))
        return IntAcc(acc, "ConvInteger", m)

    # -- the float chain after them ------------------------------------------
    def op_Cast(self, node: Any) -> AccChain:
        from onnx import TensorProto

        v = self.env.get(node.input[0])
        if not isinstance(v, IntAcc):
            raise self.refuse(node, "not supported here: bvverify reads a Cast only as the start of "
                                    f"{CHAIN} after a MatMulInteger / ConvInteger")
        to = int(self.attr(node, "to", 0))
        if to != TensorProto.FLOAT:
            raise self.refuse(node, f"casts the int32 result of {v.op} to {TensorProto.DataType.Name(to)}; only "
                                    f"{CHAIN} is modelled")
        return AccChain(v, np.ones(v.channels, F32), np.zeros(v.channels, F32))

    def _chain_and_const(self, node: Any) -> tuple[AccChain, np.ndarray] | None:
        vals = [self.env.get(i) for i in node.input]
        chains = [v for v in vals if isinstance(v, AccChain)]
        if not chains:
            return None
        consts = [v for v in vals if isinstance(v, np.ndarray)]
        if len(vals) != 2 or len(chains) != 1 or len(consts) != 1:
            raise self.refuse(node, f"combines the float result of a MatMulInteger / ConvInteger with another tensor; "
                                    f"only constants are modelled ({CHAIN})")
        return chains[0], consts[0]

    def _per_channel(self, node: Any, chain: AccChain, c: np.ndarray, what: str) -> np.ndarray:
        """A constant as one float32 per output channel, or refused (other shapes change the tensor)."""
        if c.dtype != np.float32:
            raise self.refuse(node, f"{what} of type {c.dtype}; expected float32")
        shape = (1, *self.shape_of(Sym(chain.acc.name, 1.0, 0, 0, 0)))
        try:
            full = np.broadcast_to(c, shape) if np.broadcast_shapes(c.shape, shape) == shape else None
        except ValueError:
            full = None
        if full is None:
            raise self.refuse(node, f"{what} of shape {list(c.shape)} changes the shape {list(shape)} of the result")
        rows = full[0].reshape(shape[1], -1)
        if not np.all(rows == rows[:, :1]):
            raise self.refuse(node, f"{what} varies within an output channel; only per-tensor or per-channel "
                                    "constants are modelled")
        return rows[:, 0].astype(F32)

    def _after(self, node: Any, chain: AccChain, stage: int) -> None:
        if chain.stage >= stage:
            raise self.refuse(node, f"{node.op_type} after {_STAGES[chain.stage]} in the float ops after "
                                    f"{chain.acc.op}: only {CHAIN} is modelled, in that order")

    def op_Mul(self, node: Any) -> AccChain:
        got = self._chain_and_const(node)
        if got is None:
            raise self.refuse(node, self._why_not(node))
        chain, c = got
        self._after(node, chain, 1)
        mul = self._per_channel(node, chain, c, "the scale")
        if not (np.all(np.isfinite(mul)) and np.all(mul > 0)):
            raise self.refuse(node, f"scale {float(mul.min()):.6g}: a zero, negative or infinite scale makes the code map "
                                    "constant or decreasing; only positive finite scales are modelled")
        return AccChain(chain.acc, mul, chain.bias, stage=1)

    def op_Add(self, node: Any) -> AccChain:
        got = self._chain_and_const(node)
        if got is None:
            raise self.refuse(node, self._why_not(node))
        chain, c = got
        self._after(node, chain, 2)
        bias = self._per_channel(node, chain, c, "the bias")
        if not np.all(np.isfinite(bias)):
            raise self.refuse(node, "the bias is not finite")
        return AccChain(chain.acc, chain.mul, bias, stage=2)

    def chain_clamp(self, node: Any, chain: AccChain, lo: float, hi: float) -> AccChain:
        """Relu (``lo = 0``) or Clip on the float chain."""
        self._after(node, chain, 3)
        if not lo <= hi:
            raise self.refuse(node, f"clip range [{lo}, {hi}] is empty or NaN")
        return AccChain(chain.acc, chain.mul, chain.bias, float(F32(lo)), float(F32(hi)), 3)

    def chain_quantize(self, node: Any, chain: AccChain) -> Sym:
        scale, zp, lo, hi = self.scale_zp(node, 1, 2, "output")
        if not (np.isfinite(F32(scale)) and F32(scale) > 0):
            raise self.refuse(node, f"scale {scale} must be positive and finite")
        params = {"mul": chain.mul, "bias": chain.bias, "clip_lo": F32(chain.clip_lo), "clip_hi": F32(chain.clip_hi),
                  "s_out": F32(scale), "z_out": np.int64(zp)}
        name = self.emit(ops.Requantize(self.fresh(node.name or "requant"), (chain.acc.name,), PROFILE, params, lo, hi))
        return Sym(name, scale, zp, lo, hi)
