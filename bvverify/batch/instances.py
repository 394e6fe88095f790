"""The VNN-COMP ``instances.csv``: one row per instance, ``model,property,timeout``, paths
relative to the CSV file. Bad rows are refused naming the file, the line and the field."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from bvverify.bundled import BUNDLED
from bvverify.errors import BvverifyError

FIELDS = ("model", "property", "timeout")


class InstancesError(BvverifyError, ValueError):
    """An instances CSV that cannot be read, or a row that names a missing file or a bad timeout."""


@dataclass(frozen=True)
class Instance:
    """One row: the model (a path, or a bundled model name), the property file, the timeout in
    seconds, and where it came from (``file, line N``, for messages)."""

    model: str
    prop: str
    timeout: float
    line: int
    origin: str = ""


def read_instances(path: str | Path) -> list[Instance]:
    """Every instance of ``path``. Blank lines and ``#`` comments are skipped, and so is a
    header row ``model,property,timeout``; a model or property path is taken relative to the
    CSV's folder (a bundled model name such as ``digits-mlp`` is also accepted). A row that is
    not three fields or whose timeout is not a positive number is refused here; a file that does
    not exist is that instance's error when it runs (one missing file does not stop a batch)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise InstancesError(f"{path}: cannot read the instances file ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise InstancesError(f"{path}: not a text file (expected CSV rows model,property,timeout)") from None
    out: list[Instance] = []
    for line, row in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [c.strip() for c in row]
        if not cells or not any(cells) or cells[0].startswith("#"):
            continue
        if not out and [c.lower() for c in cells] == list(FIELDS):
            continue
        out.append(_instance(path, line, cells))
    if not out:
        raise InstancesError(f"{path}: no instances (expected CSV rows model,property,timeout)")
    return out


def _instance(path: Path, line: int, cells: list[str]) -> Instance:
    where = f"{path}, line {line}"
    if len(cells) != 3:
        raise InstancesError(f"{where}: {len(cells)} fields, expected 3 (model,property,timeout)")
    model, prop, timeout = cells
    return Instance(_file(path, where, "model", model, bundled_ok=True), _file(path, where, "property", prop),
                    _seconds(where, timeout), line, where)


def _file(csv_path: Path, where: str, field: str, value: str, bundled_ok: bool = False) -> str:
    """The path relative to the CSV's folder, absolute (a resumed run from another folder finds
    its results), or a bundled model's name."""
    if not value:
        raise InstancesError(f"{where}, field {field}: empty")
    p = Path(value).expanduser()
    full = p if p.is_absolute() else csv_path.parent / p
    if bundled_ok and value in BUNDLED and not full.exists():
        return value
    return str(full.resolve())


def _seconds(where: str, value: str) -> float:
    try:
        t = float(value)
    except ValueError:
        raise InstancesError(f"{where}, field timeout: {value!r} is not a number of seconds") from None
    if not math.isfinite(t) or t <= 0:
        raise InstancesError(f"{where}, field timeout: {value!r}: expected a positive number of seconds")
    return t


__all__ = ["FIELDS", "Instance", "InstancesError", "read_instances"]
