"""Where a suite row's model and sample are, for its counterexample picture.

A QVIP suite's CSV (``qvip-t2``, ``qvip-t3-rR``) names its network by the paper's alias (``P1-8``) and its
sample by the MNIST test index: neither can be loaded as written. With the benchmarks folder
(``bvverify report --benchmarks DIR`` or ``$BVVERIFY_BENCHMARKS``) the suite's own mapping,
:func:`bvverify.crosscheck.sources_qvip.suite_files`, gives the network file and the image file, so the
picture gets its original, the difference and the interpreter's outputs on both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bvverify.errors import BvverifyError
from bvverify.reports.records import QueryResult

HINT = ("a QVIP suite names its network by the paper's alias: give the benchmarks folder "
        "(bvverify report --benchmarks DIR, or set BVVERIFY_BENCHMARKS) to draw the original, the difference and its outputs")


@dataclass(frozen=True)
class Source:
    """What to load for one query: ``model`` a bundled name or a path; ``data`` the samples file (None: the
    witness's own, or the bundled images); ``note`` why a suite's files could not be found."""

    model: str
    data: str | None
    note: str = ""


class BenchmarkSources:
    """Resolves suite rows against a benchmarks folder (or None), each suite's mapping read once."""

    def __init__(self, bench: Path | None) -> None:
        self.bench = None if bench is None else Path(bench)
        self._files: dict[str, dict[str, tuple[str, str]] | str] = {}  # suite -> mapping, or why there is none

    def of(self, q: QueryResult) -> Source:
        from bvverify.crosscheck.sources_qvip import QVIP_SUITE

        data = q.witness.data if q.witness is not None else None
        suite = q.extra.get("suite", "") if q.kind == "suite" else ""
        if not QVIP_SUITE.fullmatch(suite):
            return Source(q.model, data)
        if self.bench is None:
            return Source(q.model, data, HINT)
        files = self._suite(self.bench, suite)
        if isinstance(files, str):
            return Source(q.model, data, files)
        if q.model not in files:
            return Source(q.model, data, f"{q.model!r} is not a network of {suite} with a published file in {self.bench} "
                                         f"(its networks: {', '.join(sorted(files)) or 'none'})")
        h5, images = (self.bench / rel for rel in files[q.model])
        if not h5.is_file():
            return Source(q.model, data, f"{suite}'s {q.model} is {h5}, which is not there")
        return Source(str(h5), data or str(images))

    def _suite(self, bench: Path, suite: str) -> dict[str, tuple[str, str]] | str:
        if suite not in self._files:
            from bvverify.crosscheck.sources_qvip import suite_files

            try:
                self._files[suite] = suite_files(bench, suite)
            except BvverifyError as e:
                self._files[suite] = f"the benchmarks folder does not give {suite}'s networks ({e})"
        return self._files[suite]


__all__ = ["HINT", "BenchmarkSources", "Source"]
