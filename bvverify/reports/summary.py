"""The tables of a report, as plain data: verdict counts per engine, the slowest queries, radius figures.

Kept apart from the page writers so the HTML and the markdown show the same numbers.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bvverify.reports.records import STATUSES, Loaded, QueryResult


def short(name: str) -> str:
    """A model or property path as its file name, for tables and titles (the row's ``source`` keeps the way back)."""
    return name.rstrip("/").rsplit("/", 1)[-1] if "/" in name else name


def query_label(q: QueryResult) -> str:
    """``model, sample 3, eps 1`` for a robustness query, ``model, property.vnnlib`` for a property file."""
    if q.eps:
        return f"{short(q.model)}, sample {q.query}, eps {q.eps}"
    return f"{short(q.model)}, {short(q.query)}"


def series_name(q: QueryResult, kinds: set[str]) -> str:
    """An engine's name in tables and plots; with several input formats, the format too (the same engine
    on different query sets must not be summed into one line)."""
    return q.engine if len(kinds) <= 1 else f"{q.engine} ({q.kind})"


def by_engine(data: Loaded) -> dict[str, list[QueryResult]]:
    kinds = {q.kind for q in data.queries}
    out: dict[str, list[QueryResult]] = {}
    for q in data.queries:
        out.setdefault(series_name(q, kinds), []).append(q)
    return out


@dataclass(frozen=True)
class EngineCounts:
    engine: str
    counts: dict[str, int]
    total: int
    solved_seconds: float  # total time of the decided queries
    median_seconds: float | None  # median time of the decided queries


def verdict_counts(data: Loaded) -> list[EngineCounts]:
    rows = []
    for name, qs in by_engine(data).items():
        c = Counter(q.status for q in qs)
        times = sorted(q.seconds for q in qs if q.solved and q.seconds is not None)
        median = times[len(times) // 2] if times else None
        rows.append(EngineCounts(name, {s: c.get(s, 0) for s in STATUSES}, len(qs), sum(times), median))
    return rows


def used_statuses(rows: list[EngineCounts]) -> list[str]:
    """The verdict columns worth a column: the four states always, the others when they occur."""
    return [s for s in STATUSES if s in ("holds", "violated", "unknown", "timeout") or any(r.counts[s] for r in rows)]


def slowest(data: Loaded, n: int) -> list[QueryResult]:
    timed = [q for q in data.queries if q.seconds is not None]
    return sorted(timed, key=lambda q: -q.seconds)[:n]  # type: ignore[operator]


def crosscheck_kinds(data: Loaded) -> dict[str, int]:
    """Queries per agreement kind of the cross-check files (each query once: its bvverify row)."""
    c = Counter(q.extra.get("kind", "") for q in data.queries if q.kind == "crosscheck" and q.engine == "bvverify")
    return dict(sorted(c.items(), key=lambda kv: -kv[1]))


def radius_summary(data: Loaded) -> dict[str, int]:
    r = data.radii
    return {"samples": len(r), "exact": sum(x.exact and not x.misclassified for x in r),
            "gap": sum(not x.exact for x in r), "misclassified": sum(x.misclassified for x in r)}


__all__ = ["EngineCounts", "by_engine", "crosscheck_kinds", "query_label", "radius_summary", "series_name", "short",
           "slowest", "used_statuses", "verdict_counts"]
