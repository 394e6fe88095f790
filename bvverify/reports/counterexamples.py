"""A violated verdict's counterexample written to a folder, in the forms people and tools read:

- ``STEM.txt``: the VNN-COMP result file (``sat`` and the witness), what other verifiers' tooling reads;
- ``STEM_codes.npy``: the input codes (model input shape, int64), what ``bvverify eval`` and the
  interpreter take; ``STEM_input.npy``: the float input, for a model that quantizes float inputs;
- ``STEM.png`` for image inputs: original / perturbed / difference when the query has an original
  sample (a robustness query), else the counterexample alone, with the outputs of the classes involved.

``verify`` and ``robust`` (per violated query, named MODEL_INDEX_epsR) call :func:`save_counterexample`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from bvverify.engines.results import ResultFileError, write_vnncomp_result
from bvverify.reports.gallery import code_change
from bvverify.reports.images import counterexample_png, image_shape
from bvverify.reports.mpl import check_figure_library


def safe_stem(text: str) -> str:
    """A file name from a query name (property file, sample and eps)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "counterexample"


def check_folder(folder: Path) -> None:
    """Fail before any solving when the folder cannot be made."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ResultFileError(f"--save-counterexamples {folder}: exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ResultFileError(f"--save-counterexamples {folder}: cannot create the folder ({e.strerror})") from None


def check_ready(folder: Path, net: Any) -> None:
    """Everything that could stop the writing, checked before any solving: the folder, and matplotlib when
    the model's inputs are images (a PNG will be drawn)."""
    check_folder(folder)
    if image_shape(tuple(net.input.shape)) is not None:
        check_figure_library()


def save_counterexample(folder: Path, stem: str, net: Any, prop: Any, verdict: Any) -> list[Path]:
    """Write the counterexample of a ``violated`` verdict (nothing for another verdict); the files written.

    The original of a robustness query is ``prop.meta["x"]`` (set by ``robustness_property``), its label
    ``prop.meta["label"]``; a VNN-LIB property has neither, and its picture shows the counterexample alone."""
    c = verdict.counterexample
    if verdict.status != "violated" or c is None:
        return []
    check_folder(folder)
    folder, stem = Path(folder), safe_stem(stem)
    over = getattr(prop.output, "over", "codes")
    written = [folder / f"{stem}.txt", folder / f"{stem}_codes.npy"]
    write_vnncomp_result(written[0], verdict, net.integer_input, over)
    shape = tuple(net.input.shape)
    _save_npy(written[1], np.asarray(c.codes, dtype=np.int64).reshape(shape))
    if not net.integer_input:
        written.append(folder / f"{stem}_input.npy")
        _save_npy(written[-1], np.asarray(c.input, dtype=np.float32).reshape(shape))
    chw = image_shape(shape)
    if chw is not None:
        meta = getattr(prop, "meta", {}) or {}
        x = meta.get("x")
        out_p = c.dequantized if c.dequantized is not None else c.output
        out_o = diff = None
        if x is not None:
            x = np.asarray(x, dtype=np.float64).reshape(shape)
            codes = net.quantize_input(x[None])[0] if not net.integer_input else x.astype(np.int64)
            oc = net.evaluate_codes(np.asarray(codes)[None])[0]
            out_o = net.dequantize(oc[None])[0] if c.dequantized is not None else oc
            diff = np.asarray(c.codes, dtype=np.int64).ravel() - np.asarray(codes, dtype=np.int64).ravel()
        eps = meta.get("eps")
        title = f"{stem}" + (f" (eps {eps:g} {meta.get('unit', '')})" if eps is not None else "")
        png = counterexample_png(np.asarray(c.input).ravel(), chw, original=None if x is None else x.ravel(),
                                 out_perturbed=np.asarray(out_p).ravel(),
                                 out_original=None if out_o is None else np.asarray(out_o).ravel(),
                                 label=meta.get("label"), title=title, difference=diff,
                                 diff_note="" if diff is None else code_change(diff))
        written.append(folder / f"{stem}.png")
        _write(written[-1], png)
    return written


def _save_npy(path: Path, a: np.ndarray) -> None:
    try:
        np.save(path, a)
    except OSError as e:
        raise ResultFileError(f"{path}: cannot write ({e.strerror})") from None


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as e:
        raise ResultFileError(f"{path}: cannot write ({e.strerror})") from None


__all__ = ["check_folder", "check_ready", "safe_stem", "save_counterexample"]
