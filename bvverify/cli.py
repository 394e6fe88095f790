"""The ``bvverify`` command line.

Every :class:`~bvverify.errors.BvverifyError` becomes one line on stderr and
exit code 2; ``--json`` prints one JSON document on stdout.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from bvverify.errors import BvverifyError

os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "ERROR")  # torch's C++ deprecation chatter is not our output

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Verify quantized neural networks as they run: exact integer semantics, bit for bit.",
)
out = Console()
err = Console(stderr=True)

MODEL_HELP = ("Model file: native .bvq, TorchScript .pt of a converted quantized torch model, or a QVIP/AAAI'21 Keras .h5; "
              "or a bundled model name (digits-mlp, digits-cnn).")


def _fail(msg: str) -> None:
    err.print(f"bvverify: error: {msg}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _shape(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    try:
        shape = tuple(int(v) for v in text.replace("x", ",").split(",") if v.strip())
    except ValueError:
        _fail(f"--input-shape {text!r}: expected integers separated by commas, e.g. 1,8,8")
    if not shape or min(shape) < 1:
        _fail(f"--input-shape {text!r}: dimensions must be positive")
    return shape


def _load(model: str, input_shape: str | None, engine: str | None, bits: int | None, input_bits: int | None,
          target: str | None = None, check: int | None = None):
    from bvverify.bundled import resolve_model
    from bvverify.importers import load

    return load(resolve_model(model), input_shape=_shape(input_shape), engine=engine, bits=bits, input_bits=input_bits,
                target=target, check=check)


InputShapeOpt = typer.Option(None, "--input-shape", help="Input shape without batch axis (TorchScript files), e.g. 1,8,8.")
EngineOpt = typer.Option(None, "--qengine", help="Quantized engine a torch model runs on: fbgemm, x86 or qnnpack "
                         "(default: torch.backends.quantized.engine).")
TargetOpt = typer.Option(None, "--target", help="Deployment CPU of a torch model: host (default: what torch runs here, "
                         "FBGEMM_ENABLE_INSTRUCTIONS and ATEN_CPU_CAPABILITY included), avx2, avx512, avx512-vnni, or "
                         "CPU,fbgemm=ISA,aten=ISA. The same model computes different integers on each; `inspect` says what "
                         "each changes. Native files keep the target they were imported for.")
BitsOpt = typer.Option(None, "--bits", help="Keras h5 networks: weight/activation bit width Q (default: from the file name).")
InBitsOpt = typer.Option(None, "--input-bits", help="Keras h5 networks: input bit width (default: from the file name).")
JsonOpt = typer.Option(False, "--json", help="Print one JSON document instead of tables.")


@app.command()
def inspect(
    model: str = typer.Argument(..., help=MODEL_HELP),
    input_shape: str | None = InputShapeOpt,
    engine: str | None = EngineOpt,
    target: str | None = TargetOpt,
    bits: int | None = BitsOpt,
    input_bits: int | None = InBitsOpt,
    check: int = typer.Option(0, "--check", help="Run the runtime self-check on N inputs: the interpreter against torch "
                              "on this machine, layer by layer (torch models; a target the host can run in a fresh "
                              "process is checked there)."),
    as_json: bool = JsonOpt,
) -> None:
    """Layers, shapes, integer types, quantization parameters, requantizer profile, the
    deployment target and what it changes, and the worst-case accumulator range of every
    layer over the whole input domain."""
    if check < 0:
        _fail(f"--check {check}: expected a number of inputs >= 0")
    net = _load(model, input_shape, engine, bits, input_bits, target, check=0 if check else None)
    summary = net.summary()
    summary["target_rules"] = _target_rules(net)
    if check:
        from bvverify.importers.torch import check_model

        summary["check"] = check_model(_model_path(model), net, check, input_shape=input_shape)
    if as_json:
        print(json.dumps(summary, indent=2))
        raise typer.Exit(0 if not check or summary["check"]["ok"] else 1)
    inp, o = summary["input"], summary["output"]
    q = inp["quantizer"]
    out.print(f"[bold]{model}[/bold]  source: {net.meta.get('source', '?')}  engine/format: "
              f"{net.meta.get('engine', net.meta.get('format', '?'))}")
    out.print(f"input  {inp['shape']}  codes {inp['codes'][0]}..{inp['codes'][1]}  " +
              (f"quantizer scale={q['scale']:.6g} zero_point={q['zero_point']} rule={q['rule']}" if q else "integer input"))
    table = Table(show_lines=False)
    for col in ("layer", "op", "shape", "details"):
        table.add_column(col)
    for layer in summary["layers"]:
        detail = ""
        if layer["op"] in ("Dense", "Conv2d"):
            acc = layer.get("accumulator") or {}
            detail = (f"w int{layer['weight_bits']} {layer['weight_range']} x_zero={layer['x_zero']} w_zero={layer['w_zero']}"
                      f"{' +int bias' if layer['int_bias'] else ''}; acc int{layer['acc_bits']} worst case "
                      f"[{acc.get('acc_min')}, {acc.get('acc_max')}] ({acc.get('bits_needed')} bits"
                      f"{', CAN OVERFLOW' if acc.get('can_overflow') else ''})")
            if layer["op"] == "Conv2d":
                detail += f"; stride {layer['stride']} pad {layer['padding']} dil {layer['dilation']} groups {layer['groups']}"
        elif layer["op"] == "Requantize":
            detail = f"{layer['detail']}; clamp {layer['clamp']}"
        elif "clamp" in layer:
            detail = f"clamp {layer['clamp']}"
        table.add_row(layer["name"], layer["op"], "x".join(map(str, layer["shape"])), detail)
    out.print(table)
    out.print(f"output {o['tensor']} {o['shape']}" + (f"  dequantize scale={o['scale']:.6g} zero_point={o['zero_point']}"
                                                      if o["scale"] is not None else ""))
    for note in net.meta.get("notes", []) or []:
        out.print(f"note: {note}")
    out.print(f"target: {net.meta.get('target') or 'not recorded'}")
    for rule in summary["target_rules"]:
        out.print(f"  {rule}")
    if check:
        c = summary["check"]
        out.print(f"self-check against {c['runtime']} (target {c['target']}): {c['inputs']} inputs, {c['outputs']} output "
                  f"codes, {c['mismatches']} differ" + (f"; first layer that differs: {c['first_layer']} ({c['example']})"
                                                       if c["first_layer"] else ""))
        table = Table("tensor", "torch op", "codes compared", "differ")
        for layer in c["layers"]:
            table.add_row(layer["tensor"], layer["op"], str(layer["compared"]), str(layer["mismatches"]))
        out.print(table)
        raise typer.Exit(0 if c["ok"] else 1)


def _model_path(model: str) -> Path:
    from bvverify.bundled import resolve_model

    return resolve_model(model)


def _target_rules(net: Any) -> list[str]:
    """What the model's target changes, one line a rule."""
    from bvverify.importers import PORTABLE
    from bvverify.runtimes.target import parse

    t = net.meta.get("target")
    if t is None:
        return ["no target recorded (a model saved before targets existed: its arithmetic is that of the machine that "
                "imported it)"]
    if t == PORTABLE:
        return ["fixed-point arithmetic: the same integers on every CPU"]
    return parse(t).describe()


