"""Throughput of the reference interpreter beside torch's quantized kernels, same run.

    python scripts/bench/interp_vs_torch.py [--model digits-mlp] [--repeat 5]

Both evaluate the same float inputs end to end (input quantization, every layer,
output codes / dequantized floats). torch runs with one thread (the setting
under which its quantized add is deterministic); numpy uses its default BLAS.
Prints samples/s per batch size and the ratio interpreter / torch, and checks
the two agree on every output of the timed batches.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

import bvverify
from bvverify.bundled import MODELS_DIR, resolve_model


def best_rate(fn, n: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="digits-mlp", choices=["digits-mlp", "digits-cnn"])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--batches", default="1,64,1024,8192")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.backends.quantized.engine = "fbgemm"
    net = bvverify.load(resolve_model(args.model))
    tmod = torch.jit.load(str(MODELS_DIR / (args.model.replace("-", "_") + ".pt")))
    rng = np.random.default_rng(0)
    table = Table("batch", "interpreter samples/s", "torch samples/s", "ratio interp/torch", "outputs equal")
    for b in (int(v) for v in args.batches.split(",")):
        x = rng.uniform(-0.1, 1.1, (b,) + tuple(net.input.shape)).astype(np.float32)
        xt = torch.from_numpy(x)
        with torch.no_grad():
            ref = tmod(xt).numpy()
        equal = bool(np.array_equal(net.dequantize(net.evaluate(x)), ref))
        reps = max(1, args.repeat if b >= 64 else args.repeat * 20)
        r_interp = best_rate(lambda: net.evaluate(x), b, reps)  # noqa: B023
        with torch.no_grad():
            r_torch = best_rate(lambda: tmod(xt), b, reps)  # noqa: B023
        table.add_row(str(b), f"{r_interp:,.0f}", f"{r_torch:,.0f}", f"{r_interp / r_torch:.3f}", str(equal))
    Console().print(f"[bold]{args.model}[/bold]: reference interpreter vs torch {torch.__version__} (fbgemm, 1 thread)")
    Console().print(table)


if __name__ == "__main__":
    main()
