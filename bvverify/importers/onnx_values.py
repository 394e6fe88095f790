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