def _read_inputs(path: Path | None, net: Any, model: str) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Inputs as an array [N, *shape]; rows of exactly prod(shape) values are reshaped."""
    labels = None
    if path is None:
        from bvverify.bundled import BUNDLED, test_images

        if model not in BUNDLED:
            _fail("INPUTS is required for a model that is not bundled")
        x, labels = test_images()
        src = "bundled digits test images"
    else:
        if not path.exists():
            _fail(f"{path}: no such file")
        try:
            x = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            _fail(f"{path}: not a readable .npy array ({e})")
        if isinstance(x, np.lib.npyio.NpzFile):
            _fail(f"{path}: an .npz archive; give a single .npy array")
        if x.dtype.kind not in "biuf":
            _fail(f"{path}: array of dtype {x.dtype}, expected numbers")
        src = str(path)
    shape = tuple(net.input.shape)
    size = int(np.prod(shape))
    if x.shape[1:] != shape and x.ndim >= 1 and x.size % size == 0 and int(np.prod(x.shape[1:])) == size:
        x = x.reshape((x.shape[0],) + shape)
    elif x.shape == shape:
        x = x[None]
    if x.shape[1:] != shape:
        _fail(f"{src}: inputs have shape {list(x.shape)}, model {model} takes [N, {', '.join(map(str, shape))}]")
    return x, labels, src


@app.command("eval")
def eval_(
    model: str = typer.Argument(..., help=MODEL_HELP),
    inputs: Path | None = typer.Argument(None, help="Inputs as .npy [N, *input_shape] (floats for float-input models, "
                                         "integer codes for integer-input ones). Default for bundled models: their test images."),
    out_path: Path | None = typer.Option(None, "--out", "-o", help="Write the outputs as .npy [N, outputs]."),
    dequantize: bool = typer.Option(False, "--dequantize", help="Output the runtime's dequantized floats instead of codes."),
    input_shape: str | None = InputShapeOpt,
    engine: str | None = EngineOpt,
    target: str | None = TargetOpt,
    bits: int | None = BitsOpt,
    input_bits: int | None = InBitsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Run the exact integer reference interpreter: integer output codes per input
    (argmax ties go to the lowest index)."""
    net = _load(model, input_shape, engine, bits, input_bits, target)
    x, labels, src = _read_inputs(inputs, net, model)
    codes = net.evaluate(x)
    flat = codes.reshape(codes.shape[0], -1)
    result = net.dequantize(flat) if dequantize else flat
    if out_path is not None:
        try:
            np.save(out_path, result)
        except OSError as e:
            _fail(f"{out_path}: cannot write ({e.strerror})")
    pred = np.argmax(flat, axis=1)
    counts = np.bincount(pred, minlength=flat.shape[1])
    doc: dict[str, Any] = {"model": model, "inputs": src, "n": int(flat.shape[0]), "outputs": int(flat.shape[1]),
                           "argmax": pred.tolist(), "argmax_counts": counts.tolist(),
                           "out": None if out_path is None else str(out_path), "dequantized": dequantize}
    if labels is not None:
        doc["labels"] = labels.tolist()
        doc["accuracy"] = float(np.mean(pred == labels))
    if as_json:
        doc["values"] = result.tolist()
        print(json.dumps(doc))
        return
    out.print(f"{model}: {flat.shape[0]} inputs from {src} -> {flat.shape[1]} outputs"
              f"{' (dequantized)' if dequantize else ' (integer codes)'}")
    table = Table("class", "argmax count")
    for c in np.nonzero(counts)[0]:
        table.add_row(str(c), str(counts[c]))
    out.print(table)
    if labels is not None:
        out.print(f"accuracy against bundled labels: {doc['accuracy']:.3f} ({int(np.sum(pred == labels))}/{len(labels)})")
    if out_path is not None:
        out.print(f"wrote {out_path} [{flat.shape[0]}, {flat.shape[1]}] {result.dtype}")


