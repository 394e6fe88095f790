"""Torch against the interpreter, per quantized engine and per target path this host can run.

    python scripts/bench/torch_targets.py [--models 10] [--inputs 2000]

Draws the test suite's generated models (tests/strategies/torch_models.py) per engine and family, imports
each for the target torch runs in the measuring process, and compares every output code. The
host path runs here; every other target this CPU can run (fbgemm's AVX2 / AVX-512 paths on a
VNNI host) runs in a fresh process with FBGEMM_ENABLE_INSTRUCTIONS / ATEN_CPU_CAPABILITY set.
Prints one markdown table: models, outputs, mismatches, and models whose outputs int16 pair
saturation changes (so the saturating path is known to be exercised).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FAMILIES = ("mlp", "cnn", "avgpool", "add", "cat")
ENGINES = ("fbgemm", "x86", "qnnpack")


def measure(models: int, inputs: int) -> list[dict]:
    """In this process: every engine x family, for the host target."""
    sys.path.insert(0, str(ROOT))
    from tests.importers.test_torch_equivalence import HOST, run_hypothesis  # the suite's own generator

    rows = []
    for engine in ENGINES:
        for family in FAMILIES:
            stats = run_hypothesis(engine, family, models, inputs).as_dict()["total"]
            rows.append({"target": HOST.name, "engine": engine, "family": family, **stats})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=10, help="models per engine and family")
    ap.add_argument("--inputs", type=int, default=2000, help="inputs per model")
    ap.add_argument("--here", action="store_true", help=argparse.SUPPRESS)  # the child process: print JSON rows
    args = ap.parse_args()
    if args.here:
        print(json.dumps(measure(args.models, args.inputs)))
        return
    sys.path.insert(0, str(ROOT))
    from bvverify.runtimes.target import CPUS, Target, host, natural

    me = natural(host().cpu)
    paths = [dict(os.environ)]
    for isa in CPUS[: CPUS.index(me.fbgemm)]:  # the lesser fbgemm paths this CPU can be forced down to
        t = Target(me.cpu, isa, "avx2" if isa == "avx2" else me.aten)
        paths.append({**os.environ, **t.env()})
    rows = []
    for env in paths:
        out = subprocess.run([sys.executable, __file__, "--here", "--models", str(args.models), "--inputs",
                              str(args.inputs)], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
        rows += json.loads(out.stdout.strip().splitlines()[-1])
    print("| target | engine | family | models | refused | outputs | mismatches | pair-saturated models |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['target']} | {r['engine']} | {r['family']} | {r['models']} | {r['refused_models']} | "
              f"{r['outputs']} | {r['mismatches']} | {r['pair_saturated_models']} |")
    tot = {k: sum(r[k] for r in rows) for k in ("models", "outputs", "mismatches")}
    print(f"\ntotal: {tot['models']} models, {tot['outputs']} outputs, {tot['mismatches']} mismatches")


if __name__ == "__main__":
    main()
