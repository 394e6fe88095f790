"""The pieces every result-format reader shares: the error it raises and typed access to CSV rows whose
errors name the file, the line and the column."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bvverify.errors import BvverifyError
from bvverify.reports.records import Loaded


class ReportInputError(BvverifyError, ValueError):
    """A result file the report cannot read: unknown format, a missing column, a value of the wrong kind."""


@dataclass
class CsvRows:
    """The data rows of a CSV with their line numbers, and typed getters whose errors name file, line, column."""

    path: Path
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]

    def text(self, line: int, row: dict[str, str], col: str, default: str = "") -> str:
        return (row.get(col) or default).strip()

    def number(self, line: int, row: dict[str, str], col: str, empty_ok: bool = True) -> float | None:
        value = self.text(line, row, col)
        if value == "" or value.upper() in ("NA", "NAN", "-"):
            if empty_ok:
                return None
            raise self.error(line, col, f"{value!r} is empty: expected a number")
        try:
            return float(value)
        except ValueError:
            raise self.error(line, col, f"{value!r} is not a number") from None

    def error(self, line: int, col: str, msg: str) -> ReportInputError:
        number = self.header.index(col) + 1 if col in self.header else 0
        where = f"column {number} ({col})" if number else f"column {col}"
        return ReportInputError(f"{self.path}:{line}: {where}: {msg}")


@dataclass(frozen=True)
class CsvFormat:
    """A CSV result format: identified by having all of ``columns`` in its header."""

    name: str
    columns: tuple[str, ...]
    read: Callable[[CsvRows], Loaded]


__all__ = ["CsvFormat", "CsvRows", "ReportInputError"]