# ---------------------------------------------------------------------------- verification

EXIT = {"holds": 0, "violated": 1, "unknown": 3}
VerifyEngineOpt = typer.Option("ilp", "--engine", help="Verification engine: ilp (exact integer linear program, see "
                               "--solver; default), bv (exact z3 bit-vector encoding), both sound and complete; or bounds "
                               "(bound propagation: holds, a violating box centre, or unknown).")
SolverOpt = typer.Option("cpsat", "--solver", help="ILP back-end for --engine ilp: cpsat (OR-Tools CP-SAT, exact integer "
                         "arithmetic; default), highs (HiGHS MILP, floating point), z3 (exact linear integer "
                         "arithmetic) or z3opt (z3 Optimize).")
BoundsOpt = typer.Option("symbolic", "--bounds", help="Bound propagation that decides (bounds engine) or sizes the "
                         "exact encodings (bv, ilp): symbolic "
                         "(DeepPoly-style back-substitution; default) or interval.")
TimeoutOpt = typer.Option(300.0, "--timeout", help="Seconds per query before the verdict is 'unknown'.")
ResultOpt = typer.Option(None, "--result-file", help="Write the VNN-COMP result file (sat/unsat/timeout/unknown + witness).")


def _runtime_for(model: str, net: Any, engine: str | None):
    """The real runtime for counterexample replay, when the model file is one torch can run
    (for a target this machine cannot run, None: the interpreter alone replays, and a note says so)."""
    from bvverify.bundled import resolve_model
    from bvverify.importers.torch import is_torchscript, torch_runtime

    path = resolve_model(model)
    if path.suffix in (".pt", ".pth") or is_torchscript(path):
        runtime = torch_runtime(path, net.meta.get("engine") or engine or "fbgemm", net)
        if runtime is None:
            from bvverify.runtimes.target import host

            err.print(f"note: {model}: this machine ({host()}) cannot run torch as target {net.meta.get('target')}; "
                      "counterexamples are replayed by the reference interpreter only", highlight=False, soft_wrap=True)
        return runtime
    return None


