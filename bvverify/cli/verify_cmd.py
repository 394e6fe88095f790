"""``bvverify verify``: one VNN-LIB property, exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer

from bvverify.cli import app as shared
from bvverify.engines.results import verdict_doc, write_vnncomp_result


@shared.app.command()
def verify(
    model: str = typer.Argument(..., help=shared.MODEL_HELP),
    prop_path: Path = typer.Argument(..., metavar="PROPERTY", help="VNN-LIB property: the input box and the output "
                                     "condition of a violation (satisfiable = counterexample)."),
    engine: str = shared.VerifyEngineOpt,
    solver: str | None = shared.SolverOpt,
    bounds: str = shared.BoundsOpt,
    seed: int = shared.SeedOpt,
    timeout: float = shared.TimeoutOpt,
    result_file: Path | None = shared.ResultOpt,
    save_cex: Path | None = typer.Option(None, "--save-counterexamples", help="Folder for a violated verdict's "
                                         "counterexample: the VNN-COMP result file, the input codes (and float input) "
                                         "as .npy, and a PNG for image inputs (docs/reports.md)."),
    input_shape: str | None = shared.InputShapeOpt,
    qengine: str | None = shared.EngineOpt,
    target: str | None = shared.TargetOpt,
    bits: int | None = shared.BitsOpt,
    input_bits: int | None = shared.InBitsOpt,
    as_json: bool = shared.JsonOpt,
) -> None:
    """Decide a VNN-LIB property exactly. Exit code 0 holds, 1 violated (with a counterexample
    replayed through the reference interpreter and, for TorchScript models, torch), 3 unknown, 2 bad input."""
    from bvverify.properties.vnnlib import read_vnnlib

    shared.check_timeout(timeout)
    options = shared.engine_options(engine, solver, bounds, seed)
    if result_file is not None:
        shared.check_writable(result_file)
    if save_cex is not None:
        check_cex_folder(save_cex)
    net = shared.load_model(model, input_shape, qengine, bits, input_bits, target)
    if save_cex is not None:
        check_cex_ready(save_cex, net)
    over = shared.outputs_are(net)
    prop = read_vnnlib(prop_path, int(np.prod(net.input.shape)), int(np.prod(net.output_shape)), over)
    runtime = shared.runtime_for(model, net, qengine)
    v = shared.run_engine(options, net, prop, timeout, runtime)
    if result_file is not None:
        write_vnncomp_result(result_file, v, net.integer_input, over)
    doc = {"model": model, "property": str(prop_path), "outputs_are": over, **verdict_doc(v)}
    if save_cex is not None:
        from bvverify.reports.counterexamples import save_counterexample

        doc["counterexample_files"] = [str(f) for f in save_counterexample(save_cex, prop_path.stem, net, prop, v)]
    if as_json:
        print(json.dumps(doc))
    else:
        shared.out.print(f"{model} {prop_path}: [bold]{v.status}[/bold] ({v.engine}, {v.seconds:.2f} s)"
                  + (f" - {v.reason}" if v.reason else ""))
        if v.counterexample is not None:
            c = v.counterexample
            shared.out.print(f"counterexample replayed by {', '.join(c.replayed_by)}: output codes {c.output.ravel().tolist()}")
        for f in doc.get("counterexample_files", []):
            shared.out.print(f"wrote {f}", highlight=False)
    raise typer.Exit(shared.EXIT[v.status])


def check_cex_ready(folder: Path, net: object) -> None:
    """matplotlib is there when an image counterexample will be drawn (one line, exit 2, before solving)."""
    from bvverify.reports.counterexamples import check_ready

    check_ready(folder, net)


def check_cex_folder(folder: Path) -> None:
    """The counterexample folder is made (or refused, one line) before any solving."""
    from bvverify.engines.results import ResultFileError
    from bvverify.reports.counterexamples import check_folder

    try:
        check_folder(folder)
    except ResultFileError as e:
        shared.fail(str(e))
