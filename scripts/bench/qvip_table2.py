"""QVIP Table 2 (the AAAI'21 suite): every engine on the published robustness queries.

    python scripts/bench/qvip_table2.py [--benchmarks DIR] [--engines bounds,ilp:cpsat] [--timeout 60]
        [--suite mnist,fashion] [--eps 1,2,3,4] [--limit N] [--out qvip_table2.jsonl] [--resume] [--json]

Protocol (benchmarks README section 4; written once in suite_qvip.py): P1-6 (MNIST, 784-64-32, pow2 fixed point) on test samples
0-99 / 100-199 / 200-299 / 300-399 at eps = 1 / 2 / 3 / 4 pixel codes; P4-6 (Fashion-MNIST) on
0-99 / 100-199 / 200-249 / 300-349. The ball is in integer pixel codes clipped to [0, 255], the
property untargeted over all 32 outputs with ties to the lowest index. A sample whose clean
prediction is not its label gets no query and is recorded as "misclassified".

Engines (the library registry's specs): bounds[:symbolic|interval], bv, ilp[:cpsat|highs|z3|z3opt].
Every (query, engine) record is appended to --out as one JSON line as soon as it is decided (--resume skips those already there),
with the published QVIP and AAAI'21 verdicts and, for `violated`, the counterexample's input codes.
The summary compares each engine with both papers and with every other engine. Two engines that
decide a query differently, a counterexample that does not replay, or an engine that raises is a
bug: it is printed loudly and the exit code is 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from bvverify.engines.base import ReplayError, Verdict, replay
from bvverify.engines.config import EngineOptions, OptionError
from bvverify.engines.registry import verify
from bvverify.ir.graph import QNetwork
from bvverify.properties.spec import Property

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the protocol module beside this script
from suite_qvip import SUITES, Loaded, load_published, load_suite, select_queries  # noqa: E402

DECIDED = ("holds", "violated")
STATUSES = ("holds", "violated", "unknown", "misclassified")
RELATIONS = ("agree", "disagree", "resolved", "unresolved", "open", "skipped")
SOURCES = ("qvip", "aaai21")
Runner = Callable[[QNetwork, Property, float], Verdict]
Key = tuple[str, int, int]  # suite, sample, eps

out_console = Console(width=None if sys.stdout.isatty() else 160)  # wide tables also in logs and pipes
log = Console(stderr=True)


def make_runner(spec: str) -> Runner:
    """An engine spec such as ``bv``, ``bounds:interval`` or ``ilp:cpsat`` as a call ``(net, prop, timeout)``,
    through the library's engine registry (the same options and one whole-query budget as the CLI)."""
    try:
        options = EngineOptions.parse(spec)
    except OptionError as e:
        raise SystemExit(str(e)) from None
    return lambda net, prop, timeout: verify(net, prop, options, timeout)


def codes_digest(codes: np.ndarray) -> str:
    return hashlib.sha256(np.asarray(codes, dtype="<i8").tobytes()).hexdigest()[:16]


def run_engine(runner: Runner, loaded: Loaded, key: Key, timeout: float) -> dict[str, Any]:
    """One engine on one query; an engine that raises is recorded (and counted as a bug), not allowed to end the run."""
    _, sample, eps = key
    t0 = time.perf_counter()
    try:
        v = runner(loaded.net, loaded.prop(sample, eps), timeout)
    except Exception as e:
        return {"status": "unknown", "seconds": round(time.perf_counter() - t0, 3), "reason": f"{type(e).__name__}: {e}",
                "error": True}
    rec: dict[str, Any] = {"status": v.status, "seconds": round(time.perf_counter() - t0, 3), "reason": v.reason,
                           "stats": v.stats}
    if v.counterexample is not None:
        cex = v.counterexample
        rec.update(cex_codes=np.asarray(cex.codes).ravel().tolist(), cex_sha256=codes_digest(cex.codes),
                   cex_output=np.asarray(cex.output).ravel().tolist(), replayed_by=list(cex.replayed_by))
    return rec


def read_records(path: Path) -> list[dict[str, Any]]:
    """Records of an earlier run; a line cut short by an interruption is skipped with a warning."""
    records = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                log.print(f"[yellow]{path}:{n}: unreadable record skipped (interrupted write?)[/]")
    return records


def open_out(path: Path, resume: bool) -> list[dict[str, Any]]:
    """Earlier records to keep; refuses to mix a new run into an old file without --resume."""
    if not path.exists() or path.stat().st_size == 0:
        return []
    if not resume:
        raise SystemExit(f"{path} already has results: pass --resume to continue it, or choose another --out")
    with open(path, "rb+") as f:  # a partial last line must not swallow the next record
        f.seek(-1, os.SEEK_END)
        if f.read(1) != b"\n":
            f.write(b"\n")
    return read_records(path)


def append(path: Path, rec: dict[str, Any]) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(rec, default=str) + "\n")  # engine stats may hold numpy scalars
        f.flush()
        os.fsync(f.fileno())


