"""``bvverify export-smt``: the exact query as SMT-LIB2 QF_BV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from bvverify.cli import app as shared


@shared.app.command("export-smt")
def export_smt(
    model: str = typer.Argument(..., help=shared.MODEL_HELP),
    prop_path: Path = typer.Argument(..., metavar="PROPERTY", help="VNN-LIB property."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the SMT-LIB2 file."),
    input_shape: str | None = shared.InputShapeOpt,
    qengine: str | None = shared.EngineOpt,
    target: str | None = shared.TargetOpt,
    bits: int | None = shared.BitsOpt,
    input_bits: int | None = shared.InBitsOpt,
) -> None:
    """Write the exact query as a self-contained SMT-LIB2 QF_BV problem (sat = counterexample)."""
    from bvverify.engines.bv import build_solver
    from bvverify.properties.vnnlib import read_vnnlib

    net = shared.load_model(model, input_shape, qengine, bits, input_bits, target)
    prop = read_vnnlib(prop_path, int(np.prod(net.input.shape)), int(np.prod(net.output_shape)), shared.outputs_are(net))
    solver, _, _ = build_solver(net, prop)
    text = "(set-logic QF_BV)\n" + solver.to_smt2().replace("(set-logic ALL)", "")
    try:
        output.write_text(text)
    except OSError as e:
        shared.fail(f"{output}: cannot write ({e.strerror})")
    shared.out.print(f"wrote {output} ({len(text.splitlines())} lines, QF_BV)")
