"""``QNetwork``: an immutable, validated integer network and its reference semantics."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from bvverify.errors import InputShapeError
from bvverify.ir import check, interp, ops, serialize
from bvverify.runtimes.base import get_profile
from bvverify.runtimes.quantize import dequantize, quantize


@dataclass(frozen=True, eq=False)
class QNetwork:
    """A quantized network as it runs: integer codes in, integer codes out.

    ``evaluate(x)`` takes a batch ``[N, *input.shape]`` of floats (when the
    network has an input quantizer) or integer codes, and returns int64 output
    codes ``[N, *output_shape]``. ``meta`` records provenance (source format,
    engine, notes) and never changes semantics.
    """

    input: ops.InputSpec
    nodes: tuple[ops.Node, ...]
    output: ops.OutputSpec
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        shapes = check.infer(self.input, self.nodes)
        if self.output.name not in shapes:
            raise check.ModelFormatError(f"output tensor {self.output.name!r} is not defined")
        object.__setattr__(self, "_shapes", shapes)

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Unbatched shape of every tensor, by name."""
        return dict(self._shapes)  # type: ignore[attr-defined]

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self._shapes[self.output.name]  # type: ignore[attr-defined]

    @property
    def integer_input(self) -> bool:
        return self.input.quantizer is None

    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        """Map float inputs to integer codes with the network's own input quantizer."""
        q = self.input.quantizer
        if q is None:
            return self._check_codes(x)
        arr = self._check_batch(np.asarray(x), float_ok=True)
        if not np.all(np.isfinite(arr.astype(np.float64))):
            raise InputShapeError("input contains NaN or infinite values")
        return quantize(arr, q.scale, q.zero_point, self.input.lo, self.input.hi, q.rule)

    def _check_batch(self, x: np.ndarray, float_ok: bool) -> np.ndarray:
        shape = tuple(self.input.shape)
        if x.shape == shape:
            x = x[None]
        if x.shape[1:] != shape:
            raise InputShapeError(f"input batch has shape {x.shape}, the model takes [N, {', '.join(map(str, shape))}]")
        if x.dtype.kind not in ("iub" + ("f" if float_ok else "")):
            raise InputShapeError(f"input has dtype {x.dtype}, expected {'numbers' if float_ok else 'integers'}")
        return x

    def _check_codes(self, q: np.ndarray) -> np.ndarray:
        arr = np.asarray(q)
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
                raise InputShapeError("integer-input network: input codes must be whole numbers")
            arr = arr.astype(np.int64)
        arr = self._check_batch(arr, float_ok=False).astype(np.int64)
        if arr.size and (arr.min() < self.input.lo or arr.max() > self.input.hi):
            raise InputShapeError(
                f"input codes span [{arr.min()}, {arr.max()}], the model takes [{self.input.lo}, {self.input.hi}]")
        return arr

    def evaluate_codes(self, codes: np.ndarray, keep: tuple[str, ...] = ()) -> np.ndarray | dict[str, np.ndarray]:
        """Run the integer network on input codes; with ``keep``, return those tensors too."""
        q = self._check_codes(codes)
        want = (self.output.name,) + tuple(k for k in keep if k != self.output.name)
        env = interp.run(self.nodes, q, want)
        return env if keep else env[self.output.name]

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """Integer output codes for a batch of inputs (floats are quantized first)."""
        return self.evaluate_codes(self.quantize_input(x))  # type: ignore[return-value]

    def dequantize(self, codes: np.ndarray) -> np.ndarray:
        """Float32 outputs as the runtime's output dequantizer computes them."""
        if self.output.scale is None:
            return np.asarray(codes, dtype=np.float32)
        return dequantize(codes, self.output.scale, self.output.zero_point)

    def save(self, path: str | Path) -> None:
        """Write the lossless native single-file format (see ``ir.serialize``)."""
        serialize.save(self, path)

    @cached_property
    def accumulator_report(self) -> list[dict]:
        from bvverify.ir.ranges import accumulator_report

        return accumulator_report(self.input, self.nodes, self._shapes)  # type: ignore[attr-defined]

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description: layers, shapes, parameters, profiles."""
        acc = {r["node"]: r for r in self.accumulator_report}
        layers = []
        for node in self.nodes:
            d: dict[str, Any] = {"name": node.name, "op": node.op, "inputs": list(node.inputs),
                                 "shape": list(self._shapes[node.name])}  # type: ignore[attr-defined]
            if isinstance(node, (ops.Dense, ops.Conv2d)):
                w = np.asarray(node.weight)
                d.update(weight_shape=list(w.shape), weight_bits=node.weight_bits,
                         weight_range=[int(w.min()), int(w.max())], x_zero=int(node.x_zero),
                         w_zero="per-channel" if np.unique(node.w_zero).size > 1 else int(np.asarray(node.w_zero)[0]),
                         int_bias=node.bias is not None, acc_bits=node.acc_bits,
                         pair_saturation=node.pair_saturation, accumulator=acc.get(node.name))
                if isinstance(node, ops.Conv2d):
                    d.update(stride=list(node.stride), padding=list(node.padding),
                             dilation=list(node.dilation), groups=node.groups)
            elif isinstance(node, ops.Requantize):
                d.update(profile=node.profile, clamp=[node.lo, node.hi],
                         detail=get_profile(node.profile).describe(node.params),
                         params={k: _brief(v) for k, v in node.params.items()})
            elif isinstance(node, (ops.Clamp, ops.AvgPool2d, ops.Add)):
                d.update(clamp=[node.lo, node.hi])
                if isinstance(node, ops.Add):
                    d.update(vec_block=node.vec_block)
                if isinstance(node, ops.AvgPool2d):
                    d.update(vec_channels=node.vec_channels)
            layers.append(d)
        q = self.input.quantizer
        return {
            "input": {"shape": list(self.input.shape), "codes": [self.input.lo, self.input.hi],
                      "quantizer": None if q is None else {"scale": float(np.float32(q.scale)),
                                                           "zero_point": q.zero_point, "rule": q.rule}},
            "output": {"tensor": self.output.name, "shape": list(self.output_shape),
                       "scale": None if self.output.scale is None else float(np.float32(self.output.scale)),
                       "zero_point": self.output.zero_point},
            "layers": layers,
            "target": self.meta.get("target"),
            "meta": {k: v for k, v in self.meta.items()
                     if isinstance(v, (str, int, float, bool, list)) and k != "torch_probes"},
        }


def _brief(v: np.ndarray) -> Any:
    a = np.asarray(v)
    if a.size == 1:
        x = a.ravel()[0]
        return x.item()
    return {"per_channel": int(a.size), "min": a.min().item(), "max": a.max().item()}
