"""What a report is made of, whatever file it came from: one row per decided (or undecided) query,
one row per radius search, and the witnesses worth drawing.

Every reader turns its format into these records, so the figures, tables and pages are written once
and a new result format is one reader function (see :mod:`bvverify.reports.readers`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

STATUSES = ("holds", "violated", "unknown", "timeout", "misclassified", "error", "pending")  # pending: not run yet


@dataclass(frozen=True)
class Witness:
    """A counterexample as a result file gives it: the model-domain input (floats, or codes for an
    integer-input model), its codes when known, and the outputs (codes and/or dequantized)."""

    input: tuple[float, ...]
    codes: tuple[int, ...] | None = None
    output: tuple[float, ...] | None = None  # output codes, or the dequantized values when only those are known
    label: int | None = None  # the class the sample should keep (robustness queries)
    sample: int | None = None  # index of the sample in the model's data, when the query names one
    eps: float | None = None
    eps_unit: str = "codes"
    data: str | None = None  # where the sample came from (a path, or the bundled images)


@dataclass(frozen=True)
class QueryResult:
    """One (query, engine) verdict. ``source`` is ``file:line`` (or ``file#results[i]``), for the reader's
    messages and so a reader of the page can find the row again."""

    source: str
    kind: str  # the input format: suite, robust, radius, run-instances, crosscheck
    model: str
    query: str
    engine: str
    status: str
    seconds: float | None
    eps: str = ""
    timed_out: bool = False
    reason: str = ""
    witness: Witness | None = None
    extra: dict[str, str] = field(default_factory=dict)  # format-specific columns worth a table cell

    @property
    def solved(self) -> bool:
        return self.status in ("holds", "violated")


@dataclass(frozen=True)
class RadiusResult:
    """One sample's robustness-radius search: ``radius`` proven, ``refuted_at`` with a replayed witness."""

    source: str
    model: str
    index: int
    radius: float | None
    refuted_at: float | None
    exact: bool
    misclassified: bool
    seconds: float
    eps_unit: str = "codes"


@dataclass
class Loaded:
    """Everything read from the result files of one report."""

    files: list[tuple[str, str, int]] = field(default_factory=list)  # (path, format, records)
    queries: list[QueryResult] = field(default_factory=list)
    radii: list[RadiusResult] = field(default_factory=list)

    def extend(self, other: Loaded) -> None:
        self.files += other.files
        self.queries += other.queries
        self.radii += other.radii


__all__ = ["STATUSES", "Loaded", "QueryResult", "RadiusResult", "Witness"]
