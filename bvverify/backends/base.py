"""What every solver back-end promises, and the one place the time budget is enforced.

A back-end takes a model (an :class:`~bvverify.encoders.intmodel.IntModel` for the ILP
back-ends, a :class:`~bvverify.backends.z3_bv.BvQuery` for the bit-vector one), a
:class:`~bvverify.backends.budget.Budget` and optionally a solution hint, and answers
``infeasible`` / ``feasible`` (with an integer value per variable) / ``unknown``.
What an answer is worth is in its :class:`Capabilities`: engines read ``exact`` to
decide whether a ``feasible`` that fails to replay is a bug (exact arithmetic) or a
floating-point tolerance artefact.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from bvverify.backends.budget import Budget
from bvverify.errors import BvverifyError, InternalError

STATUSES = ("infeasible", "feasible", "unknown")
SPENT = "time limit reached"  # the reason of an answer given without calling the solver

M = TypeVar("M")
M_contra = TypeVar("M_contra", contravariant=True)
Built = TypeVar("Built")
Hint = list  # one int (or None: no hint) per model variable, see check_hints


class BuildSpent(Exception):
    """Raised inside ``_build`` when the budget runs out during translation (never escapes
    ``solve``: it becomes an ``unknown``)."""


class UnknownSolverError(BvverifyError, ValueError):
    """A back-end name that is not registered."""


@dataclass(frozen=True)
class Capabilities:
    """``exact``: both answers come from exact (integer or rational) arithmetic, not floating
    point. ``incremental``: the library can add constraints to a solved model and solve
    again reusing its work (z3 in one process; not CP-SAT, not a MIP in HiGHS). The seam's
    ``solve`` is one-shot today: this says what a future incremental use could rely on.
    ``hints``: ``solve`` uses a solution hint; the others ignore it."""

    exact: bool
    incremental: bool
    hints: bool


@dataclass
class SolveResult:
    """``values``: one integer per model variable (``feasible`` only); ``reason``: why an
    answer is ``unknown``; ``seconds``: wall-clock time of the whole ``solve`` call."""

    status: str  # "infeasible" | "feasible" | "unknown"
    values: list[int] | None = None
    reason: str = ""
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise InternalError(f"unknown solve status {self.status!r}")
        if self.status == "feasible" and self.values is None:
            raise InternalError("a feasible answer without values")

    @property
    def solution(self) -> list[int]:
        """The values of a ``feasible`` answer (checked once, at construction)."""
        if self.values is None:
            raise InternalError(f"no solution in a {self.status!r} answer")
        return self.values


class Backend(Protocol[M_contra]):
    """A solver behind the seam. ``solve`` may use at most ``budget.left()`` seconds."""

    name: str
    capabilities: Capabilities

    def solve(self, model: M_contra, budget: Budget, hints: Hint | None = None) -> SolveResult: ...

    def keep_base(self, model: M_contra) -> None: ...


class BudgetedBackend(ABC, Generic[M, Built]):
    """The budget rule for every back-end, written once: a spent budget answers ``unknown``
    without calling the solver, and the library gets only what is left *after* the model has
    been translated (translation of a large model takes seconds of its own)."""

    name: str = ""
    capabilities: Capabilities = Capabilities(exact=True, incremental=False, hints=False)

    def solve(self, model: M, budget: Budget, hints: Hint | None = None) -> SolveResult:
        t0 = time.perf_counter()
        res = self._solve(model, budget, hints if self.capabilities.hints else None)
        res.seconds = time.perf_counter() - t0
        return res

    def _solve(self, model: M, budget: Budget, hints: Hint | None) -> SolveResult:
        if budget.expired():
            return SolveResult("unknown", reason=SPENT)
        try:
            built = self._build(model, hints, budget.expired)
        except BuildSpent:
            return SolveResult("unknown", reason=f"{SPENT} while translating the model for {self.name}")
        if budget.expired():
            return SolveResult("unknown", reason=SPENT)
        return self._run(built, budget.left())

    def keep_base(self, model: M) -> None:
        """A hint that copies of ``model`` with constraints appended will be solved next; a
        back-end whose translation is slow keeps one translation of it (default: nothing)."""

    @abstractmethod
    def _build(self, model: M, hints: Hint | None, expired: Callable[[], bool]) -> Built:
        """Translate ``model`` (and the hint, if the back-end takes one) into the library's form.
        A translation that takes seconds (CP-SAT's Python API, a constraint at a time) polls
        ``expired`` and raises :class:`BuildSpent`."""

    @abstractmethod
    def _run(self, built: Built, seconds: float | None) -> SolveResult:
        """Solve within ``seconds`` (``None``: no limit)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.capabilities}>"


def check_hints(hints: Hint | None, n_vars: int) -> Hint | None:
    """A hint is one entry per variable (``None``: no hint for that one, e.g. the internal
    variables when only an input point is known), or nothing."""
    if hints is not None and len(hints) != n_vars:
        raise InternalError(f"a hint of {len(hints)} values for a model of {n_vars} variables")
    return hints


__all__ = ["SPENT", "STATUSES", "Backend", "BuildSpent", "Hint", "BudgetedBackend", "Capabilities", "SolveResult",
           "UnknownSolverError", "check_hints"]
