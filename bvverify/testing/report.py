"""Failure messages of the assertions: what a CI log has to show for someone to act on it
without re-running anything: which query, the verdict, and the counterexample itself
(input codes compactly, what changed from the sample, the outputs)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bvverify.engines.base import Counterexample, Verdict
from bvverify.errors import BvverifyError

MAX_CODES = 80  # longer code vectors are summarized by numpy ("...")
MAX_CHANGES = 12


@dataclass
class QueryResult:
    """One decided (or undecided) query of an assertion, with what its message needs."""

    what: str  # e.g. "sample 3, eps 1 codes, label 6"
    verdict: Verdict
    index: int | None = None
    eps: float | None = None
    label: int | None = None
    predicted: int | None = None  # the counterexample's class (argmax, ties to the lowest index)

    @property
    def status(self) -> str:
        return self.verdict.status

    @property
    def cached(self) -> bool:
        return self.verdict.stats.get("cache") == "hit"


class TestingArgumentError(BvverifyError, ValueError):
    """An assertion was called with arguments that cannot mean anything (shapes, labels, model type)."""


class VerificationFailure(BvverifyError, AssertionError):
    """An assertion that failed; ``results`` holds every query's :class:`QueryResult` (the
    failing ones and the rest), so a test can inspect the verdicts and counterexamples."""

    def __init__(self, message: str, results: list[QueryResult]) -> None:
        super().__init__(message)
        self.results = results

    @property
    def failures(self) -> list[QueryResult]:
        return [r for r in self.results if r.status != "holds"]


class UnknownVerdictWarning(RuntimeWarning):
    """A query was not decided and ``allow_unknown=True`` let the assertion pass anyway."""


def codes_line(codes: np.ndarray) -> str:
    flat = np.asarray(codes).ravel()
    return np.array2string(flat, max_line_width=110, threshold=MAX_CODES, edgeitems=12, separator=" ")


def changes_line(codes: np.ndarray, base: np.ndarray) -> str:
    """``[i] a->b`` for the elements that differ from ``base`` (the sample's own codes)."""
    c, b = np.asarray(codes).ravel(), np.asarray(base).ravel()
    idx = np.nonzero(c != b)[0]
    if not len(idx):
        return "none (the sample itself)"
    shown = ", ".join(f"[{i}] {b[i]}->{c[i]}" for i in idx[:MAX_CHANGES])
    more = f", ... {len(idx) - MAX_CHANGES} more" if len(idx) > MAX_CHANGES else ""
    return f"{len(idx)} of {len(c)}: {shown}{more}"


def outputs_line(cex: Counterexample, lo: int = 0, hi: int | None = None) -> str:
    out = np.asarray(cex.output).ravel()[lo:hi]
    text = np.array2string(out, max_line_width=110, threshold=MAX_CODES, separator=" ")
    if cex.dequantized is not None:
        deq = np.asarray(cex.dequantized).ravel()[lo:hi]
        text += "  dequantized " + np.array2string(deq, precision=4, max_line_width=110, threshold=MAX_CODES,
                                                   separator=" ", suppress_small=True)
    return text


def verdict_note(v: Verdict) -> str:
    how = "from the proof cache" if v.stats.get("cache") == "hit" else f"{v.seconds:.2f} s"
    return f"engine {v.engine}, {how}"


def unknown_line(v: Verdict, timeout: float | None) -> str:
    limit = f"the {timeout:g} s timeout" if timeout is not None else "its budget"
    reason = f" ({v.reason})" if v.reason else ""
    return (f"UNKNOWN - not decided within {limit}{reason}; raise timeout=, try another engine=, "
            "or pass allow_unknown=True to accept it (with a warning)")


__all__ = ["QueryResult", "TestingArgumentError", "UnknownVerdictWarning", "VerificationFailure", "changes_line",
           "codes_line", "outputs_line", "unknown_line", "verdict_note"]
