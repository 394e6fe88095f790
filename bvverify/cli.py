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


def _load(model: str, input_shape: str | None, engine: str | None, bits: int | None, input_bits: int | None):
    from bvverify.bundled import resolve_model
    from bvverify.importers import load

    return load(resolve_model(model), input_shape=_shape(input_shape), engine=engine, bits=bits, input_bits=input_bits)


InputShapeOpt = typer.Option(None, "--input-shape", help="Input shape without batch axis (TorchScript files), e.g. 1,8,8.")
EngineOpt = typer.Option(None, "--engine", help="Quantized engine of a torch model: fbgemm, x86 or qnnpack "
                         "(default: torch.backends.quantized.engine).")
BitsOpt = typer.Option(None, "--bits", help="Keras h5 networks: weight/activation bit width Q (default: from the file name).")
InBitsOpt = typer.Option(None, "--input-bits", help="Keras h5 networks: input bit width (default: from the file name).")
JsonOpt = typer.Option(False, "--json", help="Print one JSON document instead of tables.")


@app.command()
def inspect(
    model: str = typer.Argument(..., help=MODEL_HELP),
    input_shape: str | None = InputShapeOpt,
    engine: str | None = EngineOpt,
    bits: int | None = BitsOpt,
    input_bits: int | None = InBitsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Layers, shapes, integer types, quantization parameters, requantizer profile and
    the worst-case accumulator range of every layer over the whole input domain."""
    net = _load(model, input_shape, engine, bits, input_bits)
    summary = net.summary()
    if as_json:
        print(json.dumps(summary, indent=2))
        return
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
    bits: int | None = BitsOpt,
    input_bits: int | None = InBitsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Run the exact integer reference interpreter: integer output codes per input
    (argmax ties go to the lowest index)."""
    net = _load(model, input_shape, engine, bits, input_bits)
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


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2, never a traceback."""
    try:
        app()
    except BvverifyError as e:
        err.print(f"bvverify: error: {e}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
