"""Reading a VNN-COMP result file back: the first word and the witness ``((X_0 v) ... (Y_0 v) ...)``.

The report draws the witnesses the benchmark suite wrote in this format; every malformed piece is
named by file and line, because a witness that is read wrong would be drawn wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bvverify.reports.rows import ReportInputError

WORDS = ("sat", "unsat", "timeout", "unknown", "violated", "holds", "error")
PAIR = re.compile(r"\(\s*([XY])_(\d+)\s+([^\s()]+)\s*\)")


@dataclass(frozen=True)
class VnncompResult:
    word: str
    x: tuple[float, ...]
    y: tuple[float, ...]


def read_vnncomp(path: Path) -> VnncompResult:
    """The word and the X / Y values (each index exactly once, 0..n-1)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ReportInputError(f"{path}: cannot read the witness file ({e.strerror})") from None
    except UnicodeDecodeError:
        raise ReportInputError(f"{path}: not a text file") from None
    lines = text.splitlines()
    if not lines or lines[0].strip().lower() not in WORDS:
        first = lines[0].strip()[:40] if lines else ""
        raise ReportInputError(f"{path}:1: {first!r} is not a VNN-COMP result word ({', '.join(WORDS[:4])})")
    values: dict[str, dict[int, float]] = {"X": {}, "Y": {}}
    for n, line in enumerate(lines[1:], start=2):
        for m in PAIR.finditer(line):
            kind, i, raw = m.group(1), int(m.group(2)), m.group(3)
            try:
                v = float(raw)
            except ValueError:
                raise ReportInputError(f"{path}:{n}: {kind}_{i} = {raw!r} is not a number") from None
            if i in values[kind]:
                raise ReportInputError(f"{path}:{n}: {kind}_{i} is given twice")
            values[kind][i] = v
    out = []
    for kind in ("X", "Y"):
        got = values[kind]
        if sorted(got) != list(range(len(got))):
            missing = min(set(range(max(got) + 1)) - set(got))
            raise ReportInputError(f"{path}: {kind}_{missing} is missing (the witness must give every index)")
        out.append(tuple(got[i] for i in range(len(got))))
    return VnncompResult(lines[0].strip().lower(), out[0], out[1])


__all__ = ["VnncompResult", "read_vnncomp"]
