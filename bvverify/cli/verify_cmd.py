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
    prop_path: Path = typer.Argument(..., metavar="PROPERTY", help="VNN-LIB property (VNN-LIB 1, or a 2.0 query over "
                                     "one network, told apart by its content): the input box and the output condition "
                                     "of a violation (satisfiable = counterexample)."),
    engine: str = shared.VerifyEngineOpt,
    solver: str | None = shared.SolverOpt,
    bounds: str = shared.BoundsOpt,
    seed: int = shared.SeedOpt,
    timeout: float = shared.TimeoutOpt,
    result_file: Path | None = typer.Option(None, "--result-file", help="Write the result file: VNN-COMP's (sat/unsat/"
                                            "timeout/unknown + witness) for a VNN-LIB 1 property, the 2.0 answer (sat/"
                                            "unsat/timed-out/unknown + assignment) for a 2.0 query."),
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
    """Decide a VNN-LIB property (VNN-LIB 1, or a 2.0 query over one network) exactly. Exit code 0 holds
    (2.0: unsat), 1 violated (sat; with a counterexample replayed through the reference interpreter and,
    for TorchScript and ONNX models, their runtime), 3 unknown, 2 bad input."""
    from bvverify.cli import verify_query2 as v2
    from bvverify.properties.vnnlib import read_vnnlib

    shared.check_timeout(timeout)
    options = shared.engine_options(engine, solver, bounds, seed)
    if result_file is not None:
        shared.check_writable(result_file)
    if save_cex is not None:
        shared.check_cex_folder(save_cex)
    query = v2.read_query2(prop_path)  # None: a VNN-LIB 1 file, read below exactly as before

    def load():
        return shared.load_model(model, input_shape, qengine, bits, input_bits, target)

    if query is None:
        net = load()
    else:
        decl = v2.single_network(query, model)
        net = v2.load_for_query(query, decl, model, load, target)
    if save_cex is not None:
        shared.check_cex_ready(save_cex, net)
    plan = None
    if query is None:
        over = shared.outputs_are(net)
        prop = read_vnnlib(prop_path, int(np.prod(net.input.shape)), int(np.prod(net.output_shape)), over)
    else:
        plan = v2.plan_for(query, decl, net)
        over, prop = plan.sides[0].over, plan.prop
        for note in query.notes + plan.notes:
            shared.err.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    if prop is None:  # a 2.0 query whose input constraints no input satisfies
        v = v2.empty_region_verdict(plan)
    else:
        v = shared.run_engine(options, net, prop, timeout, shared.runtime_for(model, net, qengine))
    assignment = v2.assignment(plan, v) if plan is not None else []
    if result_file is not None:
        if plan is None:
            write_vnncomp_result(result_file, v, net.integer_input, over)
        else:
            v2.write_result(result_file, v, assignment)
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
        if assignment:
            shared.out.print("assignment (VNN-LIB 2.0, every assertion checked exactly):", highlight=False)
            for line in v2.compact(assignment):
                shared.out.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
        for f in doc.get("counterexample_files", []):
            shared.out.print(f"wrote {f}", highlight=False)
    raise typer.Exit(shared.EXIT[v.status])
