"""Verdicts and times of the exact bit-vector engine on robustness queries.

    python scripts/bench/bv_figures.py [--benchmarks ../shared/benchmarks] [--timeout 20]
        [--suites digits,aaai] [--json out.json]

Suites:
- digits: the bundled digits MLP and CNN, eps = 1, 2, 3 input codes, on the 20 bundled images;
- aaai: the AAAI'21 MNIST network (784-64-32, pow2 fixed point, 32 outputs) on MNIST test
  samples 0-19 at eps = 1, 2 pixel codes (the benchmark's own protocol), compared with the
  published per-sample results where they exist.
Each query is one call of the bv engine with the given timeout; misclassified samples are
reported as such (no query). Sanity figures, not a speed benchmark.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

import bvverify
from bvverify.bundled import resolve_model, test_images
from bvverify.engines.bv import verify_bv
from bvverify.properties.robustness import argmax_lowest, load_data, robustness_property

console = Console()


def run_suite(name: str, net, xs, ys, indices, radii, timeout: float, reference=None) -> list[dict]:
    rows = []
    for i in indices:
        x, y = xs[i], int(ys[i])
        clean = argmax_lowest(net.evaluate(x.reshape((1,) + tuple(net.input.shape)))[0])
        for eps in radii:
            if clean != y:
                rows.append({"suite": name, "index": i, "eps": eps, "status": "misclassified", "seconds": 0.0})
                continue
            prop = robustness_property(net, x, y, eps, "codes")
            t0 = time.perf_counter()
            v = verify_bv(net, prop, timeout=timeout, prefer=x)
            row = {"suite": name, "index": i, "eps": eps, "status": v.status, "seconds": round(time.perf_counter() - t0, 3)}
            if reference is not None:
                row["published"] = reference.get((i, eps))
            rows.append(row)
            console.print(f"{name} #{i} eps {eps}: {v.status} ({row['seconds']:.2f} s)"
                          + (f" published: {row.get('published')}" if reference is not None else ""))
    return rows


def summarise(rows: list[dict]) -> Table:
    table = Table("suite", "eps", "holds", "violated", "unknown", "misclassified", "total s", "median s (decided)")
    keys = sorted({(r["suite"], r["eps"]) for r in rows})
    for suite, eps in keys:
        sel = [r for r in rows if r["suite"] == suite and r["eps"] == eps]
        count = {s: sum(r["status"] == s for r in sel) for s in ("holds", "violated", "unknown", "misclassified")}
        decided = [r["seconds"] for r in sel if r["status"] in ("holds", "violated")]
        table.add_row(suite, f"{eps:g}", *(str(count[s]) for s in ("holds", "violated", "unknown", "misclassified")),
                      f"{sum(r['seconds'] for r in sel):.1f}", f"{np.median(decided):.2f}" if decided else "-")
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--benchmarks", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "benchmarks")
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--suites", default="digits,aaai")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    rows: list[dict] = []
    suites = args.suites.split(",")
    if "digits" in suites:
        x, y = test_images()
        for model in ("digits-mlp", "digits-cnn"):
            net = bvverify.load(resolve_model(model))
            xs = x.reshape((len(x),) + tuple(net.input.shape)).astype(np.float64)
            rows += run_suite(model, net, xs, y, range(len(x)), [1, 2, 3], args.timeout)
    if "aaai" in suites:
        h5 = args.benchmarks / "aaai21_qnn_robustness" / "weights" / "mnist_mlp.h5"
        data = args.benchmarks / "eran" / "mnist_test.csv"
        if not h5.exists() or not data.exists():
            console.print(f"skipping aaai: {h5} or {data} not found")
        else:
            net = bvverify.load(h5)
            xs, ys = load_data(data, 784)
            ref = {}
            res = args.benchmarks / "aaai21_qnn_robustness" / "results" / "aaai21_reported_results.csv"
            if res.exists():
                with open(res, newline="") as f:
                    for r in csv.DictReader(f):
                        if r.get("dataset", "mnist").lower().startswith("mnist"):
                            ref[(int(r["sample_id"]), float(r["eps"]))] = r["status"]
            rows += run_suite("aaai21-mnist", net, xs, ys, range(20), [1, 2], args.timeout, ref)
    console.print(summarise(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