def _verdict_doc(v: Any, net: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"status": v.status, "engine": v.engine, "seconds": round(v.seconds, 4), "reason": v.reason,
                           "stats": v.stats, "counterexample": None}
    c = v.counterexample
    if c is not None:
        doc["counterexample"] = {
            "input": np.asarray(c.input).ravel().tolist(),
            "input_codes": np.asarray(c.codes).ravel().tolist(),
            "output_codes": np.asarray(c.output).ravel().tolist(),
            "output": None if c.dequantized is None else np.asarray(c.dequantized).ravel().tolist(),
            "replayed_by": c.replayed_by,
        }
    return doc


def _write_result(path: Path, v: Any, net: Any, over: str) -> None:
    """VNN-COMP result format: first line sat/unsat/timeout/unknown, then the witness."""
    word = {"holds": "unsat", "violated": "sat"}.get(v.status, "timeout" if "timeout" in v.reason else "unknown")
    lines = [word]
    c = v.counterexample
    if c is not None:
        xs = np.asarray(c.input).ravel()
        ys = np.asarray(c.dequantized if over == "dequantized" and c.dequantized is not None else c.output).ravel()
        fmt = (lambda a: repr(float(a))) if not net.integer_input else (lambda a: str(int(a)))
        items = [f"(X_{i} {fmt(a)})" for i, a in enumerate(xs)]
        items += [f"(Y_{j} {repr(float(b)) if over == 'dequantized' else int(b)})" for j, b in enumerate(ys)]
        lines.append("(" + "\n ".join(items) + ")")
    try:
        path.write_text("\n".join(lines) + "\n")
    except OSError as e:
        _fail(f"{path}: cannot write ({e.strerror})")


def _run_engine(engine: str, net: Any, prop: Any, timeout: float, runtime: Any, prefer: Any = None,
                solver: str = "cpsat", bounds: str = "symbolic") -> Any:
    from bvverify.bounds import METHODS as BOUND_METHODS
    from bvverify.engines.ilp_solvers import SOLVERS

    if bounds not in BOUND_METHODS:
        _fail(f"--bounds {bounds!r}: expected one of {', '.join(BOUND_METHODS)}")
    if engine == "bounds":
        from bvverify.engines.bounds import verify_bounds

        return verify_bounds(net, prop, runtime=runtime, prefer=prefer, method=bounds)
    if engine == "ilp":
        if solver not in SOLVERS:
            _fail(f"--solver {solver!r}: unknown ILP solver (available: {', '.join(SOLVERS)})")
        from bvverify.engines.ilp import verify_ilp

        return verify_ilp(net, prop, solver=solver, timeout=timeout, runtime=runtime, prefer=prefer, bounds=bounds)
    if engine != "bv":
        _fail(f"--engine {engine!r}: unknown verification engine (available: bv, ilp, bounds)")
    from bvverify.engines.bv import verify_bv

    return verify_bv(net, prop, timeout=timeout, runtime=runtime, prefer=prefer, bounds=bounds)


