"""Wall time of one instances.csv batch, serial and on dask LocalClusters, with the results compared.

    python scripts/bench/batch_wall.py [--instances specs/instances.csv] [--workers 1,2] [--repeat 1]

Each configuration decides every instance from scratch through ``bvverify.batch.run_jobs`` (the
path of ``bvverify run-instances``; one solver thread per instance). The wall time of a cluster
includes starting it. Prints one row per configuration: wall time, speed-up over the first row,
verdict counts, and whether every result file's text equals the first configuration's.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bvverify.batch import read_instances, run_jobs
from bvverify.batch.store import make_jobs
from bvverify.batch.summary import counts
from bvverify.engines.config import EngineOptions

ROOT = Path(__file__).resolve().parents[2]


def run_once(jobs: list, workers: int) -> tuple[float, dict[str, str], dict[str, float]]:
    t0 = time.perf_counter()
    texts, seconds = {}, {}
    for job, res in run_jobs(jobs, workers=workers):
        texts[job.name], seconds[job.name] = res.text, res.seconds
    return time.perf_counter() - t0, texts, seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--instances", type=Path, default=ROOT / "specs" / "instances.csv")
    ap.add_argument("--workers", default="1,2", help="configurations to time: 1 = serial in this process, N > 1 = "
                    "a LocalCluster of N worker processes")
    ap.add_argument("--engine", default="auto", help="engine spec as suite.py takes it (auto, ilp:highs, ...)")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    jobs = make_jobs(read_instances(args.instances), EngineOptions.parse(args.engine))
    print(f"{args.instances}: {len(jobs)} instances, engine {args.engine}, one solver thread per instance")
    print(f"{'workers':>8} {'run':>4} {'wall s':>8} {'sum of query s':>15} {'speed-up':>9}  {'same results':>12}  counts")
    first_wall, first_texts = None, None
    for n in [int(w) for w in args.workers.split(",")]:
        for rep in range(args.repeat):
            wall, texts, secs = run_once(jobs, n)
            first_wall = first_wall or wall
            first_texts = first_texts or texts
            same = "yes" if texts == first_texts else "NO: " + ",".join(k for k in texts if texts[k] != first_texts.get(k))
            words = counts([_Word(t) for t in texts.values()])
            tally = " ".join(f"{k} {v}" for k, v in words.items() if v)
            print(f"{n:>8} {rep + 1:>4} {wall:>8.2f} {sum(secs.values()):>15.2f} {first_wall / wall:>8.2f}x  {same:>12}  {tally}")


class _Word:
    """A result's word from its file text (what counts() reads)."""

    def __init__(self, text: str) -> None:
        self.word = text.split("\n", 1)[0]


if __name__ == "__main__":
    main()
