"""Floors on what a generated suite exercised, so a generator drifting to one kind of case
(all "holds", no saturating pair) fails instead of passing vacuously."""

from __future__ import annotations

from collections import Counter

from bvverify.errors import BvverifyError

MIN_CASES = 20


class GeneratorDrift(BvverifyError, AssertionError):
    """A generated suite fell below a floor: it fails the test like an ``assert`` (and survives ``-O``)."""


class Tally:
    """Counts per case kind; ``require`` asserts floors (shares of all cases, absolute counts)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.counts: Counter[str] = Counter()

    def add(self, *kinds: str) -> None:
        """One more case, of each of ``kinds`` (e.g. its verdict, "pair_saturation")."""
        self.counts["cases"] += 1
        self.counts.update(kinds)

    def __getitem__(self, kind: str) -> int:
        return self.counts[kind]

    def __str__(self) -> str:
        return f"{self.what}: {dict(self.counts)}"

    def require(self, shares: dict[str, float] | None = None, **at_least: int) -> None:
        """Each kind in ``shares`` is at least that fraction of all cases (once there are ``MIN_CASES``:
        a quick run with a few cases is noise); each kind in ``at_least`` occurs at least that often."""
        print(f"\n{self}")  # the measured numbers, with -s
        n = self.counts["cases"]
        low = [f"{k} {self.counts[k]} < {f:.0%} of {n}" for k, f in (shares or {}).items()
               if n >= MIN_CASES and self.counts[k] < f * n]
        low += [f"{k} {self.counts[k]} < {m}" for k, m in at_least.items() if self.counts[k] < m]
        if n == 0 or low:
            raise GeneratorDrift(f"{self.what}: the generator drifted ({'; '.join(low) or 'no cases'}): "
                                 f"{dict(self.counts)}")
