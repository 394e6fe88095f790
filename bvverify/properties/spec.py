"""Properties: an input region and an output condition describing a violation.

VNN-LIB meaning throughout: the property is *violated* iff some input in the
region makes the output condition true; a solver's "satisfiable" is a
counterexample. Coefficients and bounds are exact rationals (``Fraction``),
never floats, so no rounding happens between the file and the encoders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from bvverify.errors import BvverifyError


class PropertyError(BvverifyError, ValueError):
    """A property that cannot mean anything: unknown units, fractional code bounds."""


@dataclass(frozen=True)
class Linear:
    """``sum(c * Y[j] for j, c in terms) <= rhs`` (``< rhs`` when ``strict``)."""

    terms: tuple[tuple[int, Fraction], ...]
    rhs: Fraction
    strict: bool = False

    def holds(self, y: np.ndarray) -> bool:
        """Exact evaluation on one output vector (integers or float32 values)."""
        total = sum((c * Fraction(float(y[j])) if not isinstance(y[j], (int, np.integer)) else c * int(y[j])
                     for j, c in self.terms), Fraction(0))
        return total < self.rhs if self.strict else total <= self.rhs

    def __str__(self) -> str:
        lhs = " + ".join(f"{c}*Y_{j}" for j, c in self.terms) or "0"
        return f"{lhs} {'<' if self.strict else '<='} {self.rhs}"


@dataclass(frozen=True)
class OutputCondition:
    """A disjunction of conjunctions of linear constraints over the outputs.

    ``over`` says what ``Y_j`` is: ``"codes"`` (the integer output codes) or
    ``"dequantized"`` (the runtime's float32 dequantized outputs)."""

    clauses: tuple[tuple[Linear, ...], ...]
    over: str = "codes"

    def holds(self, y: np.ndarray) -> bool:
        return any(all(c.holds(y) for c in clause) for clause in self.clauses)


UNITS = ("model", "codes")


@dataclass(frozen=True)
class Property:
    """An input box (elementwise bounds, model input shape) and an output condition.

    ``units`` says what the bounds are, explicitly: ``"model"``, the model's own input
    domain (floats for a float-input model, codes for an integer-input one, as in a
    VNN-LIB file), or ``"codes"``, integer input codes whatever the model takes (a
    robustness ball taken in code units: every float whose code lies in the box)."""

    lo: np.ndarray
    hi: np.ndarray
    output: OutputCondition
    name: str = ""
    meta: dict = field(default_factory=dict)
    units: str = "model"
    # the code box of this property per network, computed once per query (see boxes.code_box)
    boxes: dict = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.units not in UNITS:
            raise PropertyError(f"input region units {self.units!r}: expected one of {', '.join(UNITS)}")
        if self.units == "codes" and any(np.any(b != np.round(b)) for b in map(np.asarray, (self.lo, self.hi))):
            raise PropertyError("an input region in codes needs whole-number bounds")
