"""One wall-clock allowance per query.

``--timeout`` means the whole query for every engine: bounds, encoding and every
solver call draw on one clock, and a solver is given only what is left. Engines
pass the same :class:`Budget` down instead of a number of seconds, so no phase can
start a fresh allowance of its own (that is how limits used to overshoot).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from bvverify.errors import BvverifyError


class BudgetError(BvverifyError, ValueError):
    """A time limit that is not a positive, finite number of seconds."""


@dataclass
class Budget:
    """``seconds`` from ``start`` (``None``: no limit). Cheap to query; never negative."""

    seconds: float | None = None
    start: float = field(default_factory=time.perf_counter)

    def __post_init__(self) -> None:
        if self.seconds is not None and (not math.isfinite(self.seconds) or self.seconds <= 0):
            raise BudgetError(f"time limit {self.seconds!r}: expected a positive number of seconds")

    @classmethod
    def of(cls, limit: Budget | float | None) -> Budget:
        """The caller's budget as it is, or a new one starting now."""
        return limit if isinstance(limit, Budget) else cls(None if limit is None else float(limit))

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def left(self) -> float | None:
        """Seconds left (0 once spent), or ``None`` without a limit."""
        return None if self.seconds is None else max(0.0, self.seconds - self.elapsed())

    def expired(self) -> bool:
        return self.seconds is not None and self.elapsed() >= self.seconds
