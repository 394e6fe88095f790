"""One command for every benchmark suite: run the engines, compare with the published verdicts, report.

    python scripts/bench/suite.py SUITE [--benchmarks DIR] [--engines bounds,ilp:cpsat] [--timeout 60] [--limit N]
        [--out DIR] [--seed 0] [--models DIR] [--only-open CSV] [--keep CSV] [--workers N | --scheduler ADDRESS]

Suites: qvip-t2 (QVIP Table 2, 700 queries), qvip-t3-r2 / qvip-t3-r4 (QVIP Table 3 at radius 2 / 4 on the
networks whose files were published), digits (the bundled models, eps 1-3 codes, 20 images), mnistfc (the
VNN-COMP 2021 float networks quantized to int8 by quantize_mnistfc.py, read from --models, on their 90
VNN-LIB instances). --limit N runs the first N queries of each (model, eps) block.

Engines are library specs (EngineOptions.parse): auto[:solver], attack, bounds[:symbolic|interval], bv,
ilp:cpsat|highs|z3|z3opt; auto and attack get --seed. Each query runs through bvverify's engine registry with
one whole-query budget of --timeout seconds; a ``violated`` verdict always comes with a counterexample that
the reference interpreter replayed, written to DIR/SUITE-witness/ in the VNN-COMP result format.

Writes DIR/SUITE.csv, one row per (query, engine), appended and flushed as each is decided; a re-run skips
the rows already there (rows of an engine that raised are tried again), so an interrupted run is resumed by
running the same command. --workers N runs the queries on a dask LocalCluster of N processes (--scheduler ADDRESS: an
existing cluster), through bvverify.batch's runner: the rows are the same, appended in the order they finish. Then
DIR/SUITE.md (also printed): per engine and per (model, eps) counts, median
and total time, agreement with the published per-query verdicts, the time of ilp:z3 and bv against auto on
the queries where they took more than 1 s, and for mnistfc the float-vs-int8 differences.

Exit code 1 when two engines decide a query differently (holds vs violated: a bug in one of them), or an
engine raised; both are printed loudly. 0 otherwise, whatever the verdicts.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the suite_* helpers beside this script
from quantize_mnistfc import default_models, inside_repo  # noqa: E402
from suite_csv import RERUN, Row, Writer, key, read_any, read_kept, read_rows, write_kept  # noqa: E402
from suite_defs import NAMES, Query, SuiteDef, build  # noqa: E402
from suite_jobs import MODULES, SuiteJob, SuiteResult, lost, remember, run_suite_job  # noqa: E402
from suite_report import DECIDED, markdown, relation  # noqa: E402

from bvverify.batch import run_jobs  # noqa: E402
from bvverify.batch.dask_runner import DaskError  # noqa: E402
from bvverify.engines.config import EngineOptions, OptionError  # noqa: E402
from bvverify.engines.registry import ENGINES as REGISTERED  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SEEDED = ("auto", "attack")  # engines that search: --seed makes their runs reproducible
err = Console(stderr=True, highlight=False, soft_wrap=True)


def default_benchmarks() -> Path:
    env = os.environ.get("BVVERIFY_BENCHMARKS")
    return Path(env) if env else REPO.parent / "shared" / "benchmarks"


def engine_options(specs: list[str], seed: int) -> dict[str, EngineOptions]:
    """Every spec parsed once, before any model is read; an engine this bvverify does not register is refused."""
    out = {}
    for spec in specs:
        try:
            o = EngineOptions.parse(spec)
            if o.engine in SEEDED:
                o = replace(o, seed=seed)
        except OptionError as e:
            raise SystemExit(str(e)) from None
        if o.engine not in REGISTERED:
            raise SystemExit(f"engine {spec!r}: EngineOptions accepts it, but this bvverify's registry has no {o.engine!r} "
                             f"engine yet (registered: {', '.join(REGISTERED)})")
        out[spec] = o
    return out


def safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text)


class Runner:
    """Runs the pending (query, engine) pairs, writing each row the moment it exists, with a progress line on stderr."""

    def __init__(self, suite: SuiteDef, options: dict[str, EngineOptions], timeout: float, out: Path,
                 rows: dict, writer: Writer, where: tuple[Path, Path] = (Path(), Path()), threads: int | None = None) -> None:
        self.suite, self.options, self.timeout, self.out = suite, options, timeout, out
        self.rows, self.writer = rows, writer
        self.benchmarks, self.models = where  # a worker rebuilds the suite from these
        self.threads = threads
        self.counts = {s: 0 for s in ("holds", "violated", "unknown", "misclassified", "error")}
        self.bugs: list[str] = []

    def job(self, q: Query, spec: str) -> SuiteJob:
        return SuiteJob(safe(f"{q.model.name}_{q.query}_eps{q.eps}_{spec}"), q.suite, str(self.benchmarks), str(self.models),
                        q.model.name, q.query, q.eps, spec, self.options[spec], self.timeout, self.threads)

    def make_row(self, q: Query, spec: str, result: SuiteResult) -> Row:
        """The CSV row of a decided job; its witness (a violated verdict's counterexample) is written here."""
        row: Row = {"suite": q.suite, "model": q.model.name, "query": q.query, "eps": q.eps, "engine": spec,
                    "timeout": f"{self.timeout:g}", "published": q.published, "published_detail": q.published_detail,
                    "timed_out": "0", "cex_file": "", "reason": ""}
        row.update(result.fields)
        if result.witness:
            rel = Path(f"{q.suite}-witness") / safe(f"{q.model.name}_{q.query}_eps{q.eps}_{spec}.txt")
            (self.out / rel.parent).mkdir(parents=True, exist_ok=True)
            with open(self.out / rel, "w", encoding="utf-8", newline="") as f:
                f.write(result.witness)
            row["cex_file"] = str(rel)
        row["relation"] = relation(row["status"], q.published)
        return row

    def check(self, row: Row) -> None:
        """A new row against the other engines' verdicts on the same query: holds vs violated is a bug, said at once."""
        if row["status"] == "error":
            self.bugs.append(f"ERROR {row['model']} #{row['query']} eps {row['eps']} {row['engine']}: {row['reason']}")
            err.print(f"[bold red]ENGINE ERROR[/] {row['model']} #{row['query']} eps {row['eps']} {row['engine']}: "
                      f"{row['reason']}", markup=True)
        if row["status"] not in DECIDED:
            return
        for other in self.rows.values():
            if (other["model"], other["query"], other["eps"]) == (row["model"], row["query"], row["eps"]) \
                    and other["status"] in DECIDED and other["status"] != row["status"]:
                msg = (f"BUG: engines disagree on {row['model']} #{row['query']} eps {row['eps']}: {row['engine']} says "
                       f"{row['status']}, {other['engine']} says {other['status']}")
                self.bugs.append(msg)
                err.print(f"[bold white on red]{msg}[/]", markup=True)

    def line(self, done: int, total: int, row: Row, t_start: float) -> str:
        elapsed = time.monotonic() - t_start
        eta = elapsed / done * (total - done) if done else 0.0
        counts = " ".join(f"{k} {v}" for k, v in self.counts.items() if v or k in DECIDED)
        tail = f"  ({row['published_detail']})" if row["published_detail"] else ""
        return (f"[{done}/{total}] {row['model']} #{row['query']} eps {row['eps']} {row['engine']}: {row['status']} "
                f"{float(row['seconds']):.2f} s{tail} | {counts} | {fmt_time(elapsed)} elapsed, ETA {fmt_time(eta)}")

    def run(self, todo: list[tuple[Query, list[str]]], workers: int = 1, scheduler: str | None = None) -> None:
        """Every pending pair, in this process (in order) or on dask (as they finish); each row is appended the
        moment its result is back, so an interrupted run keeps them all and resumes from the CSV."""
        jobs = {}
        for q, specs in todo:
            for spec in specs:
                j = self.job(q, spec)
                jobs[j] = q
        total = len(jobs)
        if not jobs:  # nothing left: no cluster to start
            return
        columns = (TextColumn(f"[bold]{self.suite.name}[/]"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[counts]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
        t_start, done = time.monotonic(), 0
        remember(self.suite, self.benchmarks, self.models)  # the serial run uses this process's suite as it is
        upload = [HERE / f"{m}.py" for m in MODULES] if scheduler is not None else []  # a remote worker has no scripts/
        with Progress(*columns, console=err, disable=not err.is_terminal) as progress:
            task = progress.add_task("run", total=total, counts="")
            for job, result in run_jobs(list(jobs), workers, scheduler, run=run_suite_job, lost=lost, upload=upload):
                row = self.make_row(jobs[job], job.engine, result)
                self.writer.append(row)
                self.check(row)
                self.rows[key(row)] = row
                self.counts[row["status"]] = self.counts.get(row["status"], 0) + 1
                done += 1
                counts = " ".join(f"{k} {v}" for k, v in self.counts.items() if v or k in DECIDED)
                progress.update(task, advance=1, counts=counts)
                progress.console.print(self.line(done, total, row, t_start), markup=False, soft_wrap=True)


def fmt_time(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def git_commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              timeout=10).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("suite", choices=NAMES)
    ap.add_argument("--benchmarks", type=Path, default=default_benchmarks(), help="the benchmarks folder (default "
                    "$BVVERIFY_BENCHMARKS or ../shared/benchmarks beside the repository)")
    ap.add_argument("--engines", default="bounds,ilp:cpsat", help="comma list of engine specs (default bounds,ilp:cpsat)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per query and engine, everything included")
    ap.add_argument("--limit", type=int, default=None, help="the first N queries of each (model, eps) block")
    ap.add_argument("--out", type=Path, default=REPO.parent / "bench-results", help="folder for SUITE.csv, SUITE.md and the "
                    "witnesses, outside the repository (default: bench-results beside it)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the searching engines (auto, attack)")
    ap.add_argument("--models", type=Path, default=default_models(), help="the int8 mnistfc models made by "
                    f"quantize_mnistfc.py (default {default_models()})")
    ap.add_argument("--only-open", type=Path, default=None, metavar="CSV", help="run only the queries that no engine "
                    "decided in this earlier result file, a run's CSV or a kept one (e.g. the 300 s pass over what 60 s left "
                    "open; use another --out)")
    ap.add_argument("--keep", type=Path, default=None, metavar="CSV", help="a results file with our own columns only "
                    "(no published data: it may be committed, e.g. docs/results/): its rows are taken in before the run "
                    "(queries already there are not run again) and it is rewritten with every row after it, so a run "
                    "that spans several machines or sessions adds up")
    ap.add_argument("--workers", type=int, default=1, help="queries at a time: above 1, on a dask LocalCluster of that "
                    "many worker processes, one solver thread each (pip install 'bvverify[dask]')")
    ap.add_argument("--scheduler", default=None, metavar="ADDRESS", help="run the queries on the dask cluster at this "
                    "address (e.g. tcp://host:8786); its workers need the --benchmarks/--models paths")
    ap.add_argument("--solver-threads", type=int, default=None, metavar="N", help="solver and torch threads per query "
                    "(default: 1 on dask; serial, the solvers' own default, as before). Give the serial run 1 for the "
                    "same counterexamples as a dask run")
    args = ap.parse_args(argv)
    if args.workers < 1:
        ap.error("--workers must be >= 1")
    if args.solver_threads is not None and args.solver_threads < 1:
        ap.error("--solver-threads must be >= 1")
    if args.timeout <= 0:
        ap.error("--timeout must be > 0")
    if args.limit is not None and args.limit < 1:
        ap.error("--limit must be >= 1")
    if inside_repo(args.out):  # the witnesses are perturbed benchmark images: data that is never committed
        ap.error(f"--out {args.out} is inside the repository: choose a folder outside it")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the suite; returns the exit code (1 when an engine conflict or error is among the rows)."""
    args = parse_args(argv)
    specs = list(dict.fromkeys(e.strip() for e in args.engines.split(",") if e.strip()))
    if not specs:
        raise SystemExit("--engines is empty")
    options = engine_options(specs, args.seed)
    suite = build(args.suite, args.benchmarks, args.models, args.limit)
    csv_path, md_path = args.out / f"{suite.name}.csv", args.out / f"{suite.name}.md"
    if args.only_open is not None:
        if not args.only_open.exists():
            raise SystemExit(f"--only-open {args.only_open}: no such file")
        earlier = read_any(args.only_open)
        closed = (*DECIDED, "misclassified")
        decided = {(r["suite"], r["model"], r["query"], r["eps"]) for r in earlier if r["status"] in closed}
        seen = {(r["suite"], r["model"], r["query"], r["eps"]) for r in earlier}
        suite.queries = [q for q in suite.queries if q.base in seen and q.base not in decided]
        suite.notes.append(f"only the queries left open in {args.only_open} ({len(suite.queries)})")
    old = read_rows(csv_path)
    rows = {key(r): r for r in old}
    if args.keep is not None and args.keep.exists():
        by_base = {q.base: q for q in suite.queries}
        writer = Writer(csv_path)
        for r in read_kept(args.keep):
            q = by_base.get((r["suite"], r["model"], r["query"], r["eps"]))
            if q is None or key(r) in rows or r["status"] in RERUN:
                continue
            r.update(published=q.published, published_detail=q.published_detail, cex_file="",
                     relation=relation(r["status"], q.published))
            writer.append(r)
            rows[key(r)] = r
    todo = [(q, [e for e in specs if (*q.base, e) not in rows or rows[(*q.base, e)]["status"] in RERUN])
            for q in suite.queries]
    todo = [(q, e) for q, e in todo if e]
    pending = sum(len(e) for _, e in todo)
    err.print(f"{suite.name}: {len(suite.queries)} queries x {len(specs)} engines; {pending} to run, "
              f"{len(suite.queries) * len(specs) - pending} already in {csv_path}")
    for note in suite.notes:
        err.print(f"note: {note}")
    on_dask = args.workers > 1 or args.scheduler is not None
    threads = args.solver_threads if args.solver_threads is not None else (1 if on_dask else None)
    runner = Runner(suite, options, args.timeout, args.out, rows, Writer(csv_path),
                    (args.benchmarks.resolve(), args.models.resolve()), threads)
    if on_dask and pending:
        err.print(f"on dask: {f'the cluster at {args.scheduler}' if args.scheduler else f'{args.workers} local workers'}, "
                  f"{threads} solver thread(s) per query")
    t0 = time.monotonic()
    interrupted = False
    try:
        runner.run(todo, args.workers, args.scheduler)
    except DaskError as e:  # no dask, no scheduler at that address, workers that cannot run the jobs
        raise SystemExit(f"{e} (the {sum(runner.counts.values())} rows decided so far are in {csv_path})") from None
    except KeyboardInterrupt:
        interrupted = True
        err.print("[yellow]interrupted: the rows so far are kept; run the same command to resume[/]", markup=True)
    wanted = {q.base for q in suite.queries}
    selected = [r for r in rows.values() if (r["suite"], r["model"], r["query"], r["eps"]) in wanted and r["engine"] in specs]
    from bvverify.runtimes.target import host

    header = [f"- run: {datetime.datetime.now().isoformat(timespec='seconds')}, bvverify {git_commit()}, host target "
              f"{host()}; engines {', '.join(f'`{s}`' for s in specs)}; timeout {args.timeout:g} s; seed {args.seed}"
              + (f"; limit {args.limit} per (model, eps)" if args.limit else "")
              + (f"; on dask ({args.scheduler or f'{args.workers} workers'})" if on_dask else "")
              + (f"; {threads} solver thread(s) per query" if threads is not None else ""),
              f"- {len(suite.queries)} queries x {len(specs)} engines = {len(selected)} rows in this report "
              f"({pending if not interrupted else sum(runner.counts.values())} run now in {fmt_time(time.monotonic() - t0)}, "
              f"the rest from `{csv_path.name}`)" + ("; INTERRUPTED" if interrupted else ""),
              f"- published verdicts: {suite.published_source or 'none'}"]
    text, bugs = markdown(f"{suite.name}: {suite.title}", header, selected, specs, suite.notes, suite.published_source,
                          suite.float_reference, list(rows.values()))
    md_path.write_text(text + "\n")
    if args.keep is not None:
        merged = {key(r): r for r in read_kept(args.keep)} if args.keep.exists() else {}  # rows of other runs stay
        merged.update({key(r): r for r in rows.values() if r["suite"] == suite.name})
        write_kept(args.keep, list(merged.values()))
    print(text)
    errors = [r for r in rows.values() if r["status"] == "error"]
    if bugs or errors:
        err.print(f"[bold white on red]BUG: {len(bugs)} engine conflicts, {len(errors)} engine errors (see {md_path})[/]",
                  markup=True)
        return 1
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
