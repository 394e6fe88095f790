"""``bvverify eval``: the reference interpreter on inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.table import Table

from bvverify.cli import app as shared


def read_inputs(path: Path | None, net: Any, model: str) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Inputs as an array [N, *shape], read by the same loader (and reshape rule) as ``robust --data``:
    .npy, .npz (x, y) or .csv (label, values) rows of exactly prod(shape) values."""
    from bvverify.properties.robustness import DataError, load_data

    shape = tuple(net.input.shape)
    if path is None:
        from bvverify.bundled import BUNDLED, test_images

        if model not in BUNDLED:
            shared.fail("INPUTS is required for a model that is not bundled")
        x, labels = test_images()
        return x.reshape((len(x),) + shape), labels, "bundled digits test images"
    try:
        x, labels = load_data(path, int(np.prod(shape)))
    except DataError as e:
        shared.fail(f"{e} (model {model} takes [N, {', '.join(map(str, shape))}])")
    return x.reshape((len(x),) + shape), labels, str(path)


@shared.app.command("eval")
def eval_(
    model: str = typer.Argument(..., help=shared.MODEL_HELP),
    inputs: Path | None = typer.Argument(None, help="Inputs as .npy [N, *input_shape], .npz (x, y) or .csv (label, "
                                         "values) (floats for float-input models, integer codes for integer-input "
                                         "ones). Default for bundled models: their test images."),
    out_path: Path | None = typer.Option(None, "--out", "-o", help="Write the outputs as .npy [N, outputs]."),
    dequantize: bool = typer.Option(False, "--dequantize", help="Output the runtime's dequantized floats instead of codes."),
    input_shape: str | None = shared.InputShapeOpt,
    engine: str | None = shared.EngineOpt,
    target: str | None = shared.TargetOpt,
    bits: int | None = shared.BitsOpt,
    input_bits: int | None = shared.InBitsOpt,
    as_json: bool = shared.JsonOpt,
) -> None:
    """Run the exact integer reference interpreter: integer output codes per input
    (argmax ties go to the lowest index)."""
    net = shared.load_model(model, input_shape, engine, bits, input_bits, target)
    x, labels, src = read_inputs(inputs, net, model)
    codes = net.evaluate(x)
    flat = codes.reshape(codes.shape[0], -1)
    result = net.dequantize(flat) if dequantize else flat
    if out_path is not None:
        try:
            with open(out_path, "wb") as f:  # the exact name given (np.save would append .npy)
                np.save(f, result)
        except OSError as e:
            shared.fail(f"{out_path}: cannot write ({e.strerror})")
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
    shared.out.print(f"{model}: {flat.shape[0]} inputs from {src} -> {flat.shape[1]} outputs"
              f"{' (dequantized)' if dequantize else ' (integer codes)'}")
    table = Table("class", "argmax count")
    for c in np.nonzero(counts)[0]:
        table.add_row(str(c), str(counts[c]))
    shared.out.print(table)
    if labels is not None:
        shared.out.print(f"accuracy against bundled labels: {doc['accuracy']:.3f} ({int(np.sum(pred == labels))}/{len(labels)})")
    if out_path is not None:
        shared.out.print(f"wrote {out_path} [{flat.shape[0]}, {flat.shape[1]}] {result.dtype}")


# ---------------------------------------------------------------------------- verification
