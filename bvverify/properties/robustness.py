"""Local L-infinity robustness queries around one sample.

The decision rule is the argmax with ties to the *lowest index* (numpy's rule,
and the one the published QNN benchmarks encode): an input is a counterexample
for label ``y`` iff some ``j < y`` has ``o_j >= o_y`` or some ``j > y`` has
``o_j > o_y``. Every output counts, also outputs that are never labels. A
targeted query asks whether the prediction can become ``t``: ``o_t > o_j`` for
``j < t`` and ``o_t >= o_j`` for ``j > t``, for every ``j``.

Comparisons are over the integer output codes: the runtime's dequantization
uses one scale and zero point for the whole output tensor, so it preserves the
order of codes exactly.
"""

from __future__ import annotations

import csv
from fractions import Fraction
from pathlib import Path

import numpy as np

from bvverify.errors import BvverifyError
from bvverify.ir.graph import QNetwork
from bvverify.properties.spec import Linear, OutputCondition, Property


class DataError(BvverifyError, ValueError):
    """A data file or a robustness parameter is unusable."""


def argmax_lowest(o: np.ndarray) -> int:
    return int(np.argmax(np.asarray(o).ravel()))


def untargeted(n_out: int, label: int) -> OutputCondition:
    clauses = []
    for j in range(n_out):
        if j != label:  # o_y - o_j <= 0 (j < y) ;  o_y - o_j < 0 (j > y)
            clauses.append((Linear(((label, Fraction(1)), (j, Fraction(-1))), Fraction(0), strict=j > label),))
    return OutputCondition(tuple(clauses), "codes")


def targeted(n_out: int, target: int) -> OutputCondition:
    atoms = []
    for j in range(n_out):
        if j != target:  # o_j - o_t < 0 (j < t) ;  o_j - o_t <= 0 (j > t)
            atoms.append(Linear(((j, Fraction(1)), (target, Fraction(-1))), Fraction(0), strict=j < target))
    return OutputCondition((tuple(atoms),), "codes")


def load_data(path: str | Path, expected: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Samples [N, expected] (and labels when the file has them).

    ``.npy``: an array [N, ...] of inputs (no labels); ``.npz``: arrays ``x`` and
    ``y``; ``.csv``: rows ``label, v1, ..., vn`` (the ERAN / QVIP image files)."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such file")
    suffix = p.suffix.lower()
    try:
        if suffix == ".npy":
            x = np.load(p, allow_pickle=False)
            y = None
        elif suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                if "x" not in z:
                    raise DataError(f"{p}: an .npz data file needs an array 'x' (and optionally 'y')")
                x, y = z["x"], (z["y"] if "y" in z else None)
        elif suffix == ".csv":
            return _load_csv(p, expected)
        else:
            raise DataError(f"{p}: unknown data format {suffix!r} (use .npy, .npz or .csv)")
    except (ValueError, OSError, EOFError) as e:
        if isinstance(e, DataError):
            raise
        raise DataError(f"{p}: unreadable ({e})") from None
    if x.dtype.kind not in "biuf":
        raise DataError(f"{p}: array of dtype {x.dtype}, expected numbers")
    if x.ndim > 1 and x.shape[0] == 0:
        raise DataError(f"{p}: no samples (the array has shape {list(x.shape)})")
    x = x.reshape(len(x), -1) if x.ndim > 1 else x.reshape(1, -1)
    if x.shape[1] != expected:
        raise DataError(f"{p}: samples have {x.shape[1]} values, the model takes {expected}")
    if len(x) == 0 or x.size == 0:
        raise DataError(f"{p}: no samples (the array has shape {list(x.shape)})")
    if y is not None:
        y = np.asarray(y).reshape(-1)
        if len(y) != len(x):
            raise DataError(f"{p}: {len(x)} samples in 'x' but {len(y)} labels in 'y'")
        if y.dtype.kind not in "biu" and not np.all(np.isfinite(y) & (y == np.round(y))):
            raise DataError(f"{p}: labels 'y' must be whole numbers")
    return x, (None if y is None else y.astype(np.int64))


def _load_csv(p: Path, expected: int) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    with open(p, newline="") as f:
        for lineno, row in enumerate(csv.reader(f), start=1):
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != expected + 1:
                raise DataError(f"{p}:{lineno}: row has {len(row)} fields, expected label + {expected} values")
            try:
                ys.append(int(row[0]))
            except ValueError:
                raise DataError(f"{p}:{lineno}: field 1 (label) {row[0]!r} is not an integer") from None
            try:
                xs.append([float(v) for v in row[1:]])
            except ValueError:
                bad = next(i for i, v in enumerate(row[1:], start=2) if not _isfloat(v))
                raise DataError(f"{p}:{lineno}: field {bad} {row[bad - 1]!r} is not a number") from None
    if not xs:
        raise DataError(f"{p}: no data rows")
    return np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.int64)


def _isfloat(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


def robustness_property(net: QNetwork, x: np.ndarray, label: int, eps: float, unit: str = "codes",
                        target: int | None = None, clip: tuple[float, float] | None = None, name: str = "") -> Property:
    """The L-infinity ball of radius ``eps`` around ``x`` (model input domain).

    ``unit="codes"``: the ball is taken in integer input codes, ``[q(x) - eps, q(x) + eps]``
    clipped to the code range (for a float-input model: every float whose code lies
    there). ``unit="float"``: ``[x - eps, x + eps]`` in the model's float units,
    clipped to ``clip`` when given."""
    n_out = int(np.prod(net.output_shape))
    if not 0 <= label < n_out:
        raise DataError(f"label {label} out of range: the model has {n_out} outputs")
    if target is not None and (not 0 <= target < n_out or target == label):
        raise DataError(f"target {target} must be an output index other than the label {label} (0..{n_out - 1})")
    if not np.isfinite(eps) or eps < 0:
        raise DataError(f"eps must be a finite number >= 0, got {eps}")
    x = np.asarray(x, dtype=np.float64).reshape(net.input.shape)
    cond = targeted(n_out, target) if target is not None else untargeted(n_out, label)
    meta = {"label": label, "target": target, "eps": eps, "unit": unit, "x": x}
    if unit == "codes":
        if eps != int(eps):
            raise DataError(f"eps in codes must be a whole number, got {eps}")
        q = net.quantize_input(x[None])[0] if not net.integer_input else x.astype(np.int64)
        if net.integer_input and np.any(x != np.round(x)):
            raise DataError("an integer-input model needs integer input codes")
        lo = np.clip(q - int(eps), net.input.lo, net.input.hi)
        hi = np.clip(q + int(eps), net.input.lo, net.input.hi)
        return Property(lo.astype(np.float64), hi.astype(np.float64), cond, name, meta, units="codes")
    if unit != "float":
        raise DataError(f"eps unit {unit!r} is not 'codes' or 'float'")
    lo, hi = x - eps, x + eps
    if clip is not None:
        if clip[0] > clip[1]:
            raise DataError(f"clip range {clip} is empty")
        lo, hi = np.clip(lo, *clip), np.clip(hi, *clip)
    return Property(lo, hi, cond, name, meta)
