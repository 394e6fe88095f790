"""Pictures of the counterexamples in the result files, for image models.

A result file holds the perturbed input but not the sample it came from. When the model can be loaded
(a bundled name or a model file that exists) and the sample named (a bundled image, or the ``data``
file of a robust run), the original is looked up, and it is drawn only if the witness lies inside the
query's eps ball around it: a lookup that does not fit (another data scale, another file) is said, not
drawn. With the model, both inputs are re-run through the reference interpreter, so the outputs drawn
are the interpreter's, and a witness that does not change the class is flagged. A QVIP suite's rows name
their network by the paper's alias: :mod:`bvverify.reports.benchmark_sources` finds its network and image
files in the benchmarks folder, when one is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bvverify.errors import BvverifyError
from bvverify.reports.benchmark_sources import BenchmarkSources, Source
from bvverify.reports.images import argmax_lowest, counterexample_png, image_shape
from bvverify.reports.records import Loaded, QueryResult, Witness
from bvverify.reports.summary import query_label


@dataclass(frozen=True)
class Picture:
    query: QueryResult
    png: bytes
    caption: str
    notes: tuple[str, ...] = ()


class Models:
    """Models and data loaded once per report; what cannot be loaded is remembered with why."""

    def __init__(self, benchmarks: Path | None = None) -> None:
        self.nets: dict[str, Any] = {}
        self.data: dict[tuple[str, str | None], Any] = {}
        self.sources = BenchmarkSources(benchmarks)

    def source(self, q: QueryResult) -> Source:
        """The model and samples file to load for ``q`` (a QVIP suite's alias resolved in the benchmarks folder)."""
        return self.sources.of(q)

    def net(self, name: str) -> Any:
        if name not in self.nets:
            from bvverify.bundled import resolve_model
            from bvverify.importers import load

            path = resolve_model(name)
            try:
                self.nets[name] = load(path) if path.exists() else None
            except BvverifyError:
                self.nets[name] = None
        return self.nets[name]

    def samples(self, model: str, data: str | None, n: int) -> Any:
        """(x [N, n], labels or None) of the query's data, or None when it cannot be found."""
        key = (model, data)
        if key not in self.data:
            from bvverify.bundled import BUNDLED, test_images

            found = None
            if (data is None or data.startswith("bundled")) and model in BUNDLED:
                xs, ys = test_images()
                found = (xs.reshape(len(xs), -1).astype(np.float64), ys)
            elif data is not None and Path(data).exists():
                from bvverify.properties.robustness import load_data

                try:
                    found = load_data(data, n)
                except BvverifyError:
                    found = None
            self.data[key] = found
        return self.data[key]


def pictures(data: Loaded, limit: int, benchmarks: Path | None = None) -> tuple[list[Picture], int]:
    """Up to ``limit`` pictures of violated queries with a witness of image shape, and how many were left out;
    ``benchmarks`` is the folder a QVIP suite's networks and images are found in (None: drawn without them)."""
    models, out, left = Models(benchmarks), [], 0
    seen: set[tuple[str, str, str, tuple[float, ...]]] = set()
    for q in data.queries:
        w = q.witness
        if q.status != "violated" or w is None:
            continue
        key = (q.model, q.query, q.eps, w.input)
        if key in seen:  # two engines (or a suite and a robust run) found the same point: draw it once
            continue
        seen.add(key)
        p = evidence_picture(q) if q.extra.get("evidence_png") else picture(q, w, models)
        if p is None:
            continue
        if len(out) >= limit:
            left += 1
            continue
        out.append(p)
    return out, left


def evidence_picture(q: QueryResult) -> Picture | None:
    """A cross-check contradiction's own picture (drawn by the cross-check with the original sample), as it is."""
    try:
        png = Path(q.extra["evidence_png"]).read_bytes()
    except OSError:
        return None
    return Picture(q, png, f"{query_label(q)}: {q.extra.get('kind', '')} ({q.engine}'s witness)")


def picture(q: QueryResult, w: Witness, models: Models) -> Picture | None:
    src = models.source(q)
    net = models.net(src.model)
    shape = tuple(net.input.shape) if net is not None else (len(w.input),)
    chw = image_shape(shape)
    if chw is None or len(w.input) != int(np.prod(shape)):
        return None
    notes: list[str] = []
    x = np.asarray(w.input, dtype=np.float64)
    original = out_o = None
    out_p = None if w.output is None else np.asarray(w.output)
    label = w.label
    if net is None:
        notes.append(f"model {q.model!r} not loadable here: outputs as the result file gives them, no original"
                     + (f" ({src.note})" if src.note else ""))
    else:
        codes = x.astype(np.int64) if net.integer_input else net.quantize_input(x.reshape((1,) + shape).astype(np.float32))[0]
        oc = net.evaluate_codes(np.asarray(codes).reshape((1,) + shape))[0]
        out_p = _as_shown(net, oc)
        found = models.samples(src.model, src.data, int(np.prod(shape))) if w.sample is not None else None
        if found is not None and w.sample is not None and w.sample < len(found[0]):
            xs, ys = found
            x0 = np.asarray(xs[w.sample], dtype=np.float64)
            c0 = x0.astype(np.int64) if net.integer_input else net.quantize_input(x0.reshape((1,) + shape).astype(np.float32))[0]
            if _inside(w, x, x0, np.asarray(codes), np.asarray(c0)):
                original = x0
                out_o = _as_shown(net, net.evaluate_codes(np.asarray(c0).reshape((1,) + shape))[0])
                if label is None and ys is not None:
                    label = int(ys[w.sample])
            else:
                notes.append(f"sample {w.sample} of {src.data or 'the bundled images'} is not within eps {w.eps:g} of the "
                             "witness (another data file or scale?): original not drawn")
        if label is not None and argmax_lowest(oc) == label:
            notes.append(f"the interpreter predicts class {label} for this witness: it does not violate (report it)")
    pred = argmax_lowest(out_p) if out_p is not None else None
    diff_note, diff = "", None
    if original is not None and net is not None:
        diff = np.asarray(codes).ravel().astype(np.int64) - np.asarray(c0).ravel().astype(np.int64)
        diff_note = code_change(diff)
    png = counterexample_png(x, chw, original=original, out_perturbed=out_p, out_original=out_o, label=label,
                             title=f"{query_label(q)} ({q.engine})", diff_note=diff_note, difference=diff)
    caption = f"{query_label(q)}, {q.engine}" + (f" [{q.extra['kind']}]" if q.extra.get("kind") else "") + ": "
    if out_p is not None and pred is not None:
        keep = label if label is not None else (argmax_lowest(out_o) if out_o is not None else None)
        if keep is not None:
            was = f"{out_o[keep]:.4g} -> " if out_o is not None else ""
            caption += (f"class {keep} output {was}{out_p[keep]:.4g}; class {pred} output "
                        f"{f'{out_o[pred]:.4g} -> ' if out_o is not None else ''}{out_p[pred]:.4g}")
            if pred != keep and out_p[pred] == out_p[keep]:  # a violation by a tie looks like none in the bars: say why
                caption += f" (a tie, which the argmax breaks to the lowest index, {pred})"
        else:
            caption += f"predicted class {pred}"
    return Picture(q, png, caption, tuple(notes))


def code_change(diff: np.ndarray) -> str:
    """The difference panel's title: how many input codes moved, and by how much at most."""
    moved = np.abs(diff)
    return f"codes: {int(np.count_nonzero(moved))} moved, max {int(moved.max()) if moved.size else 0}"


def _as_shown(net: Any, codes: np.ndarray) -> np.ndarray:
    """Outputs as the runtime gives them: dequantized when the model dequantizes, else codes."""
    if net.meta.get("dequantized_output") and net.output.scale is not None:
        return np.asarray(net.dequantize(np.asarray(codes)[None])[0], dtype=np.float64)
    return np.asarray(codes, dtype=np.float64)


def _inside(w: Witness, x: np.ndarray, x0: np.ndarray, codes: np.ndarray, c0: np.ndarray) -> bool:
    if w.eps is None:
        return False
    if w.eps_unit == "codes":
        return bool(np.max(np.abs(codes.ravel() - c0.ravel())) <= w.eps)
    return bool(np.max(np.abs(x.ravel() - x0.ravel())) <= w.eps * (1 + 1e-6) + 1e-9)


__all__ = ["Models", "Picture", "code_change", "picture", "pictures"]
