"""Engine options, typed and checked once, where they enter.

The CLI, the benchmark scripts and library callers build one frozen
:class:`EngineOptions`; its checks name the command-line option at fault, so a
wrong engine, solver, bounds method or step encoding is refused before any model
is read, and an option that does not apply to the chosen engine is an error rather
than silently ignored. Engines receive the resolved values (``ilp_solver``,
``ilp_steps``), never a string to re-check.
"""

from __future__ import annotations

from dataclasses import dataclass

from bvverify.backends import ILP_BACKENDS
from bvverify.bounds import METHODS as BOUND_METHODS
from bvverify.encoders.ilp import STEP_ENCODINGS
from bvverify.errors import BvverifyError

ENGINES = ("auto", "ilp", "bv", "bounds", "attack")
DEFAULT_ENGINE = "auto"
EXACT_SOLVER_ENGINES = ("ilp", "auto")  # engines whose exact phase is an ILP back-end (--solver applies)
DEFAULT_SOLVER = "cpsat"
# The step-function encoding each ILP solver gets with ``steps="auto"``, measured on the QVIP
# Table 2 queries CP-SAT left open at 30 s: with one ordered binary per threshold CP-SAT proved
# 3 of 3 robust ones it could not with the rounding form; HiGHS and z3 showed no gain.
STEPS_FOR = {"cpsat": "thresholds"}


def resolve_steps(solver: str, steps: str) -> str:
    """The step encoding ``steps`` means for ``solver`` (``auto``: the measured default)."""
    return STEPS_FOR.get(solver, "rounding") if steps == "auto" else steps


class OptionError(BvverifyError, ValueError):
    """An engine option that does not exist, or does not apply to the chosen engine."""


@dataclass(frozen=True)
class EngineOptions:
    """How to decide a query. ``solver`` and ``steps`` apply to the engines with an ILP phase
    (``ilp``, ``auto``); ``seed`` to the ones that search (``auto``, ``attack``): the same seed gives
    the same search, so a verdict and its statistics are reproducible."""

    engine: str = DEFAULT_ENGINE
    solver: str | None = None
    bounds: str = "symbolic"
    steps: str = "auto"
    split: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise OptionError(f"--engine {self.engine!r}: unknown verification engine (available: {', '.join(ENGINES)})")
        if self.bounds not in BOUND_METHODS:
            raise OptionError(f"--bounds {self.bounds!r}: expected one of {', '.join(BOUND_METHODS)}")
        if self.solver is not None:
            if self.engine not in EXACT_SOLVER_ENGINES:
                raise OptionError(f"--solver {self.solver} applies to --engine {' and '.join(EXACT_SOLVER_ENGINES)} only "
                                  f"(this run uses --engine {self.engine})")
            if self.solver not in ILP_BACKENDS:
                raise OptionError(f"--solver {self.solver!r}: unknown ILP solver (available: {', '.join(ILP_BACKENDS)})")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise OptionError(f"--seed {self.seed!r}: expected a whole number >= 0")
        if self.steps != "auto":
            if self.engine not in EXACT_SOLVER_ENGINES:
                raise OptionError(f"step encoding {self.steps!r} applies to --engine {' and '.join(EXACT_SOLVER_ENGINES)} only")
            if self.steps not in STEP_ENCODINGS:
                raise OptionError(f"step encoding {self.steps!r}: expected auto or one of {', '.join(STEP_ENCODINGS)}")

    @classmethod
    def parse(cls, spec: str) -> EngineOptions:
        """A compact spec as the benchmark scripts take it: ``auto``, ``auto:highs``, ``attack``, ``bv``,
        ``bounds:interval``, ``ilp:highs``."""
        name, _, option = spec.partition(":")
        if name == "auto":
            return cls("auto", solver=option or None)
        if name == "attack" and not option:
            return cls("attack")
        if name == "bounds":
            return cls("bounds", bounds=option or "symbolic")
        if name == "ilp":
            return cls("ilp", solver=option or None)
        if name == "bv":
            return cls("bv", bounds=option or "symbolic")
        raise OptionError(f"engine {spec!r}: use one of auto[:{'|'.join(ILP_BACKENDS)}], attack, bounds[:symbolic|interval], "
                          f"bv[:symbolic|interval], ilp[:{'|'.join(ILP_BACKENDS)}]")

    @property
    def ilp_solver(self) -> str:
        return self.solver or DEFAULT_SOLVER

    @property
    def ilp_steps(self) -> str:
        return resolve_steps(self.ilp_solver, self.steps)

    @property
    def label(self) -> str:
        """The engine's name in verdicts: ``ilp/cpsat``, ``auto``, ``bv``, ``bounds``, ``attack``."""
        return f"ilp/{self.ilp_solver}" if self.engine == "ilp" else self.engine


__all__ = ["DEFAULT_ENGINE", "DEFAULT_SOLVER", "ENGINES", "EXACT_SOLVER_ENGINES", "STEPS_FOR", "EngineOptions", "OptionError",
           "resolve_steps"]
