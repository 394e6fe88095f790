"""Quantize the VNN-COMP 2021 mnistfc float networks to int8 with PyTorch, as a user would deploy them.

    python scripts/bench/quantize_mnistfc.py [--benchmarks DIR] [--out OUTDIR] [--networks 256x2,256x4,256x6]
        [--calibration 500] [--check 500]

Why: the published QNN tools never went beyond ~100 hidden neurons; these float networks (512 to
1,536 hidden neurons, with 30 VNN-LIB properties each and 13 float verifiers' verdicts) become
"perception networks quantized with PyTorch" by the standard recipe, so the suite can verify
them as they run in int8 and show where the int8 verdict differs from the float one.

Recipe: each ONNX graph (Flatten, then Gemm/MatMul(+Add) + Relu blocks) is rebuilt as a torch float
model; any affine pre-processing before the first layer (Sub/Add/Mul/Div by constants, e.g. a
normalisation) is folded into the first layer, so the int8 model's input is the same float input
the VNN-LIB boxes bound (pixels / 255, shape [784]). Then eager post-training static quantization on
the fbgemm engine (QuantStub / DeQuantStub, Linear+ReLU fused, torch's default fbgemm qconfig),
calibrated on the MNIST test images of the benchmarks folder (eran/), and saved as TorchScript
(``torch.jit.trace``): ``OUTDIR/mnist-net_256xK.pt``, which ``bvverify.load`` imports (input shape
from its first Linear). The output is dequantized, so the properties' ``Y_j`` are read as
dequantized outputs (``read_vnnlib(..., over="dequantized")``). For each network the script prints
the float and int8 accuracy on the images and how often ``bvverify.load``'s interpreter reproduces
torch's int8 outputs bit for bit; ``OUTDIR/quantize_report.json`` records them.

OUTDIR must be outside the repository: the weights derive from benchmark data that is never committed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
FOLDER = "vnncomp2021_mnistfc"
IMAGES = "eran/mnist_test_first500_int.csv"
NETWORKS = ("256x2", "256x4", "256x6")
ENGINE = "fbgemm"
PASS_THROUGH = ("Flatten", "Reshape", "Squeeze", "Unsqueeze", "Identity")  # on [1, 784, 1]-style inputs: the order is kept


def default_benchmarks() -> Path:
    env = os.environ.get("BVVERIFY_BENCHMARKS")
    return Path(env) if env else REPO.parent / "shared" / "benchmarks"


def default_models() -> Path:
    """Where the int8 files go by default: a cache folder outside any repository (the suite reads the same default)."""
    cache = os.environ.get("XDG_CACHE_HOME")
    return (Path(cache) if cache else Path.home() / ".cache") / "bvverify" / "mnistfc-int8"


def model_file(models: Path, network: str) -> Path:
    return models / f"mnist-net_{network}.pt"


@dataclass
class Layer:
    weight: np.ndarray  # [out, in] float64
    bias: np.ndarray  # [out]
    relu: bool = False


class GraphError(SystemExit):
    """An ONNX graph this rebuild does not cover: named, never guessed."""


def onnx_layers(path: Path) -> list[Layer]:
    """The network as dense layers, with any affine input pre-processing folded into the first one."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    consts = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            consts[node.output[0]] = numpy_helper.to_array(node.attribute[0].t).astype(np.float64)
    inputs = [i.name for i in graph.input if i.name not in consts]
    if len(inputs) != 1:
        raise GraphError(f"{path}: expected one graph input, found {inputs}")
    current = inputs[0]
    scale: np.ndarray | float = 1.0  # the input pre-processing x' = scale * x + shift, before any layer
    shift: np.ndarray | float = 0.0
    layers: list[Layer] = []
    after_linear = False  # the current value is a layer's output before its Relu (an Add there is its bias)
    for node in graph.node:
        op, ins = node.op_type, list(node.input)
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if op == "Constant":
            continue
        if op in ("Add", "Mul") and len(ins) == 2 and ins[1] == current and ins[0] in consts:
            ins.reverse()  # commutative: the constant second
        if not ins or ins[0] != current:
            raise GraphError(f"{path}: node {node.name or op} does not continue the chain (not a plain layer stack)")
        if op in PASS_THROUGH:
            pass
        elif op in ("Sub", "Add", "Mul", "Div") and ins[1] in consts:
            c = consts[ins[1]].reshape(-1) if consts[ins[1]].size > 1 else float(consts[ins[1]].reshape(-1)[0])
            if after_linear and op == "Add":
                layers[-1].bias = layers[-1].bias + c
            elif layers:
                raise GraphError(f"{path}: {op} by a constant between layers is not supported")
            elif op == "Sub":
                shift = shift - c
            elif op == "Add":
                shift = shift + c
            elif op == "Mul":
                scale, shift = scale * c, shift * c
            else:
                scale, shift = scale / c, shift / c
        elif op == "Gemm":
            if attrs.get("transA", 0):
                raise GraphError(f"{path}: Gemm with transA is not supported")
            b = consts[ins[1]]
            w = (b if attrs.get("transB", 0) else b.T) * float(attrs.get("alpha", 1.0))
            bias = consts[ins[2]] * float(attrs.get("beta", 1.0)) if len(ins) > 2 else np.zeros(w.shape[0])
            layers.append(Layer(w, np.broadcast_to(bias, (w.shape[0],)).astype(np.float64)))
        elif op == "MatMul" and ins[1] in consts:
            w = consts[ins[1]].T
            layers.append(Layer(w, np.zeros(w.shape[0])))
        elif op == "Relu":
            if not layers or layers[-1].relu:
                raise GraphError(f"{path}: Relu without a layer before it")
            layers[-1].relu = True
        else:
            raise GraphError(f"{path}: unsupported ONNX op {op} ({node.name}): only Flatten/Reshape, Sub/Add/Mul/Div by "
                             "constants before the first layer, Gemm, MatMul(+Add) and Relu")
        after_linear = op in ("Gemm", "MatMul") or (after_linear and op == "Add")
        current = node.output[0]
    if current not in [o.name for o in graph.output]:
        raise GraphError(f"{path}: the chain does not end at the graph output")
    if not layers:
        raise GraphError(f"{path}: no Gemm/MatMul layer")
    first = layers[0]  # W (scale * x + shift) + b = (W * scale) x + (W shift + b)
    first.bias = first.weight @ np.broadcast_to(shift, (first.weight.shape[1],)) + first.bias
    first.weight = first.weight * np.broadcast_to(scale, (first.weight.shape[1],))[None, :]
    return layers


