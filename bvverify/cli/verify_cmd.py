"""``bvverify verify``: one VNN-LIB property, exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer

from bvverify.cli.app import (
    EXIT,
    MODEL_HELP,
    BitsOpt,
    BoundsOpt,
    EngineOpt,
    InBitsOpt,
    InputShapeOpt,
    JsonOpt,
    ResultOpt,
    SolverOpt,
    TargetOpt,
    TimeoutOpt,
    VerifyEngineOpt,
    app,
    check_timeout,
    check_writable,
    engine_options,
    load_model,
    out,
    outputs_are,
    run_engine,
    runtime_for,
)
from bvverify.engines.results import verdict_doc, write_vnncomp_result


@app.command()
def verify(
    model: str = typer.Argument(..., help=MODEL_HELP),
    prop_path: Path = typer.Argument(..., metavar="PROPERTY", help="VNN-LIB property: the input box and the output "
                                     "condition of a violation (satisfiable = counterexample)."),
    engine: str = VerifyEngineOpt,
    solver: str | None = SolverOpt,
    bounds: str = BoundsOpt,
    timeout: float = TimeoutOpt,
    result_file: Path | None = ResultOpt,
    input_shape: str | None = InputShapeOpt,
    qengine: str | None = EngineOpt,
    target: str | None = TargetOpt,
    bits: int | None = BitsOpt,
    input_bits: int | None = InBitsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Decide a VNN-LIB property exactly. Exit code 0 holds, 1 violated (with a counterexample
    replayed through the reference interpreter and, for TorchScript models, torch), 3 unknown, 2 bad input."""
    from bvverify.properties.vnnlib import read_vnnlib

    check_timeout(timeout)
    options = engine_options(engine, solver, bounds)
    if result_file is not None:
        check_writable(result_file)
    net = load_model(model, input_shape, qengine, bits, input_bits, target)
    over = outputs_are(net)
    prop = read_vnnlib(prop_path, int(np.prod(net.input.shape)), int(np.prod(net.output_shape)), over)
    runtime = runtime_for(model, net, qengine)
    v = run_engine(options, net, prop, timeout, runtime)
    if result_file is not None:
        write_vnncomp_result(result_file, v, net.integer_input, over)
    doc = {"model": model, "property": str(prop_path), "outputs_are": over, **verdict_doc(v)}
    if as_json:
        print(json.dumps(doc))
    else:
        out.print(f"{model} {prop_path}: [bold]{v.status}[/bold] ({v.engine}, {v.seconds:.2f} s)"
                  + (f" - {v.reason}" if v.reason else ""))
        if v.counterexample is not None:
            c = v.counterexample
            out.print(f"counterexample replayed by {', '.join(c.replayed_by)}: output codes {c.output.ravel().tolist()}")
    raise typer.Exit(EXIT[v.status])
