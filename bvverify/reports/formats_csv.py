"""The CSV result formats the report reads, each one function from rows to records.

- ``suite``: ``scripts/bench/suite.py`` (``suite_csv.COLUMNS``, with or without ``decided_by``); a
  ``violated`` row's ``cex_file`` is a VNN-COMP witness relative to the CSV's folder.
- ``run-instances``: the batch's ``summary.csv`` (``bvverify.batch.summary.COLUMNS``); the witness of a
  ``sat`` row is the VNN-COMP result file ``NAME.txt`` beside it; ``pending`` rows were not run.
- ``crosscheck``: ``crosscheck.csv`` (``bvverify.crosscheck.run.FIELDS``): two verdicts per query, the
  publication's (engine ``published: SOURCE``, no time) and ours (engine ``bvverify``), the agreement
  ``kind`` of each; a contradiction's evidence files are in ``evidence/`` beside it, and its PNG (drawn by
  the cross-check with the original sample) is shown as it is.

A format that lands later (run-instances summaries, crosscheck tables) is one more function here and
one :class:`~bvverify.reports.rows.CsvFormat` entry in :data:`CSV_FORMATS` naming the columns that identify it.
"""

from __future__ import annotations

from bvverify.engines.results import is_timeout
from bvverify.reports.records import Loaded, QueryResult, Witness
from bvverify.reports.rows import CsvFormat, CsvRows
from bvverify.reports.vnncomp import read_vnncomp

SUITE_COLUMNS = ("suite", "model", "query", "eps", "engine", "status", "seconds")
EXTRA = ("suite", "decided_by", "published", "relation")  # kept for tables when present
SUITE_STATUSES = ("holds", "violated", "unknown", "misclassified", "error")


def status_of(rows: CsvRows, line: int, row: dict[str, str], col: str, allowed: tuple[str, ...], timed_out: bool) -> str:
    """A verdict word checked against the format's words; an unknown that ran out of time is a ``timeout``."""
    s = rows.text(line, row, col).lower()
    if s not in allowed:
        raise rows.error(line, col, f"{s!r} is not a verdict ({', '.join(allowed)})")
    return "timeout" if s == "unknown" and timed_out else s


def read_suite(rows: CsvRows) -> Loaded:
    out = Loaded()
    for line, row in rows.rows:
        timed_out = rows.text(line, row, "timed_out") == "1"
        status = status_of(rows, line, row, "status", SUITE_STATUSES, timed_out)
        seconds = rows.number(line, row, "seconds")
        witness = None
        cex = rows.text(line, row, "cex_file")
        if cex:
            path = (rows.path.parent / cex)
            if not path.exists():
                raise rows.error(line, "cex_file", f"{cex!r}: no such file beside {rows.path.name} ({path})")
            w = read_vnncomp(path)
            query = rows.text(line, row, "query")
            eps = rows.number(line, row, "eps")
            witness = Witness(input=w.x, output=w.y or None, sample=int(query) if query.isdigit() else None,
                              eps=eps, eps_unit="codes")
        out.queries.append(QueryResult(
            source=f"{rows.path}:{line}", kind="suite", model=rows.text(line, row, "model"),
            query=rows.text(line, row, "query"), engine=rows.text(line, row, "engine"), status=status, seconds=seconds,
            eps=rows.text(line, row, "eps"), timed_out=timed_out, reason=rows.text(line, row, "reason"), witness=witness,
            extra={k: rows.text(line, row, k) for k in EXTRA if rows.text(line, row, k)}))
    return out


BATCH_COLUMNS = ("name", "model", "property", "result", "status", "seconds", "engine")
BATCH_WORDS = {"unsat": "holds", "sat": "violated", "timeout": "timeout", "unknown": "unknown", "error": "error",
               "pending": "pending"}


