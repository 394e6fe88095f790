"""The integer IR: typed, frozen nodes with explicit integer semantics.

Every tensor between nodes holds integers (codes or accumulators). A node names
its input tensors (``"input"`` or an earlier node's name); its own output tensor
carries the node's name. Shapes exclude the batch axis; channels come first for
images (C, H, W), as in torch.

Core ops and what they compute, exactly:

- :class:`Dense` / :class:`Conv2d`: ``acc = sum (q - x_zero) * (w - w_zero) + bias``,
  exact, then wrapped to ``acc_bits`` two's complement. Padded conv positions
  hold ``x_zero`` (they contribute 0). ``pair_saturation`` models non-VNNI x86
  kernels that saturate each adjacent u8*s8 pair sum to int16.
- :class:`Requantize`: per channel, ``clamp(profile(acc), lo, hi)``: a monotone
  step function described exactly by the runtime profile.
- :class:`Clamp`, :class:`MaxPool2d`, :class:`Reshape`, :class:`Concat`.
- :class:`Lookup`: an arbitrary elementwise map of codes given as a table
  (used for requantizing concat inputs and other unary code->code maps).
- :class:`AvgPool2d`, :class:`Add`: runtime-specific integer/float formulas.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class Node:
    name: str
    inputs: tuple[str, ...]

    @property
    def op(self) -> str:
        return type(self).__name__


@dataclass(frozen=True, eq=False)
class Dense(Node):
    weight: np.ndarray  # int64 [out, in]
    w_zero: np.ndarray  # int64 [out]
    x_zero: int
    bias: np.ndarray | None = None  # int64 [out], added to the accumulator
    acc_bits: int = 32
    pair_saturation: bool = False
    weight_bits: int = 8


@dataclass(frozen=True, eq=False)
class Conv2d(Node):
    weight: np.ndarray  # int64 [out, in/groups, kh, kw]
    w_zero: np.ndarray  # int64 [out]
    x_zero: int
    bias: np.ndarray | None = None
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    acc_bits: int = 32
    pair_saturation: bool = False
    weight_bits: int = 8


@dataclass(frozen=True, eq=False)
class Requantize(Node):
    profile: str
    params: Mapping[str, np.ndarray] = field(default_factory=dict)
    lo: int = 0
    hi: int = 255


@dataclass(frozen=True, eq=False)
class Clamp(Node):
    lo: int
    hi: int


@dataclass(frozen=True, eq=False)
class MaxPool2d(Node):
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    ceil_mode: bool = False
    pad_mode: str = "ignore"  # "ignore": padding never wins; "edge": taps clamped into the input (qnnpack)
    floor: int = -(2**31)  # result = max(floor, valid taps); torch starts from the dtype's lowest code


@dataclass(frozen=True, eq=False)
class AvgPool2d(Node):
    """Quantized average pooling (output qparams = input qparams, except onnxruntime's).

    ``rule`` is the runtime (``fbgemm`` covers the x86 engine too, ``qnnpack``,
    ``onnxruntime`` / ``onnxruntime_float``: see ``runtimes.ort_pool``, where the output
    has its own ``out_scale`` / ``out_zero_point``);
    ``channels_last`` says whether the input is channels-last contiguous in
    memory, which selects torch's NHWC kernel; ``scale`` is the input scale
    (qnnpack's multiplier depends on it)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int] = (0, 0)
    ceil_mode: bool = False
    count_include_pad: bool = True
    divisor_override: int | None = None
    rule: str = "fbgemm"
    zero_point: int = 0
    lo: int = 0
    hi: int = 255
    channels_last: bool = False
    scale: float = 1.0
    vec_channels: int = 16  # NHWC kernel: channels in whole vector blocks (16 with AVX-512, 8 with AVX2)
    out_scale: float | None = None  # onnxruntime rules only: the output's own scale / zero point
    out_zero_point: int | None = None


@dataclass(frozen=True, eq=False)
class Add(Node):
    """Elementwise quantized add (optionally fused ReLU) of two code tensors.

    torch's fbgemm/x86 kernel computes most elements on a vector path and the
    last ``numel % vec_block`` elements (memory order, one sample) on a scalar path
    with different float rounding; ``channels_last`` fixes the memory order and
    ``vec_block`` is the target CPU's vector width in codes (64 with AVX-512, 32 with AVX2)."""

    rule: str
    params: Mapping[str, np.ndarray] = field(default_factory=dict)
    relu: bool = False
    lo: int = 0
    hi: int = 255
    channels_last: bool = False
    vec_block: int = 64


@dataclass(frozen=True, eq=False)
class Lookup(Node):
    """``out = table[q - domain_lo]`` for codes in ``[domain_lo, domain_lo + len(table))``."""

    table: np.ndarray
    domain_lo: int = 0


@dataclass(frozen=True, eq=False)
class Concat(Node):
    axis: int = 0  # axis of the un-batched tensor


@dataclass(frozen=True, eq=False)
class Reshape(Node):
    shape: tuple[int, ...]


@dataclass(frozen=True)
class InputQuantizer:
    """Float -> code map of the network input (see ``runtimes.quantize``)."""

    scale: float
    zero_point: int
    rule: str = "torch_fma"


@dataclass(frozen=True)
class InputSpec:
    shape: tuple[int, ...]
    lo: int = 0
    hi: int = 255
    quantizer: InputQuantizer | None = None  # None: the network takes integer codes


@dataclass(frozen=True)
class OutputSpec:
    """The output tensor; ``scale``/``zero_point`` when the runtime dequantizes it."""

    name: str
    scale: float | None = None
    zero_point: int = 0


NODE_TYPES: dict[str, type[Node]] = {
    t.__name__: t for t in (Dense, Conv2d, Requantize, Clamp, MaxPool2d, AvgPool2d, Add, Lookup, Concat, Reshape)
}
