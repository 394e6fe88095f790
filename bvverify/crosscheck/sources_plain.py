"""A plain CSV of per-query verdicts, and VNN-COMP result files with their counterexamples.

Plain CSV (header line, then one row per query)::

    model,property,sample,eps,verdict[,witness]

``model`` a model file or bundled name; either ``property`` (a VNN-LIB file) or ``sample`` (an index
into ``--data``, or the bundled test images) with ``eps`` (input codes); ``verdict`` in the other
tool's words (holds/unsat/robust/safe, violated/sat/non-robust/unsafe, anything else: no answer);
``witness`` an optional VNN-COMP result file. Relative paths are relative to the CSV.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

from bvverify.crosscheck.claims import Claim, CrosscheckDataError

WORDS = {"holds": "holds", "unsat": "holds", "robust": "holds", "safe": "holds", "verified": "holds",
         "violated": "violated", "sat": "violated", "non-robust": "violated", "unsafe": "violated",
         "falsified": "violated", "counterexample": "violated"}
COLUMNS = ("model", "verdict")
_ITEM = re.compile(r"\(\s*([XY])_(\d+)\s+([^\s()]+)\s*\)")


def normal_verdict(text: str) -> str:
    """holds / violated / none from the other tool's word."""
    return WORDS.get(text.strip().lower(), "none")


def read_vnncomp_result(path: Path) -> tuple[str, np.ndarray | None]:
    """(their verdict, their X values or None) of a VNN-COMP result file: the word, then ``((X_0 v) ... (Y_0 v) ...)``.
    The Y values are ignored: what the model outputs on X is computed, not taken from the file."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise CrosscheckDataError(f"{path}: cannot read a VNN-COMP result file ({e})") from None
    lines = text.strip().splitlines()
    if not lines:
        raise CrosscheckDataError(f"{path}, line 1: empty result file (expected sat, unsat, timeout or unknown)")
    first = lines[0].strip().lower()
    if first not in ("sat", "unsat", "timeout", "unknown", "violated", "holds", "error"):
        raise CrosscheckDataError(f"{path}, line 1: {lines[0].strip()!r} is not a VNN-COMP result word "
                                  "(sat, unsat, timeout, unknown)")
    xs: dict[int, float] = {}
    body = "\n".join(lines[1:])
    for m in _ITEM.finditer(body):
        if m.group(1) == "X":
            try:
                xs[int(m.group(2))] = float(m.group(3))
            except ValueError:
                line = 2 + body[:m.start()].count("\n")
                raise CrosscheckDataError(f"{path}, line {line}: X_{m.group(2)} value {m.group(3)!r} is not a number") from None
    verdict = normal_verdict(first)
    if not xs:
        if verdict == "violated" and body.strip():
            raise CrosscheckDataError(f"{path}, line 2: no (X_i value) pairs in the counterexample")
        return verdict, None
    n = max(xs) + 1
    if sorted(xs) != list(range(n)):
        gap = min(set(range(n)) - set(xs))
        raise CrosscheckDataError(f"{path}: the counterexample has no X_{gap} (it gives {len(xs)} of X_0..X_{n - 1})")
    return verdict, np.array([xs[i] for i in range(n)], dtype=np.float64)


def _resolve(base: Path, text: str) -> str:
    from bvverify.bundled import BUNDLED

    if text in BUNDLED:
        return text
    p = Path(text)
    return str(p if p.is_absolute() else base / p)


def plain_claims(path: Path, data: Path | None = None) -> list[Claim]:
    """Claims of a plain CSV (see the module docstring); ``data`` holds the samples that ``sample`` indexes."""
    from bvverify.bundled import BUNDLED

    base = path.parent
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError) as e:
        raise CrosscheckDataError(f"{path}: cannot read ({e})") from None
    if not rows or any(c not in rows[0] for c in COLUMNS):
        raise CrosscheckDataError(f"{path}, line 1: expected a header with model, property or sample, eps, verdict "
                                  "(and optionally witness)")
    claims = []
    for line, r in enumerate(rows, start=2):
        model = _resolve(base, (r.get("model") or "").strip())
        prop, sample, eps = (r.get("property") or "").strip(), (r.get("sample") or "").strip(), (r.get("eps") or "").strip()
        witness_file = (r.get("witness") or "").strip()
        verdict = normal_verdict(r.get("verdict") or "")
        witness = None
        if witness_file:
            witness_file = _resolve(base, witness_file)
            wv, witness = read_vnncomp_result(Path(witness_file))
            if verdict == "none":
                verdict = wv
        c = Claim("csv", Path(model).name, model, "", eps or "-", verdict, f"{(r.get('verdict') or '').strip()}",
                  witness=witness, witness_file=witness_file)
        if prop:
            c.vnnlib = Path(_resolve(base, prop))
            c.query = c.vnnlib.stem
        elif sample:
            try:
                i, e = int(sample), float(eps)
            except ValueError:
                raise CrosscheckDataError(f"{path}, line {line}: sample {sample!r} and eps {eps!r} must be numbers") from None
            if data is None and model not in BUNDLED:
                raise CrosscheckDataError(f"{path}, line {line}: sample {i} needs --data (the model is not bundled)")
            c.data, c.query, c.eps = str(data) if data is not None else "bundled", str(i), f"{e:g}"
        else:
            raise CrosscheckDataError(f"{path}, line {line}: give a property file or a sample index")
        claims.append(c)
    return claims


def vnncomp_claim(result: Path, model: str, prop: Path) -> Claim:
    """One VNN-COMP result file about ``model`` on the VNN-LIB ``prop``."""
    verdict, witness = read_vnncomp_result(result)
    return Claim("vnncomp", Path(model).name, model, prop.stem, "-", verdict, result.read_text().splitlines()[0].strip(),
                 vnnlib=prop, witness=witness, witness_file=str(result))


def is_vnncomp_result(path: Path) -> bool:
    try:
        with open(path) as f:
            return f.readline().strip().lower() in ("sat", "unsat", "timeout", "unknown", "error")
    except (OSError, UnicodeDecodeError):
        return False


__all__ = ["is_vnncomp_result", "normal_verdict", "plain_claims", "read_vnncomp_result", "vnncomp_claim"]
