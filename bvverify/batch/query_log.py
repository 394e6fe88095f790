"""An append-only JSON-lines log of decided queries, so a long multi-query run (``robust``)
keeps every answer as it goes and ``--resume`` continues it.

Line 1 is the header: what the run is (model, data, engine options, timeout, ...); each further
line is one decided query, flushed and synced to disk before the next query starts. A run killed
while writing leaves at most a torn last line: it is dropped on resume (the log is rewritten
whole, atomically, before new lines are appended). A resumed run must have the same header; a
different one is refused naming the field, since its answers would be to other questions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bvverify.batch.atomic import write_atomic
from bvverify.errors import BvverifyError

KIND = "bvverify-query-log"


class QueryLogError(BvverifyError, ValueError):
    """A log that cannot be written, is not a query log, or belongs to another run."""


class QueryLog:
    """Open with :meth:`start`; :attr:`previous` holds the records a resumed log already had."""

    def __init__(self, path: Path, previous: list[dict[str, Any]]) -> None:
        self.path = path
        self.previous = previous

    @classmethod
    def start(cls, path: str | Path, header: dict[str, Any], resume: bool) -> QueryLog:
        """A new log holding only ``header``, or with ``resume`` the existing one's records (none
        when there is no log yet), checked to belong to a run with the same header."""
        path = Path(path)
        head = {"kind": KIND, **header}
        previous = _read(path, head) if resume and path.exists() else []
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, "".join(json.dumps(r) + "\n" for r in [head, *previous]))
        except OSError as e:
            raise QueryLogError(f"{path}: cannot write the query log ({e.strerror or e})") from None
        return cls(path, previous)

    def append(self, record: dict[str, Any]) -> None:
        """One decided query, on disk before this returns."""
        try:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise QueryLogError(f"{self.path}: cannot append to the query log ({e.strerror or e})") from None


def _read(path: Path, head: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise QueryLogError(f"{path}: cannot read the query log to resume ({e})") from None
    records = []
    for n, line in enumerate(lines, start=1):
        try:
            rec = json.loads(line)
        except ValueError:
            if n == len(lines):  # torn by a kill while it was written: that query was not finished
                break
            raise QueryLogError(f"{path}, line {n}: not a JSON record; this log cannot be resumed") from None
        if not isinstance(rec, dict):
            raise QueryLogError(f"{path}, line {n}: not a JSON object; this log cannot be resumed")
        records.append(rec)
    if not records or records[0].get("kind") != KIND:
        raise QueryLogError(f"{path}, line 1: not a bvverify query log")
    for key in sorted(set(head) | set(records[0])):
        if records[0].get(key) != head.get(key):
            raise QueryLogError(f"{path}, line 1, field {key}: the log is of a run with {key} = {records[0].get(key)!r}, "
                                f"this run has {head.get(key)!r}; resume with the same options, or start a new log")
    return records[1:]


__all__ = ["KIND", "QueryLog", "QueryLogError"]
