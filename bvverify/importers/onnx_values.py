"""The values of an ONNX graph walk: code tensors, float copies of them, the float model input."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class Sym:
    """A code tensor of the IR and its quantization parameters."""

    name: str
    scale: float
    zero_point: int
    lo: int
    hi: int
    signed: bool | None = None  # int8 (else uint8) codes; default: from lo (a Relu may narrow lo to 0)

    def __post_init__(self) -> None:
        if self.signed is None:
            self.signed = self.lo < 0


@dataclass
class Deq:
    """Float32 ``f(RN(s * (q - z)))`` of a code tensor, ``f`` exact and elementwise."""

    sym: Sym
    fn: Callable[[np.ndarray], np.ndarray] | None = None


def type_range(s: Sym) -> tuple[int, int]:
    return (-128, 127) if s.signed else (0, 255)


@dataclass
class FloatInput:
    """The float model input before its QuantizeLinear, possibly reshaped (Flatten / Reshape on the
    float side: quantization is elementwise, so the reshape moves after it exactly)."""

    shape: tuple[int, ...]


@dataclass(frozen=True)
class IntAcc:
    """The exact int32 result of a ``MatMulInteger`` / ``ConvInteger`` (an IR accumulator node);
    only a ``Cast`` to float may read it (the start of a float requantization chain)."""

    name: str
    op: str
    channels: int


@dataclass(frozen=True)
class AccChain:
    """``min(max(RN(RN(float32(acc) * mul) + bias), clip_lo), clip_hi)`` per channel: the float
    ops after an :class:`IntAcc` so far; ``stage`` is the last op applied (0 Cast, 1 Mul, 2 Add,
    3 Relu / Clip), so the chain only accepts the ops after it."""

    acc: IntAcc
    mul: np.ndarray
    bias: np.ndarray
    clip_lo: float = float("-inf")
    clip_hi: float = float("inf")
    stage: int = 0