def read_run_instances(rows: CsvRows) -> Loaded:
    out = Loaded()
    for line, row in rows.rows:
        word = rows.text(line, row, "result").lower()
        if word not in BATCH_WORDS:
            raise rows.error(line, "result", f"{word!r} is not a result word ({', '.join(BATCH_WORDS)})")
        status, name = BATCH_WORDS[word], rows.text(line, row, "name")
        witness = None
        if status == "violated":
            path = rows.path.parent / f"{name}.txt"
            if not path.exists():
                raise rows.error(line, "name", f"{name!r}: its result file {path} is missing (the witness of a sat row)")
            w = read_vnncomp(path)
            witness = Witness(input=w.x, output=w.y or None) if w.x else None
        out.queries.append(QueryResult(
            source=f"{rows.path}:{line}", kind="run-instances", model=rows.text(line, row, "model"),
            query=rows.text(line, row, "property"), engine=rows.text(line, row, "engine") or "?", status=status,
            seconds=rows.number(line, row, "seconds"), timed_out=status == "timeout", reason=rows.text(line, row, "reason"),
            witness=witness, extra={"name": name}))
    return out


CROSSCHECK_COLUMNS = ("key", "source", "network", "query", "eps", "theirs", "ours", "our_seconds", "kind")
THEIRS = {"holds": "holds", "violated": "violated", "none": "unknown"}
OURS = {"holds": "holds", "violated": "violated", "unknown": "unknown", "misclassified": "misclassified", "": "error"}


def read_crosscheck(rows: CsvRows) -> Loaded:
    out = Loaded()
    for line, row in rows.rows:
        theirs, ours = rows.text(line, row, "theirs").lower(), rows.text(line, row, "ours").lower()
        if theirs not in THEIRS:
            raise rows.error(line, "theirs", f"{theirs!r} is not a claim ({', '.join(THEIRS)})")
        if ours not in OURS:
            raise rows.error(line, "ours", f"{ours!r} is not a verdict ({', '.join(v for v in OURS if v)})")
        kind, reason = rows.text(line, row, "kind"), rows.text(line, row, "our_reason")
        timed_out = OURS[ours] == "unknown" and is_timeout(reason)
        common = dict(source=f"{rows.path}:{line}", kind="crosscheck", model=rows.text(line, row, "network"),
                      query=rows.text(line, row, "query"), eps=rows.text(line, row, "eps"))
        extra = {"kind": kind, "key": rows.text(line, row, "key")}
        evidence = rows.text(line, row, "evidence").split()
        folder = rows.path.parent / "evidence"
        for name in evidence:
            if not (folder / name).is_file():
                raise rows.error(line, "evidence", f"{name!r}: no such file in {folder}")
        png = [n for n in evidence if n.endswith(".png")]
        if png:
            extra["evidence_png"] = str(folder / png[0])
        witness = None
        txt = [n for n in evidence if n.endswith(".witness.txt") or n.endswith(".their-witness.txt")]
        if txt:
            w = read_vnncomp(folder / txt[0])
            witness = Witness(input=w.x, output=w.y or None, sample=int(common["query"]) if common["query"].isdigit() else None)
        mine = txt and txt[0].endswith(".witness.txt")  # ours: they say holds, here is a counterexample
        out.queries.append(QueryResult(
            engine=f"published: {rows.text(line, row, 'source')}", status=THEIRS[theirs], seconds=None,
            reason=rows.text(line, row, "their_detail"), witness=None if mine else witness, extra=extra, **common))
        out.queries.append(QueryResult(
            engine="bvverify", status="timeout" if timed_out else OURS[ours], seconds=rows.number(line, row, "our_seconds"),
            timed_out=timed_out, reason=reason, witness=witness if mine else None, extra=extra, **common))
    return out


# every CSV format, tried in order: the first whose columns are all in the header reads the file
CSV_FORMATS: list[CsvFormat] = [CsvFormat("suite", SUITE_COLUMNS, read_suite),
                                 CsvFormat("run-instances", BATCH_COLUMNS, read_run_instances),
                                 CsvFormat("crosscheck", CROSSCHECK_COLUMNS, read_crosscheck)]

__all__ = ["BATCH_COLUMNS", "CROSSCHECK_COLUMNS", "CSV_FORMATS", "SUITE_COLUMNS", "read_crosscheck", "read_run_instances",
           "read_suite", "status_of"]
