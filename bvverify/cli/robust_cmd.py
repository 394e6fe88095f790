"""``bvverify robust``: local robustness around data samples.

Every decided query is appended to a JSON-lines log as it is decided (``--log``, default
``robust-MODEL-HASH.jsonl`` in ``$BVVERIFY_RUNS_DIR``, else ``$XDG_CACHE_HOME/bvverify/runs``, else
``~/.cache/bvverify/runs``; the hash of what the run asks: the model and data files (path and
sha256), units, label, engine options, timeout), so Ctrl-C loses only the query it interrupts,
which is not recorded; the same command with ``--resume`` skips what the log holds. The files'
sha256 are in the log's header: a model retrained in place is a different run, never resumed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.table import Table

from bvverify.cli import app as shared
from bvverify.engines.results import verdict_doc, write_vnncomp_result


@shared.app.command()
def robust(
    model: str = typer.Argument(..., help=shared.MODEL_HELP),
    data: Path | None = typer.Option(None, "--data", help="Samples: .npy [N, ...] inputs, .npz with x (and y), or a CSV of "
                                    "rows 'label, v1, ..., vn'. Default for bundled models: their test images."),
    index: str | None = typer.Option(None, "--index", help="Sample indices: 3, 0-19 or 1,5,7 (default: all)."),
    eps: str = typer.Option("1", "--eps", help="Radius (or comma-separated radii) of the L-infinity ball."),
    eps_unit: str = typer.Option("codes", "--eps-unit", help="codes: integer input codes; float: the model's float input units."),
    clip: str | None = typer.Option(None, "--clip", help="With --eps-unit float: clip the ball to LO,HI (e.g. 0,1)."),
    data_scale: float = typer.Option(1.0, "--data-scale", help="Multiply the data values by this (e.g. 0.00392156862745098 "
                                     "to turn 0..255 pixels into 0..1)."),
    label: int | None = typer.Option(None, "--label", help="Override the data's label."),
    target_class: int | None = typer.Option(None, "--target-class", help="Targeted query: can the prediction become "
                                            "this class?"),
    engine: str = shared.VerifyEngineOpt,
    solver: str | None = shared.SolverOpt,
    bounds: str = shared.BoundsOpt,
    seed: int = shared.SeedOpt,
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds per query, everything included, "
                                  "before the verdict is 'unknown'."),
    result_file: Path | None = shared.ResultOpt,
    save_cex: Path | None = typer.Option(None, "--save-counterexamples", help="Folder for each violated query's "
                                         "counterexample: the VNN-COMP result file, the input codes (and float input) "
                                         "as .npy, and a PNG (original, perturbed, difference) for image inputs, "
                                         "named MODEL_INDEX_epsR (docs/reports.md)."),
    input_shape: str | None = shared.InputShapeOpt,
    qengine: str | None = shared.EngineOpt,
    target: str | None = shared.TargetOpt,
    bits: int | None = shared.BitsOpt,
    input_bits: int | None = shared.InBitsOpt,
    log: Path | None = typer.Option(None, "--log", help="JSON-lines file that keeps every decided query as it is "
                                    "decided (default: robust-MODEL-HASH.jsonl in $BVVERIFY_RUNS_DIR or ~/.cache/bvverify/runs, "
                                    "named after the run's model and data files and options). Without --resume it is "
                                    "started anew."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run kept in the log (the same command and "
                                "options): queries it holds are not decided again."),
    as_json: bool = shared.JsonOpt,
) -> None:
    """Local robustness around data samples: is the argmax (ties to the lowest index, every output
    counts) constant on the L-infinity ball? One exact query per sample and radius. Ctrl-C stops
    cleanly (exit 130): decided queries are kept in the log, and --resume continues."""
    from bvverify.batch.atomic import interrupts_deferred
    from bvverify.bundled import resolve_model
    from bvverify.properties.robustness import DataError, argmax_lowest, robustness_property

    shared.check_timeout(timeout)
    if result_file is not None:
        shared.check_writable(result_file)
    if eps_unit not in ("codes", "float"):
        shared.fail(f"--eps-unit {eps_unit!r}: expected codes or float")
    if clip is not None and eps_unit != "float":
        shared.fail("--clip applies to --eps-unit float only (a ball in codes is clipped to the code range)")
    options = shared.engine_options(engine, solver, bounds, seed)
    if save_cex is not None:
        shared.check_cex_folder(save_cex)
    net = shared.load_model(model, input_shape, qengine, bits, input_bits, target)
    if save_cex is not None:
        shared.check_cex_ready(save_cex, net)
    if eps_unit == "float" and net.integer_input:
        shared.fail(f"{model} takes integer input codes: a ball in float units has no meaning for it (use --eps-unit codes)")
    xs, ys, src = shared.load_samples(model, net, data, data_scale, label)
    radii = shared.parse_floats(eps, "--eps")
    clip_range = tuple(shared.parse_floats(clip, "--clip")) if clip else None
    if clip_range is not None and len(clip_range) != 2:
        shared.fail(f"--clip {clip!r}: expected LO,HI")
    runtime = shared.runtime_for(model, net, qengine)
    indices = shared.parse_indices(index, len(xs))
    if result_file is not None and len(indices) * len(radii) != 1:
        shared.fail("--result-file needs exactly one query (one --index and one --eps)")
    header = {"command": "robust", "model": model, **_file_identity("model", resolve_model(model)),
              **(_file_identity("data", Path(data)) if data is not None else {}), "data": src, "data_scale": data_scale,
              "eps_unit": eps_unit,
              "clip": list(clip_range) if clip_range else None, "label": label, "target_class": target_class,
              "options": asdict(options), "timeout": timeout, "target": net.meta.get("target")}
    qlog = _open_log(log, header, resume, model)
    kept = {(r.get("index"), r.get("eps")): r for r in qlog.previous}
    rows: list[dict[str, Any]] = []
    table = Table("index", "label", "eps", "verdict", "seconds", "note")
    stopped_at: tuple[int, float] | None = None
    try:
        for i in indices:
            y = int(label if label is not None else ys[i])  # type: ignore[index]
            clean = None
            for r in radii:
                stopped_at = (i, r)
                if (i, r) in kept:  # decided by the run this one resumes
                    doc = dict(kept[(i, r)])
                    note = doc.pop("note", "")
                    rows.append(doc)
                    table.add_row(str(i), str(y), f"{r:g}", doc["status"], f"{doc['seconds']:.2f}", note)
                    continue
                if clean is None:
                    clean = argmax_lowest(net.evaluate(xs[i].reshape((1,) + tuple(net.input.shape)))[0])
                try:
                    prop = robustness_property(net, xs[i], y, r, eps_unit, target_class, clip_range, name=f"{src}#{i}")
                except DataError as e:
                    shared.fail(str(e))
                if clean != y and target_class is None:
                    from bvverify.engines.base import Verdict, replay

                    cex = replay(net, prop, net.quantize_input(xs[i].reshape((1,) + tuple(net.input.shape)))[0]
                                 if not net.integer_input else xs[i].astype(np.int64), runtime, prefer=xs[i])
                    v = Verdict("violated", "clean", 0.0, f"misclassified: the clean input is predicted {clean}", cex)
                    note = f"misclassified (predicted {clean})"
                    if not as_json:
                        shared.err.print(f"#{i} eps {r:g}: violated (clean input misclassified as {clean})", highlight=False)
                else:
                    v = shared.run_engine(options, net, prop, timeout, runtime, prefer=xs[i])
                    note = v.reason or (f"counterexample -> {argmax_lowest(v.counterexample.output)}"
                                        if v.counterexample else "")
                    if not as_json:
                        shared.err.print(f"#{i} eps {r:g}: {v.status} ({v.seconds:.2f} s){' - ' + note if note else ''}",
                                         highlight=False)
                doc = {"index": i, "label": y, "eps": r, **verdict_doc(v)}
                if save_cex is not None:
                    from bvverify.reports.counterexamples import save_counterexample

                    stem = f"{Path(model).stem}_{i}_eps{r:g}"
                    doc["counterexample_files"] = [str(f) for f in save_counterexample(save_cex, stem, net, prop, v)]
                with interrupts_deferred():  # a decided query is logged and counted together
                    qlog.append({**doc, "note": note})
                    rows.append(doc)
                    table.add_row(str(i), str(y), f"{r:g}", v.status, f"{v.seconds:.2f}", note)
                if result_file is not None:
                    write_vnncomp_result(result_file, v, net.integer_input, shared.outputs_are(net))
        stopped_at = None
    except KeyboardInterrupt:
        pass
    counts = {s: sum(r["status"] == s for r in rows) for s in ("holds", "violated", "unknown")}
    total = len(indices) * len(radii)
    if as_json:
        print(json.dumps({"model": model, "data": src, "eps_unit": eps_unit, "target_class": target_class,
                          "target": net.meta.get("target"), "counts": counts, "log": str(qlog.path),
                          "interrupted": None if stopped_at is None else {"index": stopped_at[0], "eps": stopped_at[1]},
                          "results": rows}))
    else:
        shared.print_table(table)
        shared.out.print(f"holds {counts['holds']}, violated {counts['violated']}, unknown {counts['unknown']}; "
                  f"total {sum(r['seconds'] for r in rows):.1f} s")
        saved = [f for r in rows for f in r.get("counterexample_files", [])]
        if save_cex is not None:
            shared.out.print(f"counterexamples: {len(saved)} files in {save_cex}", highlight=False, soft_wrap=True)
    if stopped_at is not None:
        shared.err.print(f"interrupted at #{stopped_at[0]} eps {stopped_at[1]:g} (not recorded): {len(rows)} of {total} "
                         f"queries decided, kept in {qlog.path}; continue with the same command and --resume",
                         highlight=False, soft_wrap=True)
        raise typer.Exit(INTERRUPTED_EXIT)
    raise typer.Exit(1 if counts["violated"] else 3 if counts["unknown"] else 0)


INTERRUPTED_EXIT = 130  # the shell's code for a run ended by Ctrl-C


def runs_dir() -> Path:
    """Where default logs go: ``$BVVERIFY_RUNS_DIR``, else the user's cache folder."""
    if os.environ.get("BVVERIFY_RUNS_DIR"):
        return Path(os.environ["BVVERIFY_RUNS_DIR"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "bvverify" / "runs"


def default_log(model: str, header: dict[str, Any]) -> Path:
    """``RUNS/robust-MODEL-HASH.jsonl``: the same question asked again finds its log."""
    digest = hashlib.sha256(json.dumps(header, sort_keys=True).encode()).hexdigest()[:12]
    return runs_dir() / f"robust-{Path(model).stem}-{digest}.jsonl"


def _file_identity(what: str, path: Path) -> dict[str, Any]:
    """The file's absolute path and content hash (a file changed in place is another run)."""
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as e:
        shared.fail(f"{path}: cannot read ({e.strerror or e})")
    return {f"{what}_file": str(path.resolve()), f"{what}_sha256": digest}


def _open_log(log: Path | None, header: dict[str, Any], resume: bool, model: str) -> Any:
    from bvverify.batch.query_log import QueryLog

    path = log if log is not None else default_log(model, header)
    if resume and not path.exists():
        shared.err.print(f"note: --resume: no log {path} yet; starting the run", highlight=False, soft_wrap=True)
    return QueryLog.start(path, header, resume)
