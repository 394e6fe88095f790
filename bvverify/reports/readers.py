"""Result files -> report records, the format told by the content: a JSON document by its keys, a CSV
by its header. Anything else is refused with the file, line and column that did not fit.

Adding a format is one function ``(rows: CsvRows) -> Loaded`` and one entry in
``formats_csv.CSV_FORMATS`` (its name and the columns that identify it), or one entry in
``formats_json.JSON_FORMATS``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bvverify.reports.formats_csv import CSV_FORMATS
from bvverify.reports.formats_json import JSON_FORMATS
from bvverify.reports.records import Loaded
from bvverify.reports.rows import CsvRows, ReportInputError


def read_results(path: str | Path) -> Loaded:
    """One result file, any supported format."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ReportInputError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise ReportInputError(f"{p}: a folder, not a result file (give the CSV or JSON files in it)") from None
    except OSError as e:
        raise ReportInputError(f"{p}: cannot read ({e.strerror})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ReportInputError(f"{p}: byte {e.start}: not a UTF-8 text file") from None
    if not text.strip():
        raise ReportInputError(f"{p}: the file is empty")
    if text.lstrip().startswith(("{", "[")):
        return read_json(p, text)
    return read_csv(p, text)


def read_json(path: Path, text: str) -> Loaded:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ReportInputError(f"{path}:{e.lineno}: column {e.colno}: not valid JSON ({e.msg})") from None
    if not isinstance(doc, dict):
        raise ReportInputError(f"{path}:1: column 1: expected a JSON object (bvverify robust/radius --json), got a list")
    for name, matches, read in JSON_FORMATS:
        if matches(doc):
            loaded = read(path, doc)
            loaded.files.append((str(path), name, len(loaded.queries) + len(loaded.radii)))
            return loaded
    raise ReportInputError(f"{path}:1: column 1: a JSON document with keys {sorted(doc)[:8]} is none of "
                           f"{', '.join(n for n, _, _ in JSON_FORMATS)} (expected the output of bvverify robust --json "
                           "or bvverify radius --json)")


def read_csv(path: Path, text: str) -> Loaded:
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader)]
    for fmt in CSV_FORMATS:
        if all(c in header for c in fmt.columns):
            rows = CsvRows(path, header, list(_rows(path, header, reader)))
            loaded = fmt.read(rows)
            loaded.files.append((str(path), fmt.name, len(loaded.queries) + len(loaded.radii)))
            return loaded
    known = "; ".join(f"{f.name}: {', '.join(f.columns)}" for f in CSV_FORMATS)
    raise ReportInputError(f"{path}:1: header {','.join(header)[:120]!r} is not a result format the report reads "
                           f"(each needs these columns: {known})")


def _rows(path: Path, header: list[str], reader: Any) -> Iterator[tuple[int, dict[str, str]]]:
    for fields in reader:
        line = reader.line_num
        if not fields or all(not f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            raise ReportInputError(f"{path}:{line}: {len(fields)} fields, the header has {len(header)} "
                                   "(a truncated or hand-edited row?)")
        yield line, dict(zip(header, fields))


def read_all(paths: list[str | Path]) -> Loaded:
    """Every file given, in order; the first unreadable one stops the report (its message says where)."""
    out = Loaded()
    for p in paths:
        out.extend(read_results(p))
    return out


__all__ = ["ReportInputError", "read_all", "read_csv", "read_json", "read_results"]
