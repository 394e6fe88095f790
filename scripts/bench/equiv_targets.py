"""Can the bundled digits models give a different argmax on an AVX2 and an AVX-512 VNNI CPU?

    python scripts/bench/equiv_targets.py [--eps 1,2,3] [--images 20] [--timeout 30] [--within K]

For each bundled TorchScript model (fbgemm engine), each of the bundled test images and each
radius in input codes: one exact `equiv` query between the model imported for `avx2` and for
`avx512-vnni`. Prints a markdown table of verdict counts and times per model and radius.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    sys.path.insert(0, str(ROOT))
    import bvverify
    from bvverify.bundled import MODELS_DIR, test_images
    from bvverify.engines.equiv import equiv_property, verify_equiv

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eps", default="1,2,3")
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--within", type=int, default=None)
    ap.add_argument("--targets", default="avx2;avx512-vnni", help="two targets separated by ';'")
    args = ap.parse_args()
    ta, tb = args.targets.split(";")
    xs, _ = test_images()
    print("| model | eps | cannot disagree | can disagree | unknown | total s | median s | max s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, shape in (("digits_mlp", None), ("digits_cnn", (1, 8, 8))):
        path = MODELS_DIR / f"{name}.pt"
        a = bvverify.load(path, input_shape=shape, engine="fbgemm", target=ta, check=0)
        b = bvverify.load(path, input_shape=shape, engine="fbgemm", target=tb, check=0)
        for eps in (int(e) for e in args.eps.split(",")):
            counts = {"holds": 0, "violated": 0, "unknown": 0}
            times = []
            for i in range(min(args.images, len(xs))):
                q = a.quantize_input(xs[i].reshape((1,) + tuple(a.input.shape)))[0]
                lo, hi = np.clip(q - eps, 0, 255), np.clip(q + eps, 0, 255)
                t0 = time.perf_counter()
                v = verify_equiv(a, b, equiv_property(a, b, lo, hi, args.within, True), timeout=args.timeout,
                                 prefer=xs[i].reshape(a.input.shape))
                times.append(time.perf_counter() - t0)
                counts[v.status] += 1
            print(f"| {name} | {eps} | {counts['holds']} | {counts['violated']} | {counts['unknown']} | "
                  f"{sum(times):.1f} | {statistics.median(times):.2f} | {max(times):.1f} |", flush=True)


if __name__ == "__main__":
    main()
