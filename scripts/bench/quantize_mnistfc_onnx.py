"""Quantize the VNN-COMP 2021 mnistfc float ONNX networks with onnxruntime, import them, check and verify.

    python scripts/bench/quantize_mnistfc_onnx.py [--benchmarks DIR] [--out OUTDIR] [--networks 256x2,256x4,256x6]
        [--formats qdq,qoperator] [--activations u8] [--calibration 500]
        [--check 1000] [--properties 3] [--eps 0.05] [--timeout 60]

Why: a user with an ONNX classifier quantizes it with ``onnxruntime.quantization.quantize_static``
and deploys it on onnxruntime; bvverify should import that file, compute onnxruntime's integers
exactly, and verify the benchmark's VNN-LIB properties on the int8 network as it runs.

Per network and format: ``quantize_static`` (MinMax, per-channel int8 weights, the activation type
given; the opset-9 files are converted to opset 13 first, which per-channel
quantization needs) calibrated on the first ``--calibration`` MNIST test images of ``eran/`` (pixels / 255, shape
[1, 784, 1] like the float network), written to ``OUTDIR/mnist-net_<net>_<format>_<act>.onnx``; then
``bvverify.load`` (imported OK?), output codes against onnxruntime on ``--check`` inputs (the images,
uniform points in [0, 1] and the box corners 0 / 1), and ``bvverify verify MODEL PROP --timeout T``
on the first ``--properties`` properties of the network in ``mnistfc_instances.csv``. A table is
printed and ``OUTDIR/report.json`` written.

OUTDIR must be outside the repository: the weights derive from benchmark data that is never committed
(default ``~/.cache/bvverify/mnistfc-onnx-int8/``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # quantize_mnistfc beside this script
from quantize_mnistfc import FOLDER, IMAGES, REPO, default_benchmarks, inside_repo  # noqa: E402


def default_out() -> Path:
    """The torch script's cache folder's sibling: outside any repository, never committed."""
    cache = os.environ.get("XDG_CACHE_HOME")
    return (Path(cache) if cache else Path.home() / ".cache") / "bvverify" / "mnistfc-onnx-int8"


def load_images(bench: Path, n: int) -> np.ndarray:
    rows = []
    with open(bench / IMAGES) as f:
        for row in csv.reader(f):
            if row:
                rows.append([float(v) for v in row[1:785]])
            if len(rows) >= n:
                break
    return (np.asarray(rows, np.float32) / np.float32(255)).reshape(-1, 784, 1)


def quantize(src: Path, dst: Path, images: np.ndarray, fmt: str, act: str) -> None:
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    model = onnx.load(str(src))
    if max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) < 13:
        # the mnistfc files are opset 9: per-channel DequantizeLinear (axis) needs opset 13
        from onnx import version_converter

        model = version_converter.convert_version(model, 13)
        src = dst.with_suffix(".float-opset13.onnx")
        onnx.save(model, str(src))
    name = model.graph.input[0].name

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter([{name: x[None]} for x in images])

        def get_next(self):  # noqa: ANN201  (onnxruntime's interface)
            return next(self.it, None)

    quantize_static(str(src), str(dst), Reader(), quant_format=QuantFormat.QDQ if fmt == "qdq" else QuantFormat.QOperator,
                    activation_type=QuantType.QUInt8 if act == "u8" else QuantType.QInt8,
                    weight_type=QuantType.QInt8, per_channel=True)


def check_inputs(images: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = max(n - len(images) - 2, 0)
    parts = [images[:n], rng.uniform(0, 1, (k, 784, 1)).astype(np.float32),
             np.zeros((1, 784, 1), np.float32), np.ones((1, 784, 1), np.float32)]
    return np.concatenate(parts)[:n]


def properties(bench: Path, network: str, k: int, eps: str | None = None) -> list[Path]:
    out = []
    with open(bench / FOLDER / "mnistfc_instances.csv") as f:
        for row in csv.reader(f):
            if row and row[0].strip() == f"mnist-net_{network}.onnx" and (
                    eps is None or row[1].strip().endswith(f"_{eps}.vnnlib")):
                out.append(bench / FOLDER / row[1].strip())
    return out[:k]


def verify(model: Path, prop: Path, timeout: float) -> dict:
    t0 = time.time()
    p = subprocess.run([sys.executable, "-m", "bvverify", "verify", str(model), str(prop), "--timeout", str(timeout),
                        "--json"], capture_output=True, text=True, timeout=timeout * 4 + 120)
    try:
        doc = json.loads(p.stdout)
    except json.JSONDecodeError:
        return {"property": prop.name, "status": f"error (exit {p.returncode})", "seconds": round(time.time() - t0, 2),
                "error": p.stderr.strip().splitlines()[-1:] }
    cex = doc.get("counterexample") or {}
    return {"property": prop.name, "status": doc["status"], "seconds": round(doc["seconds"], 2),
            "decided_by": doc.get("stats", {}).get("decided_by"), "replayed_by": cex.get("replayed_by"),
            "reason": doc.get("reason", "")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--benchmarks", type=Path, default=default_benchmarks())
    ap.add_argument("--out", type=Path, default=default_out())
    ap.add_argument("--networks", default="256x2,256x4,256x6")
    ap.add_argument("--formats", default="qdq,qoperator")
    ap.add_argument("--activations", default="u8")
    ap.add_argument("--calibration", type=int, default=500)
    ap.add_argument("--check", type=int, default=1000)
    ap.add_argument("--properties", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--eps", default=None, help="only the properties of this radius (0.03 or 0.05)")
    args = ap.parse_args()
    if not (args.benchmarks / FOLDER).is_dir():
        print(f"no {FOLDER} under {args.benchmarks} (give --benchmarks)", file=sys.stderr)
        return 2
    out = args.out.resolve()
    if inside_repo(out):
        print(f"{out}: inside the repository; benchmark-derived weights are never committed (give --out)", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(REPO))
    from bvverify.importers import load
    from bvverify.importers.onnx_runtime import onnx_runtime

    images = load_images(args.benchmarks, max(args.calibration, args.check))
    report = []
    print("| network | format | act | imported | compared outputs | mismatches | property | verdict | s | decided by |"
          " replayed by |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for net_name in args.networks.split(","):
        src = args.benchmarks / FOLDER / f"mnist-net_{net_name}.onnx"
        for fmt in args.formats.split(","):
            for act in args.activations.split(","):
                dst = out / f"mnist-net_{net_name}_{fmt}_{act}.onnx"
                quantize(src, dst, images[: args.calibration], fmt, act)
                row = {"network": net_name, "format": fmt, "act": act, "file": str(dst)}
                try:
                    net = load(dst)
                    row["imported"] = "OK: " + " ".join(n.op for n in net.nodes)
                except Exception as e:  # noqa: BLE001  (reported in the table, not raised)
                    row["imported"] = f"refused: {e}"
                    report.append(row)
                    print(f"| {net_name} | {fmt} | {act} | {row['imported']} | | | | | | | |")
                    continue
                x = check_inputs(images, args.check)
                a, b = net.evaluate(x), onnx_runtime(dst, net)(x)
                row.update(compared=int(a.size), mismatches=int((a != b).sum()))
                row["verify"] = [verify(dst, p, args.timeout) for p in properties(args.benchmarks, net_name,
                                                                                    args.properties, args.eps)]
                report.append(row)
                for i, v in enumerate(row["verify"] or [{}]):
                    head = (f"| {net_name} | {fmt} | {act} | OK | {row['compared']} | {row['mismatches']} " if i == 0
                            else "| | | | | | ")
                    print(head + f"| {v.get('property', '')} | {v.get('status', '')} | {v.get('seconds', '')} | "
                          f"{v.get('decided_by') or ''} | {','.join(v.get('replayed_by') or [])} |", flush=True)
    (out / "report.json").write_text(json.dumps(report, indent=2))
    return 1 if any(r.get("mismatches") for r in report) else 0


if __name__ == "__main__":
    sys.exit(main())
