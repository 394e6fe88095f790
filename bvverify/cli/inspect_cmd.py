"""``bvverify inspect``: layers, target and what it changes, the self-check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from bvverify.cli import app as shared


@shared.app.command()
def inspect(
    model: str = typer.Argument(..., help=shared.MODEL_HELP),
    input_shape: str | None = shared.InputShapeOpt,
    engine: str | None = shared.EngineOpt,
    target: str | None = shared.TargetOpt,
    bits: int | None = shared.BitsOpt,
    input_bits: int | None = shared.InBitsOpt,
    check: int = typer.Option(0, "--check", help="Run the runtime self-check on N inputs: the interpreter against torch "
                              "on this machine, layer by layer (torch models; a target the host can run in a fresh "
                              "process is checked there)."),
    as_json: bool = shared.JsonOpt,
) -> None:
    """Layers, shapes, integer types, quantization parameters, requantizer profile, the
    deployment target and what it changes, and the worst-case accumulator range of every
    layer over the whole input domain."""
    if check < 0:
        shared.fail(f"--check {check}: expected a number of inputs >= 0")
    net = shared.load_model(model, input_shape, engine, bits, input_bits, target, check=0 if check else None)
    summary = net.summary()
    summary["target_rules"] = target_rules(net, model_path(model))
    if check:
        from bvverify.importers.torch import check_model

        summary["check"] = check_model(model_path(model), net, check, input_shape=input_shape)
    if as_json:
        print(json.dumps(summary, indent=2))
        raise typer.Exit(0 if not check or summary["check"]["ok"] else 1)
    inp, o = summary["input"], summary["output"]
    q = inp["quantizer"]
    shared.out.print(f"[bold]{model}[/bold]  source: {net.meta.get('source', '?')}  engine/format: "
              f"{net.meta.get('engine', net.meta.get('format', '?'))}")
    shared.out.print(f"input  {inp['shape']}  codes {inp['codes'][0]}..{inp['codes'][1]}  " +
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
    shared.out.print(table)
    shared.out.print(f"output {o['tensor']} {o['shape']}" + (f"  dequantize scale={o['scale']:.6g} zero_point={o['zero_point']}"
                                                      if o["scale"] is not None else ""))
    for note in net.meta.get("notes", []) or []:
        shared.out.print(f"note: {note}")
    shared.out.print(f"target: {net.meta.get('target') or 'not recorded'}")
    for rule in summary["target_rules"]:
        shared.out.print(f"  {rule}")
    if check:
        c = summary["check"]
        shared.out.print(f"self-check against {c['runtime']} (target {c['target']}): {c['inputs']} inputs, {c['outputs']} output "
                  f"codes, {c['mismatches']} differ" + (f"; first layer that differs: {c['first_layer']} ({c['example']})"
                                                       if c["first_layer"] else ""))
        table = Table("tensor", "torch op", "codes compared", "differ")
        for layer in c["layers"]:
            table.add_row(layer["tensor"], layer["op"], str(layer["compared"]), str(layer["mismatches"]))
        shared.out.print(table)
        raise typer.Exit(0 if c["ok"] else 1)


def model_path(model: str) -> Path:
    from bvverify.bundled import resolve_model

    return resolve_model(model)


def target_rules(net: Any, path: Path | None = None) -> list[str]:
    """What the model's target changes, one line a rule (for an onnxruntime model: what it runs on)."""
    from bvverify.importers import PORTABLE
    from bvverify.runtimes.target import parse

    if net.meta.get("runtime") == "onnxruntime":
        return onnx_rules(net, path)
    t = net.meta.get("target")
    if t is None:
        return ["no target recorded (a model saved before targets existed: its arithmetic is that of the machine that "
                "imported it)"]
    if t == PORTABLE:
        return ["fixed-point arithmetic: the same integers on every CPU"]
    return parse(t).describe()


def onnx_rules(net: Any, path: Path | None) -> list[str]:
    """What an ONNX model is as bvverify models it: onnxruntime's kernels on the host it was imported
    on (torch's fbgemm / aten target rules say nothing about it), its requantizers and its ops."""
    meta = net.meta
    lines = [f"runtime profile: onnxruntime {meta.get('onnxruntime', '')}".rstrip() + f" ({meta.get('format', 'onnx')}, "
             "CPU execution provider): the integers its kernels compute on the graph its optimizer rewrites"]
    profiles = sorted({n.profile for n in net.nodes if getattr(n, "profile", None)})
    if profiles:
        lines.append(f"requantizer profile{'s' if len(profiles) > 1 else ''}: {', '.join(profiles)}")
    lines.append(f"the target is the host it was imported on ({meta.get('target') or 'not recorded'}): onnxruntime has "
                 "no switch to run another CPU's int8 kernels, so --target takes this host only")
    ops = onnx_ops(path)
    if ops:
        lines.append(f"ONNX ops in the file: {', '.join(ops)}")
    return lines


def onnx_ops(path: Path | None) -> list[str]:
    """The op types of an ONNX file's graph, sorted ([] when the file cannot be read again)."""
    if path is None:
        return []
    from bvverify.errors import BvverifyError
    from bvverify.vnnlib_standard.models import onnx_interface

    try:
        return sorted(onnx_interface(path)[2])
    except BvverifyError:
        return []
