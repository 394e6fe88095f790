"""The suite's result file: one CSV row per (query, engine), appended and flushed as each is decided.

Why a CSV written row by row: a multi-hour run that is stopped (or crashes) keeps every verdict
it reached, and a re-run skips them. A half-written last line (the process died mid-write) is cut
off before appending, so it cannot swallow the next row.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from pathlib import Path

COLUMNS = ("suite", "model", "query", "eps", "engine", "status", "seconds", "timed_out", "timeout", "published",
           "published_detail", "relation", "cex_file", "reason", "decided_by")
OLD_COLUMNS = COLUMNS[:-1]  # files written before decided_by existed still resume (the column reads empty)
Row = dict[str, str]
Key = tuple[str, str, str, str, str]  # suite, model, query, eps, engine
RERUN = ("error",)  # statuses a re-run tries again (an engine that raised may be fixed since)


def key(row: Row) -> Key:
    return row["suite"], row["model"], row["query"], row["eps"], row["engine"]


def read_rows(path: Path) -> list[Row]:
    """The rows of an earlier run (the last row per key wins); a partial last line is dropped from the file."""
    if not path.exists() or path.stat().st_size == 0:
        return []
    data = path.read_bytes()
    if not data.endswith(b"\n"):  # a crash mid-write: cut the partial line so the next append starts clean
        cut = data.rfind(b"\n") + 1
        print(f"{path}: dropping a half-written last line ({len(data) - cut} bytes)", file=sys.stderr)
        with open(path, "rb+") as f:
            f.truncate(cut)
        data = data[:cut]
    reader = csv.reader(io.StringIO(data.decode("utf-8")))
    header = next(reader, None)
    if header is None:
        return []
    old = tuple(header) == OLD_COLUMNS
    if tuple(header) != COLUMNS and not old:
        raise SystemExit(f"{path}: not a result file of this suite version (columns {header}); choose another --out")
    rows: dict[Key, Row] = {}
    for n, fields in enumerate(reader, start=2):
        if len(fields) != len(header):
            print(f"{path}:{n}: unreadable row skipped ({len(fields)} fields, expected {len(header)})", file=sys.stderr)
            continue
        row = dict(zip(header, fields))
        row.setdefault("decided_by", "")
        rows[key(row)] = row
    return list(rows.values())


KEPT = ("suite", "model", "query", "eps", "engine", "status", "seconds", "timed_out", "timeout", "decided_by", "reason")
"""The columns of a kept results file: our verdicts only. The published columns come from the benchmark
data, which is never committed; they are filled in again from the suite when the rows are read back."""


def write_kept(path: Path, rows: list[Row]) -> None:
    """Our own columns of ``rows`` (sorted, so a re-export diffs cleanly), written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(KEPT)
        for r in sorted(rows, key=lambda r: (r["model"], r["eps"], _num(r["query"]), r["engine"])):
            if r.get("status") == "misclassified":  # its reason names the image's label: data, not ours
                r = {**r, "reason": ""}
            w.writerow([" ".join(str(r.get(c, "")).splitlines()) for c in KEPT])
    os.replace(tmp, path)


def read_kept(path: Path) -> list[Row]:
    with open(path, newline="") as f:
        reader = csv.reader(f)
        if tuple(next(reader, ())) != KEPT:
            raise SystemExit(f"{path}: not a kept results file (expected the columns {', '.join(KEPT)})")
        return [dict(zip(KEPT, fields)) for fields in reader if len(fields) == len(KEPT)]


def read_any(path: Path) -> list[Row]:
    """The rows of a run file or of a kept file, told apart by the header (for ``--only-open``, which
    needs only our columns: a kept ``docs/results`` file is the usual record of an earlier pass)."""
    return read_kept(path) if read_header(path) == KEPT else read_rows(path)


def _num(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isdigit() else (1 << 62, text)


def read_header(path: Path) -> tuple[str, ...]:
    with open(path, newline="") as f:
        return tuple(next(csv.reader(f), ()))


class Writer:
    """Appends rows to the CSV, writing the header first when the file is new, each row flushed to disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.stat().st_size == 0:
            self._write(COLUMNS)
        elif read_header(path) == OLD_COLUMNS:  # an old file gains the column: rewrite it once, atomically
            rows = read_rows(path)
            tmp = path.with_suffix(".tmp")
            tmp.unlink(missing_ok=True)
            self.path = tmp
            self._write(COLUMNS)
            for row in rows:
                self.append(row)
            os.replace(tmp, path)
            self.path = path

    def append(self, row: Row) -> None:
        self._write(tuple(" ".join(str(row.get(c, "")).splitlines()) for c in COLUMNS))  # one row, one line

    def _write(self, fields: tuple[str, ...]) -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(fields)
        with open(self.path, "a", newline="") as f:
            f.write(buf.getvalue())
            f.flush()
            os.fsync(f.fileno())


__all__ = ["COLUMNS", "RERUN", "Key", "Row", "KEPT", "Writer", "key", "read_any", "read_header", "read_kept", "read_rows",
           "write_kept"]