def float_model(layers: list[Layer]) -> Any:
    """The torch float model, with the quantization stubs around a Linear(+ReLU) stack."""
    import torch
    import torch.ao.quantization as tq
    from torch import nn

    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.quant = tq.QuantStub()
            mods: list[nn.Module] = []
            self.fuse: list[list[str]] = []
            for layer in layers:
                lin = nn.Linear(layer.weight.shape[1], layer.weight.shape[0])
                with torch.no_grad():
                    lin.weight.copy_(torch.from_numpy(layer.weight.astype(np.float32)))
                    lin.bias.copy_(torch.from_numpy(layer.bias.astype(np.float32)))
                mods.append(lin)
                if layer.relu:
                    mods.append(nn.ReLU())
                    self.fuse.append([f"body.{len(mods) - 2}", f"body.{len(mods) - 1}"])
            self.body = nn.Sequential(*mods)
            self.dequant = tq.DeQuantStub()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.dequant(self.body(self.quant(x)))

    return MLP().eval()


def quantize(model: Any, calibration: np.ndarray) -> Any:
    """Eager post-training static quantization on fbgemm, calibrated on ``calibration`` [N, 784]."""
    import copy

    import torch
    import torch.ao.quantization as tq

    torch.backends.quantized.engine = ENGINE
    q = copy.deepcopy(model).eval()
    with warnings.catch_warnings():  # torch's deprecation notices for the eager API, once per call: not our output
        warnings.simplefilter("ignore")
        q.qconfig = tq.get_default_qconfig(ENGINE)
        tq.fuse_modules(q, q.fuse, inplace=True)
        tq.prepare(q, inplace=True)
        with torch.no_grad():
            q(torch.from_numpy(calibration.astype(np.float32)))
        tq.convert(q, inplace=True)
    return q


def load_images(bench: Path) -> tuple[np.ndarray, np.ndarray]:
    """MNIST test images 0..499 as float32 pixels / 255 [N, 784], and labels."""
    from bvverify.properties.robustness import load_data

    xs, ys = load_data(bench / IMAGES, 784)
    assert ys is not None
    return (xs.astype(np.float32) / np.float32(255.0)), ys


