"""``bvverify crosscheck``: check another verifier's per-query results."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.table import Table

from bvverify.cli import app as shared


def _benchmarks(results: Path, given: Path | None) -> Path:
    """The benchmarks folder the QVIP / AAAI'21 paths are relative to: --benchmarks, else the folder
    above RESULTS that holds qvip22_data, else $BVVERIFY_BENCHMARKS."""
    if given is not None:
        return given
    for p in [results, *results.resolve().parents]:
        if (p / "qvip22_data").is_dir() or (p / "aaai21_qnn_robustness").is_dir():
            return p
    env = os.environ.get("BVVERIFY_BENCHMARKS")
    if env:
        return Path(env)
    shared.fail(f"{results}: cannot find the benchmarks folder above it (give --benchmarks)")
    raise typer.Exit(2)  # unreachable: fail exits


def claims_of(results: Path, benchmarks: Path | None, model: str | None, prop: Path | None, data: Path | None):
    """The claims of RESULTS by its form: a benchmarks folder, a QVIP long CSV, the AAAI'21 CSV, a plain CSV,
    or a VNN-COMP result file (with --model and --property)."""
    from bvverify.crosscheck.sources_plain import is_vnncomp_result, plain_claims, vnncomp_claim
    from bvverify.crosscheck.sources_qvip import AAAI_COLUMNS, LONG_COLUMNS, header, qvip_claims

    if not results.exists():
        shared.fail(f"{results}: no such file or folder")
    if results.is_dir():
        return qvip_claims(_benchmarks(results, benchmarks))
    cols = header(results)
    if all(c in cols for c in LONG_COLUMNS) or all(c in cols for c in AAAI_COLUMNS):
        return qvip_claims(_benchmarks(results, benchmarks), results)
    if is_vnncomp_result(results):
        if model is None or prop is None:
            shared.fail(f"{results}: a VNN-COMP result file needs --model and --property (the query it answers)")
        return [vnncomp_claim(results, model, prop)], []
    if "model" in cols and "verdict" in cols:
        return plain_claims(results, data), []
    shared.fail(f"{results}, line 1: not a result file bvverify reads (a QVIP long CSV, the AAAI'21 CSV, a CSV with "
                "model, property or sample, eps, verdict columns, or a VNN-COMP result file)")
    raise typer.Exit(2)


@shared.app.command()
def crosscheck(
    results: Path = typer.Argument(..., help="Another verifier's results: the benchmarks folder (QVIP Tables 2 and 3 and "
                                   "AAAI'21), a QVIP long CSV, the AAAI'21 CSV, a plain CSV (model, property or sample, eps, "
                                   "verdict[, witness]) or one VNN-COMP result file (with --model, --property)."),
    out: Path = typer.Option(Path("crosscheck-results"), "--out", help="Folder for crosscheck.csv (appended, resumable), "
                             "crosscheck.md and evidence/ (witness files, PNGs, proof status)."),
    benchmarks: Path | None = typer.Option(None, "--benchmarks", help="Benchmarks folder that QVIP / AAAI'21 paths are "
                                           "relative to (default: found above RESULTS, or $BVVERIFY_BENCHMARKS)."),
    model: str | None = typer.Option(None, "--model", help="With a VNN-COMP result file: the model it is about."),
    prop: Path | None = typer.Option(None, "--property", help="With a VNN-COMP result file: the VNN-LIB property."),
    data: Path | None = typer.Option(None, "--data", help="Plain CSV with sample indices: the samples (.npy/.npz/.csv)."),
    only: str | None = typer.Option(None, "--only", help="Only queries whose key contains one of these comma-separated "
                                    "parts; keys look like qvip-t3-r4:P1-8:#365@4."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many queries (after --only)."),
    timeout: float = typer.Option(30.0, "--timeout", help="Seconds per query for our own decision, everything included."),
    seed: int = shared.SeedOpt,
    as_json: bool = shared.JsonOpt,
) -> None:
    """Replay each query's counterexample, decide the query with the default engine (auto), and table the
    agreement; every contradiction is written with its evidence and re-checked on an independent path.
    Exit code 0: no contradiction; 1: contradictions found; 70: the second path refuted one (a bug)."""
    from bvverify.crosscheck.claims import select, select_notes
    from bvverify.crosscheck.classify import CONTRADICTIONS, KINDS, MEANING
    from bvverify.crosscheck.run import CSV_NAME, Runner, run, table
    from bvverify.errors import INTERNAL_EXIT

    shared.check_timeout(timeout)
    claims, notes = claims_of(results, benchmarks, model, prop, data)
    claims, notes = select(claims, only, limit), select_notes(notes, only)
    if not claims:
        shared.fail(f"{results}: no query to check" + (f" matches --only {only}" if only else ""))
    runner = Runner(out, timeout, shared.engine_options("auto", seed=seed))
    n = len(claims)
    seen = [0]

    def progress(row: dict, resumed: bool) -> None:
        seen[0] += 1
        if as_json:
            return
        tag = "(done before) " if resumed else ""
        extra = f" second path: {row['second_path']}" if row["second_path"] else ""
        color = "red" if row["kind"] in CONTRADICTIONS else ""
        line = f"[{seen[0]}/{n}] {tag}{row['key']}: theirs {row['theirs']}, ours {row['ours']} -> {row['kind']}{extra}"
        shared.err.print(f"[{color}]{line}[/{color}]" if color else line, highlight=False, markup=bool(color))

    rows = run(claims, runner, progress)
    summary = table(rows)
    summary.update(notes=notes, csv=str(out / CSV_NAME), evidence=str(out / "evidence"))
    md = [f"# Cross-check of {results}", "", f"{summary['queries']} queries, our budget {timeout:g} s each (engine auto).",
          "", "| kind | meaning | count |", "| --- | --- | --- |"]
    md += [f"| {k} | {MEANING[k]} | {summary['counts'][k]} |" for k in KINDS]
    md += ["", "Second path on the contradictions: " + (", ".join(f"{k} {v}" for k, v in summary["second_path"].items())
                                                         or "none"), "", "## By network", ""]
    md += [f"- {k}: " + ", ".join(f"{kk} {vv}" for kk, vv in v.items()) for k, v in summary["by_network"].items()]
    contra = [r for r in rows if r["kind"] in CONTRADICTIONS]
    if contra:
        md += ["", "## Contradictions", "", "| query | kind | theirs | ours | second path | evidence |",
               "| --- | --- | --- | --- | --- | --- |"]
        md += [f"| {r['key']} | {r['kind']} | {r['their_detail']} | {r['ours']} | {r['second_path']} | {r['evidence']} |"
               for r in contra]
    if summary["mapping_suspect"]:
        md += ["", "## Sample mapping suspect", "", "Samples the network misclassifies (no query under the protocol) that "
               "the publication still gives a verdict, so its row is probably about another sample:", ""]
        md += [f"- {k}" for k in summary["mapping_suspect"]]
    if notes:
        md += ["", "## Not checked", ""] + [f"- {x}" for x in notes]
    (out / "crosscheck.md").write_text("\n".join(md) + "\n")
    if as_json:
        print(json.dumps(summary))
    else:
        t = Table("kind", "meaning", "count")
        for k in KINDS:
            t.add_row(k, MEANING[k], str(summary["counts"][k]))
        shared.print_table(t)
        shared.out.print(f"second path on contradictions: {summary['second_path'] or 'none'}; rows: {out / CSV_NAME}; "
                         f"report: {out / 'crosscheck.md'}", highlight=False)
        for x in notes:
            shared.err.print(f"note: {x}", highlight=False, markup=False)
        if summary["mapping_suspect"]:
            shared.err.print(f"note: {len(summary['mapping_suspect'])} misclassified samples have a published verdict "
                             f"(sample mapping suspect): {', '.join(summary['mapping_suspect'])}", highlight=False, markup=False)
    if summary["refuted"]:
        shared.err.print(f"bvverify: internal error: the independent second path REFUTES {len(summary['refuted'])} "
                         f"contradiction(s): {', '.join(summary['refuted'])}. These are bugs (in bvverify or the second "
                         "path), not findings; please report them with the evidence files.", markup=False, highlight=False)
        raise typer.Exit(INTERNAL_EXIT)
    raise typer.Exit(1 if contra else 0)
