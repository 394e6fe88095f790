"""One published query and what the other verifier said about it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bvverify.errors import BvverifyError

DECIDED = ("holds", "violated")


class CrosscheckDataError(BvverifyError, ValueError):
    """A result file, image file or option of a cross-check that cannot be read as given."""


@dataclass
class Claim:
    """A query and their verdict on it: ``holds``, ``violated`` or ``none`` (no answer: timeout, NA, unknown).

    The query is either a robustness ball (``x`` in model-domain input values, ``label``, ``eps`` in input
    codes) or a VNN-LIB property file. ``witness`` is their counterexample (model-domain inputs) if any."""

    source: str  # qvip-t2, qvip-t3-r4, aaai21, csv, vnncomp
    network: str  # the name the publication uses (P1-6, mnist_mlp.h5, a file name)
    model: str  # model file path or bundled name
    query: str  # sample index or property name
    eps: str
    verdict: str  # holds | violated | none
    detail: str = ""  # their own words and time
    x: np.ndarray | None = None
    label: int | None = None
    vnnlib: Path | None = None
    witness: np.ndarray | None = None
    witness_file: str = ""
    data: str = ""  # with ``query`` a sample index and no ``x``: the data file it indexes ("bundled": the bundled images)

    @property
    def key(self) -> str:
        return f"{self.source}:{self.network}:#{self.query}@{self.eps}"


def parts_of(only: str | None) -> list[str]:
    return [p.strip() for p in (only or "").split(",") if p.strip()]


def select(claims: list[Claim], only: str | None, limit: int | None) -> list[Claim]:
    """``--only A,B``: claims whose key contains any of the parts; ``--limit N``: the first N of those."""
    if only:
        claims = [c for c in claims if any(p in c.key for p in parts_of(only))]
    return claims if limit is None else claims[:limit]


def select_notes(notes: list[str], only: str | None) -> list[str]:
    """The notes (each starting with a key prefix such as ``qvip-t3-r6:P1-8:``) about what ``--only`` asks for."""
    if not only:
        return notes
    return [n for n in notes if any(p in n.split(" ", 1)[0] or n.split(" ", 1)[0] in p for p in parts_of(only))]


__all__ = ["DECIDED", "Claim", "CrosscheckDataError", "parts_of", "select", "select_notes"]
