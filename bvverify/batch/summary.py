"""The batch's summary: counts per result word, a CSV row and a markdown table row per instance."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from bvverify.batch.atomic import write_atomic
from bvverify.batch.job import WORDS, Job, JobResult

COLUMNS = ("name", "model", "property", "timeout", "result", "status", "seconds", "engine", "reason")


def counts(results: list[JobResult | None]) -> dict[str, int]:
    """Instances per result word, and ``pending`` for those without a result."""
    out = {w: sum(r is not None and r.word == w for r in results) for w in WORDS}
    out["pending"] = sum(r is None for r in results)
    return out


def rows(jobs: list[Job], results: list[JobResult | None]) -> list[dict[str, str]]:
    """A row per instance in CSV order; an error's message is its reason, a pending one has no result."""
    out = []
    for job, r in zip(jobs, results):
        out.append({"name": job.name, "model": job.model, "property": job.prop, "timeout": f"{job.timeout:g}",
                    "result": r.word if r else "pending", "status": r.status if r else "",
                    "seconds": f"{r.seconds:.2f}" if r else "", "engine": r.engine if r else "",
                    "reason": (r.message or r.reason) if r else ""})
    return out


def write_summary(folder: Path, jobs: list[Job], results: list[JobResult | None]) -> tuple[Path, Path]:
    """``summary.csv`` and ``summary.md`` in ``folder``, each written atomically."""
    table = rows(jobs, results)
    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(table)
    csv_path, md_path = folder / "summary.csv", folder / "summary.md"
    write_atomic(csv_path, buf.getvalue())
    write_atomic(md_path, markdown(table, counts(results)))
    return csv_path, md_path


def markdown(table: list[dict[str, str]], tally: dict[str, int]) -> str:
    keys = [k for k, v in tally.items() if v or k != "pending"]
    lines = ["# Batch results", "", "| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys),
             "| " + " | ".join(str(tally[k]) for k in keys) + " |", "",
             "| instance | result | seconds | reason |", "| --- | --- | ---: | --- |"]
    for r in table:
        reason = r["reason"].replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {r['name']} | {r['result']} | {r['seconds']} | {reason} |")
    return "\n".join(lines) + "\n"


__all__ = ["COLUMNS", "counts", "markdown", "rows", "write_summary"]
