"""The public VNN-LIB 2.0 solver conformance suite (vnnlib-satisfactory) against bvverify-vnnlib.

    pip install vnnlib-satisfactory
    python scripts/bench/vnnlib_conformance.py [--workdir DIR] [--timeout 5] [--test CATEGORY] [--all]

Runs the suite's ``compliance`` checks (the command-line interface: every one must pass) and its
``run`` tests (generated small ONNX networks with known answers), then prints the counts per test
category: passed (the right sat / unsat), failed (a wrong sat / unsat: a soundness bug), suspect
(the suite's word for ``unknown`` from a solver that did not decline the test), errored (crash or
timeout) and skipped (the solver's ``supports`` answers decline the test). What bvverify answered
is counted too. ``--all`` hides bvverify's ``supports`` answers from the suite so that it runs every
test (the check that nothing at all is answered wrongly). The suite writes its generated tests and
``report.json`` under ``DIR/.vnnlib-satisfactory``. Exit code 1 when a compliance check fails or a
test is answered wrongly.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

CHECKS = ("opset", "vnnlib", "serialise-assignments")
OUTCOMES = ("pass", "fail", "suspect", "error")


def suite(*args: str, cwd: Path, timeout: float | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vnntest", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def solver_command(workdir: Path, hide_supports: bool) -> str:
    """The solver executable the suite calls: bvverify's entry point (a wrapper script, so no install is needed)."""
    path = workdir / ("bvverify-vnnlib-all" if hide_supports else "bvverify-vnnlib")
    guard = 'if [ "$1" = supports ]; then exit 1; fi\n' if hide_supports else ""
    path.write_text("#!/bin/sh\n" + guard +
                    f'exec "{sys.executable}" -c "from bvverify.cli import vnnlib_main; vnnlib_main()" "$@"\n')
    path.chmod(0o755)
    return str(path)


def compliance(solver: str, workdir: Path) -> list[tuple[str, bool, str]]:
    rows = []
    for check in CHECKS:
        p = suite("compliance", check, "--solver", solver, cwd=workdir, timeout=120)
        verdict = next((line for line in p.stdout.splitlines() if line.startswith(("PASS", "FAIL"))), p.stdout.strip())
        rows.append((check, p.returncode == 0 and verdict.startswith("PASS"), verdict or p.stderr.strip()))
    return rows


def run_tests(solver: str, workdir: Path, timeout: float, test: str | None) -> dict:
    args = ["run", "--solver", solver, "--timeout", str(timeout), "--no-verbose"] + (["--test", test] if test else [])
    p = suite(*args, cwd=workdir)
    report = workdir / ".vnnlib-satisfactory" / "report.json"
    if p.returncode != 0 or not report.exists():
        sys.exit(f"vnnlib-satisfactory run failed (exit {p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return json.loads(report.read_text())


def answer_of(result: dict) -> str:
    first = (result.get("stdout") or "").strip().splitlines()
    return first[0] if first else f"(nothing; exit {result.get('returncode')})"


def table(report: dict) -> tuple[list[str], Counter, Counter]:
    per: dict[str, Counter] = defaultdict(Counter)
    for r in report["results"]:
        per[r["category"]][r["outcome"]] += 1
    for s in report["skipped"]:
        per[s["category"]]["skip"] += 1
    lines = ["| category | tests | passed | failed | suspect (unknown) | errored | skipped |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    total: Counter = Counter()
    for cat in sorted(per):
        c = per[cat]
        total.update(c)
        lines.append(f"| {cat} | {sum(c.values())} | {c['pass']} | {c['fail']} | {c['suspect']} | {c['error']} | {c['skip']} |")
    lines.append(f"| **all** | {sum(total.values())} | {total['pass']} | {total['fail']} | {total['suspect']} | "
                 f"{total['error']} | {total['skip']} |")
    answers = Counter(answer_of(r) for r in report["results"])
    return lines, total, answers


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", type=Path, help="where the suite writes its tests and report (default: a temporary folder)")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds per test (the suite's own default: 5)")
    ap.add_argument("--test", help="one test category only (e.g. add, network_multiple)")
    ap.add_argument("--all", action="store_true", help="hide bvverify's supports answers: the suite runs every test")
    args = ap.parse_args()
    if shutil.which("vnnlib-satisfactory") is None and subprocess.run(
            [sys.executable, "-c", "import vnntest"], capture_output=True).returncode != 0:
        sys.exit("vnnlib-satisfactory is not installed: pip install vnnlib-satisfactory")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="vnnlib-conformance-"))
    workdir.mkdir(parents=True, exist_ok=True)

    solver = solver_command(workdir, hide_supports=False)
    rows = compliance(solver, workdir)
    print("## compliance (the command-line interface)\n")
    for check, ok, msg in rows:
        print(f"- {check}: {'PASS' if ok else 'FAIL'} ({msg})")
    print(f"\ncompliance: {sum(ok for _, ok, _ in rows)} passed, {sum(not ok for _, ok, _ in rows)} failed\n")

    report = run_tests(solver_command(workdir, args.all), workdir, args.timeout, args.test)
    lines, total, answers = table(report)
    print(f"## run ({'every test, supports hidden' if args.all else 'as bvverify declares its support'}; "
          f"{args.timeout:g} s per test)\n")
    print("\n".join(lines))
    print("\nbvverify's answers: " + ", ".join(f"{a} {n}" for a, n in answers.most_common()))
    wrong = [r for r in report["results"] if r["outcome"] == "fail"]
    for r in wrong:
        print(f"WRONG: {r['test_id']}: expected {r['expected']}, answered {r['actual']}")
    print(f"\nreport: {workdir / '.vnnlib-satisfactory' / 'report.json'}")
    return 1 if wrong or not all(ok for _, ok, _ in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