def run_all(loaded: dict[str, Loaded], keys: list[Key], engines: list[str], runners: dict[str, Runner], timeout: float,
            published: dict, done: set[tuple], out: Path) -> list[dict[str, Any]]:
    """Every pending (query, engine) pair, each record written the moment it exists."""
    todo = [(k, e) for k in keys for e in engines if (*k, e) not in done]
    records = []
    for n, (key, engine) in enumerate(todo, start=1):
        suite, sample, eps = key
        ld = loaded[suite]
        pub = published.get((ld.suite.dataset, sample, eps), {})
        rec: dict[str, Any] = {"suite": suite, "sample": sample, "eps": eps, "label": int(ld.ys[sample]),
                               "pred": int(ld.pred[sample]), "engine": engine, "timeout": timeout,
                               "qvip": pub.get("qvip"), "qvip_seconds": pub.get("qvip_seconds"), "aaai21": pub.get("aaai21")}
        if ld.pred[sample] != ld.ys[sample]:
            rec.update(status="misclassified", seconds=0.0, reason="clean prediction differs from the label")
        else:
            rec.update(run_engine(runners[engine], ld, key, timeout))
        append(out, rec)
        records.append(rec)
        log.print(f"[{n}/{len(todo)}] {suite} #{sample} eps {eps} {engine}: {rec['status']} ({rec['seconds']:.2f} s)"
                  f"{' ' + rec['reason'] if rec.get('error') else ''}  qvip={rec['qvip']} aaai21={rec['aaai21']}",
                  style="bold red" if rec.get("error") else None, markup=False, highlight=False, soft_wrap=True)
    return records


def relation(ours: str, theirs: str | None) -> str | None:
    """How our verdict stands to a published one (None when nothing is published)."""
    if theirs is None:
        return None
    if ours == "misclassified":
        return "disagree" if theirs in DECIDED else "skipped"
    if theirs == "misclassified":
        return "disagree"
    if ours in DECIDED and theirs in DECIDED:
        return "agree" if ours == theirs else "disagree"
    if ours in DECIDED:
        return "resolved"
    return "unresolved" if theirs in DECIDED else "open"


def block_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        groups[(r["suite"], r["eps"], r["engine"])].append(r)
    rows = []
    for (suite, eps, engine), sel in groups.items():
        decided = [r["seconds"] for r in sel if r["status"] in DECIDED]
        rows.append({"suite": suite, "eps": eps, "engine": engine, "queries": len(sel),
                     **{s: sum(r["status"] == s for r in sel) for s in STATUSES},
                     "total_s": round(sum(r["seconds"] for r in sel), 3),
                     "median_s": round(float(np.median(decided)), 3) if decided else None})
    return rows


def published_rows(records: list[dict[str, Any]], engines: list[str]) -> list[dict[str, Any]]:
    rows = []
    for engine in engines:
        for source in SOURCES:
            rel = Counter(relation(r["status"], r[source]) for r in records if r["engine"] == engine)
            rows.append({"engine": engine, "source": source, **{k: rel[k] for k in RELATIONS}})
    return rows


def replay_check(ld: Loaded, rec: dict[str, Any]) -> str:
    """Re-replay a stored counterexample through the reference interpreter: 'ok' or why not."""
    try:
        replay(ld.net, ld.prop(rec["sample"], rec["eps"]), np.asarray(rec["cex_codes"], dtype=np.int64))
    except ReplayError as e:
        return f"FAILED: {e}"
    return "ok"


def evidence(ld: Loaded, rec: dict[str, Any]) -> str:
    if rec["status"] == "violated":
        delta = np.abs(np.asarray(rec["cex_codes"]) - ld.xs[rec["sample"]])
        return (f"cex {rec['cex_sha256']} ({int(np.count_nonzero(delta))} codes changed, max |d| {int(delta.max())}), "
                f"re-replay {rec['re_replay']}")
    if rec["status"] == "holds":
        return f"proved by {rec['engine']}"
    return f"clean prediction {rec['pred']}, label {rec['label']}"


def disagreements(loaded: dict[str, Loaded], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"suite": r["suite"], "sample": r["sample"], "eps": r["eps"], "engine": r["engine"], "source": source,
             "ours": r["status"], "theirs": r[source], "evidence": evidence(loaded[r["suite"]], r)}
            for r in records for source in SOURCES if relation(r["status"], r[source]) == "disagree"]


