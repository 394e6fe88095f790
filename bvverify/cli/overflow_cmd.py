"""``bvverify overflow``: can an accumulator leave its width?"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from bvverify.cli import app as shared


@shared.app.command()
def overflow(
    model: str = typer.Argument(..., help=shared.MODEL_HELP),
    prop_path: Path | None = typer.Argument(None, metavar="[PROPERTY]", help="VNN-LIB file whose input box is the "
                                            "region (default: every valid input)."),
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds for the whole check (every layer), "
                                 "before undecided layers are 'unknown'."),
    input_shape: str | None = shared.InputShapeOpt,
    qengine: str | None = shared.EngineOpt,
    target: str | None = shared.TargetOpt,
    bits: int | None = shared.BitsOpt,
    input_bits: int | None = shared.InBitsOpt,
    as_json: bool = shared.JsonOpt,
) -> None:
    """Can any layer's accumulator leave its declared width (int32) on the region? Per layer:
    no (by intervals or proved by the solver), yes (with a witness input), or unknown. Exit code 0
    when no layer can overflow, 1 when one can, 3 when undecided."""
    from bvverify.engines.overflow import check_overflow
    from bvverify.properties.boxes import code_box

    shared.check_timeout(timeout)
    net = shared.load_model(model, input_shape, qengine, bits, input_bits, target)
    if prop_path is None:
        lo = np.full(net.input.shape, net.input.lo, np.int64)
        hi = np.full(net.input.shape, net.input.hi, np.int64)
    else:
        from bvverify.properties.vnnlib import read_vnnlib

        prop = read_vnnlib(prop_path, int(np.prod(net.input.shape)), int(np.prod(net.output_shape)), shared.outputs_are(net),
                           input_only=True)
        lo, hi = code_box(net, prop)
    results = check_overflow(net, lo, hi, timeout)
    docs = [{"layer": r.node, "overflow": r.status, "how": r.how, "acc_min_bound": r.acc_min, "acc_max_bound": r.acc_max,
             "witness_codes": None if r.witness is None else r.witness.ravel().tolist(), "seconds": round(r.seconds, 3)}
            for r in results]
    if as_json:
        print(json.dumps({"model": model, "layers": docs}))
    else:
        table = Table("layer", "can overflow", "how", "interval bound", "seconds")
        for d in docs:
            table.add_row(d["layer"], d["overflow"], d["how"], f"[{d['acc_min_bound']}, {d['acc_max_bound']}]",
                          f"{d['seconds']:.2f}")
        shared.out.print(table)
    status = [r.status for r in results]
    raise typer.Exit(1 if "yes" in status else 3 if "unknown" in status else 0)
