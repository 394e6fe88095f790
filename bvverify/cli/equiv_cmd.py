"""``bvverify equiv``: can two networks (or two targets) disagree?"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.table import Table

from bvverify.cli import app as shared
from bvverify.engines.results import verdict_doc


@shared.app.command()
def equiv(
    model: str = typer.Argument(..., help=shared.MODEL_HELP),
    other: str | None = typer.Argument(None, metavar="[MODEL_B]", help="The second model (omit with --targets)."),
    targets: str | None = typer.Option(None, "--targets", help="One model, two deployment targets, e.g. "
                                       "avx2,avx512-vnni: can the same model give different results on the two CPUs?"),
    prop_path: Path | None = typer.Option(None, "--property", help="VNN-LIB file whose input region is the box (its "
                                          "output condition is not used)."),
    data: Path | None = typer.Option(None, "--data", help="Samples for L-infinity balls, as in `robust` (default for "
                                     "bundled models: their test images)."),
    index: str | None = typer.Option(None, "--index", help="Sample indices: 3, 0-19 or 1,5,7 (default: all)."),
    eps: str = typer.Option("1", "--eps", help="Radius (or comma-separated radii) in input codes."),
    within: int | None = typer.Option(None, "--within", help="Ask whether some output can differ by more than K codes "
                                      "(default: whether the argmax can differ, ties to the lowest index)."),
    engine: str = typer.Option("ilp", "--engine", help="Exact engine for the product network: ilp (default) or bv."),
    solver: str | None = shared.SolverOpt,
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds per query, everything included, "
                                  "before the verdict is 'unknown'."),
    input_shape: str | None = shared.InputShapeOpt,
    qengine: str | None = shared.EngineOpt,
    target: str | None = shared.TargetOpt,
    as_json: bool = shared.JsonOpt,
) -> None:
    """Can two integer networks disagree on a box? Two models (a retrained or re-quantized one
    against the old), or one model on two targets (--targets avx2,avx512-vnni). Verdict per box:
    holds = they cannot disagree, violated = a replayed input on which they do. Exit code 0 / 1 / 3."""
    from bvverify.engines.equiv import EquivError, equiv_property, verify_equiv

    if engine not in ("ilp", "bv"):
        shared.fail(f"--engine {engine!r}: equiv runs on the exact engines ilp and bv")
    shared.check_timeout(timeout)
    options = shared.engine_options(engine, solver)
    if targets is not None:
        names: list[str] = []
        for part in (t.strip() for t in targets.split(",") if t.strip()):
            if "=" in part and names:  # a facet of the previous target (CPU,fbgemm=ISA,aten=ISA)
                names[-1] += "," + part
            else:
                names.append(part)
        if len(names) != 2 or other is not None or target is not None:
            shared.fail("--targets takes exactly two targets (T1,T2) of one model, without MODEL_B or --target")
        a = shared.load_model(model, input_shape, qengine, None, None, names[0], check=0)
        b = shared.load_model(model, input_shape, qengine, None, None, names[1], check=0)
        label_b = f"{model} [{b.meta.get('target')}]"
        model_b = model
    else:
        if other is None:
            shared.fail("give MODEL_B, or --targets T1,T2 for one model on two CPUs")
        a = shared.load_model(model, input_shape, qengine, None, None, target)
        b = shared.load_model(other, input_shape, qengine, None, None, target)
        label_b, model_b = other, other
    label_a = f"{model} [{a.meta.get('target')}]"
    runtimes = (shared.runtime_for(model, a, qengine), shared.runtime_for(model_b, b, qengine))
    queries: list[tuple[str, Any, Any, bool, Any]] = []  # (name, lo, hi, codes, prefer)
    if prop_path is not None:
        from bvverify.properties.vnnlib import read_vnnlib

        prop = read_vnnlib(prop_path, int(np.prod(a.input.shape)), int(np.prod(a.output_shape)), "codes",
                           input_only=True)
        queries.append((str(prop_path), prop.lo.reshape(a.input.shape), prop.hi.reshape(a.input.shape), False, None))
    else:
        from bvverify.bundled import BUNDLED, test_images
        from bvverify.properties.robustness import load_data

        n_in = int(np.prod(a.input.shape))
        if data is None:
            if model not in BUNDLED:
                shared.fail("give --property FILE or --data FILE for a model that is not bundled")
            xs = test_images()[0].reshape(-1, n_in).astype(np.float64)
        else:
            xs = load_data(data, n_in)[0]
        for i in shared.parse_indices(index, len(xs)):
            x = xs[i].reshape((1,) + tuple(a.input.shape))
            q = a.quantize_input(x)[0] if not a.integer_input else x[0].astype(np.int64)
            for r in shared.parse_floats(eps, "--eps"):
                if r != int(r) or r < 0:
                    shared.fail(f"--eps {r:g}: equiv takes radii in whole input codes")
                lo = np.clip(q - int(r), a.input.lo, a.input.hi)
                hi = np.clip(q + int(r), a.input.lo, a.input.hi)
                queries.append((f"#{i} eps {int(r)}", lo, hi, True, xs[i]))
    rows = []
    table = Table("query", "verdict", "seconds", "note")
    for name, lo, hi, codes, prefer in queries:
        try:
            prop = equiv_property(a, b, lo, hi, within, codes, name)
            v = verify_equiv(a, b, prop, options, timeout, runtimes, prefer)
        except EquivError as e:
            shared.fail(str(e))
        doc = {"query": name, **verdict_doc(v)}
        note = v.reason
        if v.counterexample is not None:  # the pair's output codes: model a's, then model b's
            n = int(np.prod(a.output_shape))
            flat = np.asarray(v.counterexample.output).ravel()
            doc["counterexample"]["output_codes_a"] = flat[:n].tolist()
            doc["counterexample"]["output_codes_b"] = flat[n:].tolist()
            note = f"argmax {int(np.argmax(flat[:n]))} vs {int(np.argmax(flat[n:]))}; replayed by " \
                   f"{', '.join(v.counterexample.replayed_by)}"
        rows.append(doc)
        table.add_row(name, {"holds": "cannot disagree", "violated": "CAN DISAGREE"}.get(v.status, v.status),
                      f"{v.seconds:.2f}", note)
        if not as_json:
            shared.err.print(f"{name}: {v.status} ({v.seconds:.2f} s)", highlight=False)
    counts = {s: sum(r["status"] == s for r in rows) for s in ("holds", "violated", "unknown")}
    question = f"outputs more than {within} codes apart" if within is not None else "a different argmax"
    if as_json:
        print(json.dumps({"a": label_a, "b": label_b, "question": question, "counts": counts, "results": rows}))
    else:
        shared.out.print(f"{label_a} vs {label_b}: can they give {question}?", markup=False, highlight=False)
        shared.out.print(table)
        shared.out.print(f"cannot disagree {counts['holds']}, can disagree {counts['violated']}, unknown {counts['unknown']}")
    raise typer.Exit(1 if counts["violated"] else 3 if counts["unknown"] else 0)