def conflicts(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Queries that two engines decided differently: always a bug in one of them."""
    by_query: dict[Key, dict[str, str]] = defaultdict(dict)
    for r in records:
        by_query[(r["suite"], r["sample"], r["eps"])][r["engine"]] = r["status"]
    return [{"suite": s, "sample": i, "eps": e, "verdicts": v} for (s, i, e), v in sorted(by_query.items())
            if len({x for x in v.values() if x in DECIDED}) > 1]


def summarise(loaded: dict[str, Loaded], records: list[dict[str, Any]], engines: list[str]) -> dict[str, Any]:
    for r in records:
        if r["status"] == "violated":
            r["re_replay"] = replay_check(loaded[r["suite"]], r)
    suites, engine_at = list(SUITES), {e: n for n, e in enumerate(engines)}
    records = sorted(records, key=lambda r: (suites.index(r["suite"]), r["eps"], r["sample"], engine_at[r["engine"]]))
    return {"blocks": block_rows(records), "published": published_rows(records, engines),
            "disagreements": disagreements(loaded, records), "conflicts": conflicts(records),
            "replay_failures": [{"suite": r["suite"], "sample": r["sample"], "eps": r["eps"], "engine": r["engine"],
                                 "why": r["re_replay"]} for r in records if r.get("re_replay", "ok") != "ok"],
            "errors": [{"suite": r["suite"], "sample": r["sample"], "eps": r["eps"], "engine": r["engine"],
                        "why": r["reason"]} for r in records if r.get("error")]}


def print_summary(summary: dict[str, Any]) -> None:
    t = Table("suite", "eps", "engine", "queries", *STATUSES, "total s", "median s (decided)", title="Verdicts")
    for b in summary["blocks"]:
        t.add_row(b["suite"], str(b["eps"]), b["engine"], str(b["queries"]), *(str(b[s]) for s in STATUSES),
                  f"{b['total_s']:.1f}", "-" if b["median_s"] is None else f"{b['median_s']:.2f}")
    out_console.print(t)
    p = Table("engine", "vs", "agree", "disagree", "resolved (they NA/timeout)", "unresolved (they decided)",
              "both undecided", "skipped (misclassified)", title="Against the published verdicts")
    for r in summary["published"]:
        p.add_row(r["engine"], r["source"], *(str(r[k]) for k in RELATIONS))
    out_console.print(p)
    out_console.print(f"Disagreements with the papers: {len(summary['disagreements'])}")
    for d in summary["disagreements"]:
        out_console.print(f"  {d['suite']} #{d['sample']} eps {d['eps']}: {d['engine']} says {d['ours']}, "
                          f"{d['source']} says {d['theirs']}; {d['evidence']}", markup=False, highlight=False)
    for name, what in (("conflicts", "ENGINE CONFLICTS"), ("replay_failures", "REPLAY FAILURES"), ("errors", "ENGINE ERRORS")):
        items = summary[name]
        colour = "bold red" if items else "green"
        out_console.print(f"[{colour}]{what}: {len(items)}[/]")
        for item in items:
            out_console.print(f"  {item}", style="bold red", markup=False, highlight=False)


def bugs(summary: dict[str, Any]) -> int:
    return len(summary["conflicts"]) + len(summary["replay_failures"]) + len(summary["errors"])


def default_benchmarks() -> Path:
    env = os.environ.get("BVVERIFY_BENCHMARKS")
    return Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "benchmarks"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--benchmarks", type=Path, default=default_benchmarks())
    ap.add_argument("--engines", default="bounds,ilp:cpsat", help="comma list: bounds[:method], bv, ilp:cpsat|highs|z3|z3opt")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per query and engine")
    ap.add_argument("--suite", default="mnist,fashion", help="comma list of: " + ",".join(SUITES))
    ap.add_argument("--eps", default=None, help="comma list of radii to run (default all four blocks)")
    ap.add_argument("--limit", type=int, default=None, help="first N samples of each eps block")
    ap.add_argument("--out", type=Path, default=Path("qvip_table2.jsonl"), help="JSON-lines record file")
    ap.add_argument("--resume", action="store_true", help="keep --out's records and run only the missing ones")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the selected queries and return the summary (printed as tables, or as JSON with --json)."""
    args = parse_args(argv)
    if not (args.benchmarks / "qvip22_data").is_dir():
        raise SystemExit(f"benchmark data not found at {args.benchmarks} (pass --benchmarks or set BVVERIFY_BENCHMARKS)")
    names = [s for s in args.suite.split(",") if s]
    if unknown := [s for s in names if s not in SUITES]:
        raise SystemExit(f"unknown suite(s) {unknown} (use {','.join(SUITES)})")
    engines = [e for e in args.engines.split(",") if e]
    runners = {e: make_runner(e) for e in engines}
    radii = None if args.eps is None else {int(e) for e in args.eps.split(",")}
    keys = [k for n in names for k in select_queries(SUITES[n], args.limit, radii)]
    wanted = {(*k, e) for k in keys for e in engines}
    old = [r for r in open_out(args.out, args.resume) if (r["suite"], r["sample"], r["eps"], r["engine"]) in wanted]
    done = {(r["suite"], r["sample"], r["eps"], r["engine"]) for r in old}
    loaded = {n: load_suite(args.benchmarks, SUITES[n]) for n in names}
    new = run_all(loaded, keys, engines, runners, args.timeout, load_published(args.benchmarks), done, args.out)
    summary = {"benchmarks": str(args.benchmarks), "engines": engines, "timeout": args.timeout, "out": str(args.out),
               "resumed": len(old), "ran": len(new), **summarise(loaded, old + new, engines)}
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print_summary(summary)
    return summary


if __name__ == "__main__":
    sys.exit(1 if bugs(main()) else 0)