def _over(net: Any) -> str:
    return "dequantized" if net.meta.get("dequantized_output") and net.output.scale is not None else "codes"


@app.command()
def verify(
    model: str = typer.Argument(..., help=MODEL_HELP),
    prop_path: Path = typer.Argument(..., metavar="PROPERTY", help="VNN-LIB property: the input box and the output "
                                     "condition of a violation (satisfiable = counterexample)."),
    engine: str = VerifyEngineOpt,
    solver: str = SolverOpt,
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

    net = _load(model, input_shape, qengine, bits, input_bits, target)
    over = _over(net)
    prop = read_vnnlib(prop_path, int(np.prod(net.input.shape)), int(np.prod(net.output_shape)), over)
    runtime = _runtime_for(model, net, qengine)
    v = _run_engine(engine, net, prop, timeout, runtime, solver=solver, bounds=bounds)
    if result_file is not None:
        _write_result(result_file, v, net, over)
    doc = {"model": model, "property": str(prop_path), "outputs_are": over, **_verdict_doc(v, net)}
    if as_json:
        print(json.dumps(doc))
    else:
        out.print(f"{model} {prop_path}: [bold]{v.status}[/bold] ({v.engine}, {v.seconds:.2f} s)"
                  + (f" - {v.reason}" if v.reason else ""))
        if v.counterexample is not None:
            c = v.counterexample
            out.print(f"counterexample replayed by {', '.join(c.replayed_by)}: output codes {c.output.ravel().tolist()}")
    raise typer.Exit(EXIT[v.status])


def _indices(spec: str | None, n: int) -> list[int]:
    if spec is None:
        return list(range(n))
    out: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        try:
            if "-" in part[1:]:
                a, b = part.split("-", 1)
                out += list(range(int(a), int(b) + 1))
            else:
                out.append(int(part))
        except ValueError:
            _fail(f"--index {spec!r}: expected indices like 3 or 0-19 or 1,5,7")
    for i in out:
        if not 0 <= i < n:
            _fail(f"--index {i} out of range: the data has {n} samples (0..{n - 1})")
    return out


def _floats(spec: str, what: str) -> list[float]:
    try:
        vals = [float(v) for v in spec.split(",") if v.strip()]
    except ValueError:
        _fail(f"{what} {spec!r}: expected numbers separated by commas")
    if not vals:
        _fail(f"{what}: no value given")
    return vals


@app.command()
def robust(
    model: str = typer.Argument(..., help=MODEL_HELP),
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
    engine: str = VerifyEngineOpt,
    solver: str = SolverOpt,
    bounds: str = BoundsOpt,
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds per query before the verdict is 'unknown'."),
    result_file: Path | None = ResultOpt,
    input_shape: str | None = InputShapeOpt,
    qengine: str | None = EngineOpt,
    target: str | None = TargetOpt,
    bits: int | None = BitsOpt,
    input_bits: int | None = InBitsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Local robustness around data samples: is the argmax (ties to the lowest index, every output
    counts) constant on the L-infinity ball? One exact query per sample and radius."""
    from bvverify.bundled import BUNDLED, test_images
    from bvverify.properties.robustness import DataError, argmax_lowest, load_data, robustness_property

    net = _load(model, input_shape, qengine, bits, input_bits, target)
    n_in = int(np.prod(net.input.shape))
    if data is None:
        if model not in BUNDLED:
            _fail("--data is required for a model that is not bundled")
        xs, ys = test_images()
        xs, src = xs.reshape(len(xs), -1).astype(np.float64), "bundled digits test images"
    else:
        xs, ys = load_data(data, n_in)
        src = str(data)
    xs = xs * data_scale
    if ys is None and label is None:
        _fail(f"{src} has no labels: give --label")
    radii = _floats(eps, "--eps")
    clip_range = tuple(_floats(clip, "--clip")) if clip else None
    if clip_range is not None and len(clip_range) != 2:
        _fail(f"--clip {clip!r}: expected LO,HI")
    if eps_unit not in ("codes", "float"):
        _fail(f"--eps-unit {eps_unit!r}: expected codes or float")
    runtime = _runtime_for(model, net, qengine)
    rows = []
    if result_file is not None and len(_indices(index, len(xs))) * len(radii) != 1:
        _fail("--result-file needs exactly one query (one --index and one --eps)")
    table = Table("index", "label", "eps", "verdict", "seconds", "note")
    for i in _indices(index, len(xs)):
        y = int(label if label is not None else ys[i])  # type: ignore[index]
        clean = argmax_lowest(net.evaluate(xs[i].reshape((1,) + tuple(net.input.shape)))[0])
        for r in radii:
            try:
                prop = robustness_property(net, xs[i], y, r, eps_unit, target_class, clip_range, name=f"{src}#{i}")
            except DataError as e:
                _fail(str(e))
            if clean != y and target_class is None:
                doc = {"index": i, "label": y, "eps": r, "status": "violated", "engine": "clean", "seconds": 0.0,
                       "reason": f"misclassified: the clean input is predicted {clean}", "counterexample": None}
                from bvverify.engines.base import replay

                cex = replay(net, prop, net.quantize_input(xs[i].reshape((1,) + tuple(net.input.shape)))[0]
                             if not net.integer_input else xs[i].astype(np.int64), runtime, prefer=xs[i])
                doc["counterexample"] = {"input": np.asarray(cex.input).ravel().tolist(),
                                         "output_codes": cex.output.ravel().tolist(), "replayed_by": cex.replayed_by}
                rows.append(doc)
                table.add_row(str(i), str(y), f"{r:g}", "violated", "0.00", f"misclassified (predicted {clean})")
                if not as_json:
                    out.print(f"#{i} eps {r:g}: violated (clean input misclassified as {clean})")
                continue
            v = _run_engine(engine, net, prop, timeout, runtime, prefer=xs[i], solver=solver, bounds=bounds)
            doc = {"index": i, "label": y, "eps": r, **_verdict_doc(v, net)}
            rows.append(doc)
            note = v.reason or (f"counterexample -> {argmax_lowest(v.counterexample.output)}" if v.counterexample else "")
            table.add_row(str(i), str(y), f"{r:g}", v.status, f"{v.seconds:.2f}", note)
            if not as_json:
                out.print(f"#{i} eps {r:g}: {v.status} ({v.seconds:.2f} s){' - ' + note if note else ''}")
            if result_file is not None:
                _write_result(result_file, v, net, _over(net))
    counts = {s: sum(r["status"] == s for r in rows) for s in ("holds", "violated", "unknown")}
    if as_json:
        print(json.dumps({"model": model, "data": src, "eps_unit": eps_unit, "target_class": target_class,
                          "target": net.meta.get("target"), "counts": counts,
                          "results": rows}))
    else:
        out.print(table)
        out.print(f"holds {counts['holds']}, violated {counts['violated']}, unknown {counts['unknown']}; "
                  f"total {sum(r['seconds'] for r in rows):.1f} s")
    raise typer.Exit(1 if counts["violated"] else 3 if counts["unknown"] else 0)


@app.command()
def equiv(
    model: str = typer.Argument(..., help=MODEL_HELP),
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
    solver: str = SolverOpt,
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds per query before the verdict is 'unknown'."),
    input_shape: str | None = InputShapeOpt,
    qengine: str | None = EngineOpt,
    target: str | None = TargetOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Can two integer networks disagree on a box? Two models (a retrained or re-quantized one
    against the old), or one model on two targets (--targets avx2,avx512-vnni). Verdict per box:
    holds = they cannot disagree, violated = a replayed input on which they do. Exit code 0 / 1 / 3."""
    from bvverify.engines.equiv import EquivError, equiv_property, verify_equiv

    if engine not in ("ilp", "bv"):
        _fail(f"--engine {engine!r}: equiv runs on the exact engines ilp and bv")
    if targets is not None:
        names: list[str] = []
        for part in (t.strip() for t in targets.split(",") if t.strip()):
            if "=" in part and names:  # a facet of the previous target (CPU,fbgemm=ISA,aten=ISA)
                names[-1] += "," + part
            else:
                names.append(part)
        if len(names) != 2 or other is not None or target is not None:
            _fail("--targets takes exactly two targets (T1,T2) of one model, without MODEL_B or --target")
        a = _load(model, input_shape, qengine, None, None, names[0], check=0)
        b = _load(model, input_shape, qengine, None, None, names[1], check=0)
        label_b = f"{model} [{b.meta.get('target')}]"
        model_b = model
    else:
        if other is None:
            _fail("give MODEL_B, or --targets T1,T2 for one model on two CPUs")
        a = _load(model, input_shape, qengine, None, None, target)
        b = _load(other, input_shape, qengine, None, None, target)
        label_b, model_b = other, other
    label_a = f"{model} [{a.meta.get('target')}]"
    runtimes = (_runtime_for(model, a, qengine), _runtime_for(model_b, b, qengine))
    queries: list[tuple[str, Any, Any, bool, Any]] = []  # (name, lo, hi, codes, prefer)
    if prop_path is not None:
        from bvverify.properties.vnnlib import read_vnnlib

        prop = read_vnnlib(prop_path, int(np.prod(a.input.shape)), int(np.prod(a.output_shape)), "codes")
        queries.append((str(prop_path), prop.lo.reshape(a.input.shape), prop.hi.reshape(a.input.shape), False, None))
    else:
        from bvverify.bundled import BUNDLED, test_images
        from bvverify.properties.robustness import load_data

        n_in = int(np.prod(a.input.shape))
        if data is None:
            if model not in BUNDLED:
                _fail("give --property FILE or --data FILE for a model that is not bundled")
            xs = test_images()[0].reshape(-1, n_in).astype(np.float64)
        else:
            xs = load_data(data, n_in)[0]
        for i in _indices(index, len(xs)):
            x = xs[i].reshape((1,) + tuple(a.input.shape))
            q = a.quantize_input(x)[0] if not a.integer_input else x[0].astype(np.int64)
            for r in _floats(eps, "--eps"):
                if r != int(r) or r < 0:
                    _fail(f"--eps {r:g}: equiv takes radii in whole input codes")
                lo = np.clip(q - int(r), a.input.lo, a.input.hi)
                hi = np.clip(q + int(r), a.input.lo, a.input.hi)
                queries.append((f"#{i} eps {int(r)}", lo, hi, True, xs[i]))
    rows = []
    table = Table("query", "verdict", "seconds", "note")
    for name, lo, hi, codes, prefer in queries:
        try:
            prop = equiv_property(a, b, lo, hi, within, codes, name)
            v = verify_equiv(a, b, prop, engine, solver, timeout, runtimes, prefer)
        except EquivError as e:
            _fail(str(e))
        doc = {"query": name, **_verdict_doc(v, a)}
        if v.counterexample is not None:
            n = int(np.prod(a.output_shape))
            flat = np.asarray(v.counterexample.output).ravel()
            doc["counterexample"]["output_codes_a"] = flat[:n].tolist()
            doc["counterexample"]["output_codes_b"] = flat[n:].tolist()
        rows.append(doc)
        note = v.reason
        if v.counterexample is not None:
            n = int(np.prod(a.output_shape))
            flat = np.asarray(v.counterexample.output).ravel()
            note = f"argmax {int(np.argmax(flat[:n]))} vs {int(np.argmax(flat[n:]))}; replayed by " \
                   f"{', '.join(v.counterexample.replayed_by)}"
        table.add_row(name, {"holds": "cannot disagree", "violated": "CAN DISAGREE"}.get(v.status, v.status),
                      f"{v.seconds:.2f}", note)
        if not as_json:
            err.print(f"{name}: {v.status} ({v.seconds:.2f} s)", highlight=False)
    counts = {s: sum(r["status"] == s for r in rows) for s in ("holds", "violated", "unknown")}
    question = f"outputs more than {within} codes apart" if within is not None else "a different argmax"
    if as_json:
        print(json.dumps({"a": label_a, "b": label_b, "question": question, "counts": counts, "results": rows}))
    else:
        out.print(f"{label_a} vs {label_b}: can they give {question}?", markup=False, highlight=False)
        out.print(table)
        out.print(f"cannot disagree {counts['holds']}, can disagree {counts['violated']}, unknown {counts['unknown']}")
    raise typer.Exit(1 if counts["violated"] else 3 if counts["unknown"] else 0)


@app.command()
def overflow(
    model: str = typer.Argument(..., help=MODEL_HELP),
    prop_path: Path | None = typer.Argument(None, metavar="[PROPERTY]", help="VNN-LIB file whose input box is the "
                                            "region (default: every valid input)."),
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds per layer for the solver."),
    input_shape: str | None = InputShapeOpt,
    qengine: str | None = EngineOpt,
    target: str | None = TargetOpt,
    bits: int | None = BitsOpt,
    input_bits: int | None = InBitsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Can any layer's accumulator leave its declared width (int32) on the region? Per layer:
    no (by intervals or proved by the solver), yes (with a witness input), or unknown. Exit code 0
    when no layer can overflow, 1 when one can, 3 when undecided."""
    from bvverify.engines.overflow import check_overflow
    from bvverify.properties.boxes import code_box

    net = _load(model, input_shape, qengine, bits, input_bits, target)
    if prop_path is None:
        lo = np.full(net.input.shape, net.input.lo, np.int64)
        hi = np.full(net.input.shape, net.input.hi, np.int64)
    else:
        from bvverify.properties.vnnlib import read_vnnlib

        prop = read_vnnlib(prop_path, int(np.prod(net.input.shape)), int(np.prod(net.output_shape)), _over(net))
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
        out.print(table)
    status = [r.status for r in results]
    raise typer.Exit(1 if "yes" in status else 3 if "unknown" in status else 0)


@app.command("export-smt")
def export_smt(
    model: str = typer.Argument(..., help=MODEL_HELP),
    prop_path: Path = typer.Argument(..., metavar="PROPERTY", help="VNN-LIB property."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the SMT-LIB2 file."),
    input_shape: str | None = InputShapeOpt,
    qengine: str | None = EngineOpt,
    target: str | None = TargetOpt,
    bits: int | None = BitsOpt,
    input_bits: int | None = InBitsOpt,
) -> None:
    """Write the exact query as a self-contained SMT-LIB2 QF_BV problem (sat = counterexample)."""
    from bvverify.engines.bv import build_solver
    from bvverify.properties.vnnlib import read_vnnlib

    net = _load(model, input_shape, qengine, bits, input_bits, target)
    prop = read_vnnlib(prop_path, int(np.prod(net.input.shape)), int(np.prod(net.output_shape)), _over(net))
    solver, _, _ = build_solver(net, prop)
    text = "(set-logic QF_BV)\n" + solver.to_smt2().replace("(set-logic ALL)", "")
    try:
        output.write_text(text)
    except OSError as e:
        _fail(f"{output}: cannot write ({e.strerror})")
    out.print(f"wrote {output} ({len(text.splitlines())} lines, QF_BV)")


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2, never a traceback."""
    try:
        app()
    except BvverifyError as e:
        err.print(f"bvverify: error: {e}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
