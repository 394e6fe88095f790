"""``bvverify report``: result files rendered as a self-contained HTML page and a markdown file."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from bvverify.cli import app as shared


@shared.app.command()
def report(
    results: list[Path] = typer.Argument(..., metavar="RESULTS", help="Result files: benchmark suite CSVs "
                                         "(scripts/bench/suite.py), run-instances summary.csv, crosscheck.csv, "
                                         "bvverify robust --json and radius --json output; the format is told by the content."),
    out: Path = typer.Option(Path("report"), "--out", help="Folder for report.html, report.md and figures/."),
    title: str = typer.Option("bvverify report", "--title", help="The page's title."),
    n_slowest: int = typer.Option(15, "--slowest", help="How many of the slowest queries to list."),
    max_pictures: int = typer.Option(24, "--max-pictures", help="At most this many counterexample pictures."),
    benchmarks: Path | None = typer.Option(None, "--benchmarks", metavar="DIR", help="The benchmarks folder (default: "
                                           "$BVVERIFY_BENCHMARKS): a QVIP suite's rows name their network by the paper's "
                                           "alias (P1-8); with it, their pictures get the original image, the difference "
                                           "and the outputs on both."),
) -> None:
    """Render result files into DIR/report.html (self-contained: figures embedded, nothing fetched) and
    DIR/report.md: verdict counts per engine, a cactus plot, the radius histogram, the slowest queries and
    pictures of image counterexamples. Exit 0, or 2 for a file it cannot read (named with line and column)."""
    from bvverify.reports import build_report, write_report

    if n_slowest < 0 or max_pictures < 0:
        shared.fail("--slowest and --max-pictures take a number >= 0")
    bench = _benchmarks(benchmarks)
    r = build_report(list(results), title=title, n_slowest=n_slowest, max_pictures=max_pictures, benchmarks=bench)
    files = write_report(r, out)
    shared.out.print(f"{len(r.data.queries)} query results, {len(r.data.radii)} radius searches, "
                     f"{len(r.pictures)} counterexample pictures", highlight=False)
    shared.out.print(f"wrote {files['html']} and {files['markdown']}", highlight=False)


def _benchmarks(given: Path | None) -> Path | None:
    """--benchmarks, else $BVVERIFY_BENCHMARKS, else None; a folder named but missing is refused before any reading."""
    env = os.environ.get("BVVERIFY_BENCHMARKS")
    if given is None and not env:
        return None
    bench, where = (given, "--benchmarks") if given is not None else (Path(str(env)), "$BVVERIFY_BENCHMARKS")
    if not bench.is_dir():
        shared.fail(f"{where} {bench}: not a folder (the benchmarks folder holds qvip22_data/ and eran/)")
    return bench