def run(model: Any, x: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return model(torch.from_numpy(np.asarray(x, dtype=np.float32))).numpy()


def quantize_network(bench: Path, network: str, out: Path, n_calibration: int, n_check: int) -> dict[str, Any]:
    """One network: rebuild, quantize, save, reload with bvverify and compare with torch; returns the report."""
    import torch

    import bvverify

    torch.set_num_threads(1)
    xs, ys = load_images(bench)
    layers = onnx_layers(bench / FOLDER / f"mnist-net_{network}.onnx")
    fm = float_model(layers)
    qm = quantize(fm, xs[:n_calibration])
    path = model_file(out, network)
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # the tracer's notes that the quantization parameters are constants: they are
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.trace(qm, torch.from_numpy(xs[:1])), str(path))
    net = bvverify.load(path)  # TorchScript: the input shape [784] comes from the first Linear; self-checked on import
    check = xs[:n_check]
    ours = net.dequantize(net.evaluate(check))
    theirs = run(torch.jit.load(str(path)), check)
    same = int(np.sum(np.all(ours == theirs, axis=1)))
    float_acc = float(np.mean(run(fm, xs).argmax(1) == ys))
    int8_acc = float(np.mean(net.evaluate(xs).argmax(1) == ys))
    return {"network": network, "file": str(path), "layers": [list(layer.weight.shape) for layer in layers],
            "engine": ENGINE, "target": net.meta.get("target"), "calibration_images": int(min(n_calibration, len(xs))),
            "input_scale": float(net.input.quantizer.scale) if net.input.quantizer else None,
            "input_zero_point": int(net.input.quantizer.zero_point) if net.input.quantizer else None,
            "images": len(xs), "float_accuracy": float_acc, "int8_accuracy": int8_acc,
            "agreement_images": len(check), "agreement_identical": same, "torch": torch.__version__}


def inside_repo(path: Path) -> bool:
    p = path.expanduser().resolve()
    return p == REPO or REPO in p.parents


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--benchmarks", type=Path, default=default_benchmarks())
    ap.add_argument("--out", type=Path, default=default_models(), help="output folder, outside the repository "
                    f"(default {default_models()})")
    ap.add_argument("--networks", default=",".join(NETWORKS), help="comma list of " + ",".join(NETWORKS))
    ap.add_argument("--calibration", type=int, default=500, help="calibration images (the first N of 500)")
    ap.add_argument("--check", type=int, default=500, help="images on which bvverify is compared with torch")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args = parse_args(argv)
    if inside_repo(args.out):
        raise SystemExit(f"--out {args.out} is inside the repository {REPO}: weights derived from the benchmark data "
                         "must stay outside it")
    if not (args.benchmarks / FOLDER).is_dir():
        raise SystemExit(f"mnistfc networks not found at {args.benchmarks / FOLDER} (pass --benchmarks)")
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise SystemExit("this script needs the onnx package: pip install -e '.[bench]'") from None
    networks = [n for n in args.networks.split(",") if n]
    if bad := [n for n in networks if n not in NETWORKS]:
        raise SystemExit(f"unknown network(s) {bad} (use {','.join(NETWORKS)})")
    if not 1 <= args.calibration or not 1 <= args.check:
        raise SystemExit("--calibration and --check need at least one image")
    reports = []
    for network in networks:
        r = quantize_network(args.benchmarks, network, args.out, args.calibration, args.check)
        reports.append(r)
        print(f"mnist-net_{network}: {r['file']} ({' -> '.join(str(s[1]) for s in r['layers'])} -> "
              f"{r['layers'][-1][0]}; input scale {r['input_scale']:.6g}, zero point {r['input_zero_point']}); "
              f"accuracy on {r['images']} MNIST test images: float {r['float_accuracy']:.2%}, int8 {r['int8_accuracy']:.2%}; "
              f"bvverify vs torch: {r['agreement_identical']}/{r['agreement_images']} images with identical outputs",
              flush=True)
    report_file = args.out / "quantize_report.json"
    old = json.loads(report_file.read_text()) if report_file.is_file() else {}
    report_file.write_text(json.dumps({**old, **{r["network"]: r for r in reports}}, indent=1) + "\n")
    if any(r["agreement_identical"] != r["agreement_images"] for r in reports):
        print("bvverify's interpreter differs from torch on some images: a bug to report", file=sys.stderr)
        raise SystemExit(1)
    return reports


if __name__ == "__main__":
    main()
