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


@dataclass(frozen=True)
class Property:
    """An input box (elementwise bounds, model input shape) and an output condition.

    For a float-input model the bounds are floats in the model's input domain;
    for an integer-input model they are integer codes."""

    lo: np.ndarray
    hi: np.ndarray
    output: OutputCondition
    name: str = ""
    meta: dict = field(default_factory=dict)
