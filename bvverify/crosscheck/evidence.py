"""Evidence files for each contradiction: the witness as a VNN-COMP result file, a PNG for image
inputs (drawn by ``bvverify.reports.images``), or the proof status as JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from bvverify.crosscheck.claims import Claim


def stem(claim: Claim) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", claim.key).strip("_")


def write_witness(path: Path, inputs: np.ndarray, outputs: list[int] | np.ndarray, integer_input: bool) -> None:
    """VNN-COMP result format (``sat``, then ``((X_i v) ... (Y_j v) ...)``), the values as evaluated here."""
    xs = np.asarray(inputs).ravel()
    items = [f"(X_{i} {int(a) if integer_input else repr(float(a))})" for i, a in enumerate(xs)]
    items += [f"(Y_{j} {int(b)})" for j, b in enumerate(np.asarray(outputs).ravel())]
    path.write_text("sat\n(" + "\n ".join(items) + ")\n")


def write_png(path: Path, original: np.ndarray, witness: np.ndarray, title: str, label: int | None = None,
              out_original: np.ndarray | None = None, out_witness: np.ndarray | None = None) -> bool:
    """Original, witness, their difference and both outputs (``bvverify.reports``' picture); False when the
    input is not an image."""
    from bvverify.reports.images import counterexample_png, image_shape
    from bvverify.reports.mpl import MissingFigureLibrary

    chw = image_shape(np.asarray(original).shape)
    if chw is None:
        return False
    try:
        png = counterexample_png(np.asarray(witness).ravel(), chw, original=np.asarray(original).ravel(),
                                 out_perturbed=out_witness, out_original=out_original, label=label, title=title)
    except MissingFigureLibrary:  # matplotlib is the optional extra 'report': the witness file and JSON are still written
        return False
    path.write_bytes(png)
    return True


def write_json(path: Path, doc: dict[str, Any]) -> None:
    path.write_text(json.dumps(doc, indent=1, default=lambda o: o.tolist() if isinstance(o, np.ndarray) else str(o)) + "\n")


__all__ = ["stem", "write_json", "write_png", "write_witness"]
