"""Wall time of one benchmark suite, serial against dask workers, in one run, with the rows compared.

    python scripts/bench/suite_speedup.py [--suite digits] [--limit N] [--engines auto] [--timeout 20]
        [--runs serial1,dask2,serial] [--out DIR]

Each run is ``suite.py`` as a user starts it (a fresh process, every query decided from scratch into
its own empty folder under DIR, outside the repository), so the wall time includes importing,
loading the models and, on dask, starting the LocalCluster. Runs: ``serial1`` = serial with one
solver thread (``--solver-threads 1``: the same search as a dask worker, so the same rows),
``serial`` = serial with the solvers' default threads (what a serial run did before --workers),
``daskN`` = ``--workers N``. The machine's load average (``uptime``) is printed before each run:
the figure means little when other work holds the cores. Prints a markdown table: wall time, the
sum of the queries' own times, the speed-up over the first run, and whether every verdict (status,
timed_out, decided_by and the witness file, byte for byte) equals the first run's; rows that differ only
in the reason's wording (a solver that says how it hit the timeout) are listed apart.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TIMED = ("seconds",)  # the only column that may differ between runs


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def flags(run: str) -> list[str]:
    if run == "serial":
        return []
    if run == "serial1":
        return ["--solver-threads", "1"]
    if run.startswith("dask") and run[4:].isdigit() and int(run[4:]) >= 2:
        return ["--workers", run[4:]]
    raise SystemExit(f"--runs: {run!r} is not serial, serial1 or daskN (N >= 2)")


def rows_of(out: Path, suite: str) -> dict[tuple[str, ...], dict[str, str]]:
    with open(out / f"{suite}.csv", newline="") as f:
        return {(r["model"], r["query"], r["eps"], r["engine"]): r for r in csv.DictReader(f)}


def differences(ref: Path, other: Path, suite: str) -> tuple[list[str], list[str]]:
    """(queries whose verdict differs from the reference run's: status, timed_out, decided_by, witness file;
    queries that differ only in the reason's text, e.g. how a solver worded the timeout it hit)."""
    a, b = rows_of(ref, suite), rows_of(other, suite)
    verdicts = [f"{' '.join(k)} (missing)" for k in sorted(set(a) ^ set(b))]
    texts = []
    for k in sorted(set(a) & set(b)):
        ra, rb = a[k], b[k]
        rest = [c for c in ra if c not in TIMED and c != "reason" and ra[c] != rb.get(c)]
        if rest:
            verdicts.append(f"{' '.join(k)} ({', '.join(f'{c} {ra[c]} vs {rb.get(c)}' for c in rest)})")
        elif ra["cex_file"] and (ref / ra["cex_file"]).read_bytes() != (other / rb["cex_file"]).read_bytes():
            verdicts.append(f"{' '.join(k)} (witness)")
        elif ra["reason"] != rb["reason"]:
            texts.append(f"{' '.join(k)} ({ra['status']}{', timed out' if ra['timed_out'] == '1' else ''})")
    return verdicts, texts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", default="digits")
    ap.add_argument("--limit", type=int, default=None, help="the first N queries of each (model, eps) block")
    ap.add_argument("--engines", default="auto")
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--runs", default="serial1,dask2,serial", help="comma list of serial, serial1, daskN")
    ap.add_argument("--out", type=Path, default=None, help="folder for the runs' results (default: a temporary one)")
    ap.add_argument("--benchmarks", type=Path, default=None)
    args = ap.parse_args(argv)
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    for r in runs:
        flags(r)
    base = args.out or Path(tempfile.mkdtemp(prefix="suite-speedup-"))
    common = [args.suite, "--engines", args.engines, "--timeout", f"{args.timeout:g}"]
    common += ["--limit", str(args.limit)] if args.limit else []
    common += ["--benchmarks", str(args.benchmarks)] if args.benchmarks else []
    print(f"`suite.py {' '.join(common)}` on {os.cpu_count()} cores; results in {base}", flush=True)
    table = ["| run | flags | load avg before (1/5/15 min) | wall s | sum of query s | speed-up vs first | same verdicts "
             "and witnesses as first |", "| --- | --- | --- | ---: | ---: | ---: | --- |"]
    first: tuple[Path, float] | None = None
    for i, run in enumerate(runs):
        out = base / f"{i + 1}-{run}"
        if out.exists() and any(out.iterdir()):
            raise SystemExit(f"{out} is not empty: every run starts from scratch (choose another --out)")
        load = load_average()
        cmd = [sys.executable, str(HERE / "suite.py"), *common, *flags(run), "--out", str(out)]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - t0
        if done.returncode not in (0, 1):
            sys.stderr.write(done.stderr[-3000:])
            raise SystemExit(f"{run}: suite.py exited {done.returncode}")
        total = sum(float(r["seconds"]) for r in rows_of(out, args.suite).values())
        if first is None:
            first, same = (out, wall), "(reference)"
        else:
            verdicts, texts = differences(first[0], out, args.suite)
            same = "yes" if not verdicts else f"NO, {len(verdicts)}: " + "; ".join(verdicts[:5])
            if texts:
                same += f" (reason text differs on {len(texts)}: " + "; ".join(texts[:5]) + ")"
        line = (f"| {run} | `{' '.join(flags(run)) or '-'}` | {load} | {wall:.1f} | {total:.1f} | "
                f"{first[1] / wall:.2f}x | {same} |")
        table.append(line)
        print(line, flush=True)
    print("\n" + "\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
