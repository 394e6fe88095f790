"""A report assembled once from the records, then written as HTML and markdown from the same parts."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path

from bvverify.reports import figures
from bvverify.reports.gallery import Picture, pictures
from bvverify.reports.readers import read_all
from bvverify.reports.records import Loaded, QueryResult
from bvverify.reports.summary import (
    EngineCounts,
    crosscheck_kinds,
    radius_summary,
    slowest,
    used_statuses,
    verdict_counts,
)


@dataclass
class Report:
    title: str
    created: str
    data: Loaded
    counts: list[EngineCounts]
    statuses: list[str]
    slowest: list[QueryResult]
    radius: dict[str, int]
    kinds: dict[str, int]  # cross-check agreement kinds (empty without a crosscheck file)
    figures: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # name -> (caption, png)
    pictures: list[Picture] = field(default_factory=list)
    pictures_left: int = 0


def build_report(paths: list[str | Path], title: str = "bvverify report", n_slowest: int = 15,
                 max_pictures: int = 24, benchmarks: str | Path | None = None) -> Report:
    """The report of ``paths``; ``benchmarks`` is the folder a QVIP suite's networks and images are in (its CSV names
    them by the paper's alias), None to draw its counterexamples without the original."""
    data = read_all(paths)
    counts = verdict_counts(data)
    r = Report(title=title, created=datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), data=data, counts=counts,
               statuses=used_statuses(counts), slowest=slowest(data, n_slowest), radius=radius_summary(data),
               kinds=crosscheck_kinds(data))
    if data.queries:
        r.figures["verdicts"] = ("Verdicts per engine", figures.verdict_bars(data))
        r.figures["cactus"] = ("Queries decided (holds or violated) within a time, per engine", figures.cactus(data))
    if data.radii:
        r.figures["radius"] = ("Largest radius proven robust, per sample", figures.radius_histogram(data))
    r.pictures, r.pictures_left = pictures(data, max_pictures, None if benchmarks is None else Path(benchmarks))
    return r


__all__ = ["Report", "build_report"]
