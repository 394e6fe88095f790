"""Verdicts as documents: the JSON every command prints and the VNN-COMP result file.

One module for both, shared by the CLI and the benchmark scripts, so a verdict is worded
the same way everywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bvverify.engines.base import Verdict
from bvverify.errors import BvverifyError


class ResultFileError(BvverifyError, OSError):
    """A result file cannot be written."""


def verdict_doc(v: Verdict) -> dict[str, Any]:
    """``status, engine, seconds, reason, stats, counterexample`` of one verdict."""
    doc: dict[str, Any] = {"status": v.status, "engine": v.engine, "seconds": round(v.seconds, 4), "reason": v.reason,
                           "stats": v.stats, "counterexample": None}
    c = v.counterexample
    if c is not None:
        doc["counterexample"] = {
            "input": np.asarray(c.input).ravel().tolist(),
            "input_codes": np.asarray(c.codes).ravel().tolist(),
            "output_codes": np.asarray(c.output).ravel().tolist(),
            "output": None if c.dequantized is None else np.asarray(c.dequantized).ravel().tolist(),
            "replayed_by": c.replayed_by,
        }
    return doc


def vnncomp_word(v: Verdict) -> str:
    """The result file's first line: ``unsat`` (holds), ``sat`` (violated), ``timeout`` (the
    time limit ended it) or ``unknown`` (any other reason)."""
    if v.status in ("holds", "violated"):
        return {"holds": "unsat", "violated": "sat"}[v.status]
    return "timeout" if v.stats.get("timed_out") or is_timeout(v.reason) else "unknown"


def is_timeout(reason: str) -> bool:
    text = reason.lower()
    return any(w in text for w in ("timeout", "time limit", "timed out", "canceled", "cancelled"))


def check_writable(path: Path) -> None:
    """Fail before any solving when the result file cannot be written (a missing folder)."""
    parent = Path(path).expanduser().resolve().parent
    if not parent.is_dir():
        raise ResultFileError(f"{path}: folder {parent} does not exist")


def write_vnncomp_result(path: Path, v: Verdict, integer_input: bool, over: str) -> None:
    """VNN-COMP result format: the word, then the witness ``((X_0 v) ... (Y_0 v) ...)``."""
    lines = [vnncomp_word(v)]
    c = v.counterexample
    if c is not None:
        xs = np.asarray(c.input).ravel()
        ys = np.asarray(c.dequantized if over == "dequantized" and c.dequantized is not None else c.output).ravel()
        items = [f"(X_{i} {int(a) if integer_input else repr(float(a))})" for i, a in enumerate(xs)]
        items += [f"(Y_{j} {repr(float(b)) if over == 'dequantized' else int(b)})" for j, b in enumerate(ys)]
        lines.append("(" + "\n ".join(items) + ")")
    try:
        Path(path).write_text("\n".join(lines) + "\n")
    except OSError as e:
        raise ResultFileError(f"{path}: cannot write ({e.strerror})") from None


__all__ = ["ResultFileError", "check_writable", "is_timeout", "verdict_doc", "vnncomp_word", "write_vnncomp_result"]
