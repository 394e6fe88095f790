"""``bvverify run-instances``: a VNN-COMP ``instances.csv`` batch, resumable, safe to interrupt,
serial or on dask. The batch logic is :mod:`bvverify.batch`; this module is options and output."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from bvverify.cli import app as shared

INTERRUPTED_EXIT = 130  # the shell's code for a run ended by Ctrl-C


@shared.app.command("run-instances")
def run_instances(
    instances: Path = typer.Argument(..., metavar="INSTANCES.csv", help="VNN-COMP instances file: rows "
                                     "model,property,timeout, paths relative to the CSV file."),
    results_dir: Path = typer.Option(..., "--results-dir", help="Folder for the result files (NAME.txt in the VNN-COMP "
                                     "format, NAME.json with the details), summary.csv and summary.md. Instances already "
                                     "finished there with the same timeout and engine options are skipped."),
    engine: str = shared.VerifyEngineOpt,
    solver: str | None = shared.SolverOpt,
    bounds: str = shared.BoundsOpt,
    seed: int = shared.SeedOpt,
    # \\[ : rich reads a bare [dask] as a markup tag and drops it from the help
    workers: int = typer.Option(1, "--workers", help="Instances at a time: above 1, on a dask LocalCluster of that many "
                                "worker processes (pip install 'bvverify\\[dask]')."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Address of an existing dask scheduler "
                                         "(e.g. tcp://host:8786) to run the instances on instead."),
    solver_threads: int = typer.Option(1, "--solver-threads", help="Solver threads per instance (default 1: the same "
                                       "search, so the same results, whatever runs beside it)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on stderr."),
    as_json: bool = shared.JsonOpt,
) -> None:
    """Run every instance of a VNN-COMP instances.csv: one result file each, a summary CSV and a
    markdown table. Ctrl-C stops cleanly (finished results are whole and kept); running the same
    command again continues where it stopped. Exit code 0 when every instance has a result,
    1 when some ended in an error, 130 when interrupted, 2 for bad input."""
    from bvverify.batch.instances import read_instances
    from bvverify.batch.store import finished, make_jobs, open_results_dir, save
    from bvverify.batch.summary import counts, write_summary

    options = shared.engine_options(engine, solver, bounds, seed)
    if workers < 1:
        shared.fail(f"--workers {workers}: expected 1 or more")
    if solver_threads < 1:
        shared.fail(f"--solver-threads {solver_threads}: expected 1 or more")
    jobs = make_jobs(read_instances(instances), options, solver_threads)
    folder = open_results_dir(results_dir)
    results: list[Any] = [finished(folder, j) for j in jobs]
    skipped = sum(r is not None for r in results)
    todo = [j for j, r in zip(jobs, results) if r is None]
    where = {j.name: k for k, j in enumerate(jobs)}
    interrupted = False
    with _progress_bar(progress and shared.err.is_terminal) as bar:
        task = bar.add_task("instances", total=len(jobs), completed=skipped, tally=_tally(counts(results)))
        try:
            from bvverify.batch.runner import run_jobs

            with contextlib.closing(run_jobs(todo, workers, scheduler)) as stream:
                for job, res in stream:
                    save(folder, job, res)
                    results[where[job.name]] = res
                    bar.update(task, advance=1, tally=_tally(counts(results)))
        except KeyboardInterrupt:
            interrupted = True
    # a result saved just as Ctrl-C came (the save finishes first) is on disk: read it back
    results = [r if r is not None else finished(folder, j) for j, r in zip(jobs, results)]
    csv_path, md_path = write_summary(folder, jobs, results)
    tally = counts(results)
    pending = [j.name for j, r in zip(jobs, results) if r is None]
    if as_json:
        docs = [{"name": j.name, "model": j.model, "property": j.prop, "timeout": j.timeout,
                 **(r.doc() if r else {"word": "pending", "status": None})} for j, r in zip(jobs, results)]
        print(json.dumps({"instances": str(instances), "results_dir": str(folder), "engine": options.label,
                          "workers": workers, "scheduler": scheduler, "total": len(jobs), "skipped": skipped,
                          "ran": len(jobs) - len(pending) - skipped, "interrupted": interrupted, "pending": pending,
                          "counts": tally, "summary_csv": str(csv_path), "summary_md": str(md_path), "results": docs}))
    else:
        _print_table(jobs, results)
        shared.out.print(", ".join(f"{k} {v}" for k, v in tally.items() if v) + f"; summary: {csv_path}, {md_path}",
                         highlight=False)
    if interrupted:
        shared.err.print(f"interrupted: {len(jobs) - len(pending)} of {len(jobs)} instances finished and kept in {folder}; "
                         f"not finished: {', '.join(pending[:5])}{' ...' if len(pending) > 5 else ''}. Run the same "
                         "command again to continue (finished instances are skipped).", highlight=False, soft_wrap=True)
        raise typer.Exit(INTERRUPTED_EXIT)
    raise typer.Exit(1 if tally["error"] else 0)


def _tally(c: dict[str, int]) -> str:
    """The counts so far, the words that occurred only (the bar fits 80 columns)."""
    return " ".join(f"{k} {v}" for k, v in c.items() if k != "pending" and v) or "-"


def _progress_bar(show: bool) -> Progress:
    return Progress(BarColumn(bar_width=16), MofNCompleteColumn(), TextColumn("{task.fields[tally]}"),
                    TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(), console=shared.err, disable=not show,
                    transient=False)


def _print_table(jobs: list[Any], results: list[Any]) -> None:
    table = Table("instance", "result", "seconds", "reason")
    for j, r in zip(jobs, results):
        table.add_row(j.name, r.word if r else "pending", f"{r.seconds:.2f}" if r else "", (r.message or r.reason) if r else "")
    shared.print_table(table)
