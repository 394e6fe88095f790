"""scripts/bench/suite.py: the one benchmark-suite command.

The digits suite needs no benchmark data (the models are bundled), so its run, resume, conflict and
error tests always run. The QVIP and mnistfc checks need ``$BVVERIFY_BENCHMARKS`` or
``<repo>/../shared/benchmarks`` (mnistfc also the onnx package) and are skipped without them.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPTS = ROOT / "scripts" / "bench"
BENCH = Path(os.environ["BVVERIFY_BENCHMARKS"]) if "BVVERIFY_BENCHMARKS" in os.environ else ROOT / ".." / "shared" / "benchmarks"
STATUSES = {"holds", "violated", "unknown", "misclassified"}


def load(name: str) -> ModuleType:
    """A script module by file (scripts/bench is no package); its suite_* helpers import from beside it."""
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def suite() -> ModuleType:
    return load("suite")


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def digits_args(out: Path, engines: str = "bounds,ilp:cpsat") -> list[str]:
    return ["digits", "--limit", "1", "--engines", engines, "--timeout", "20", "--out", str(out)]


def test_digits_run_then_resume_after_a_torn_line(suite: ModuleType, tmp_path: Path) -> None:
    assert suite.main(digits_args(tmp_path)) == 0
    rows = read_csv(tmp_path / "digits.csv")
    assert len(rows) == 2 * 3 * 2  # models x eps x engines, the first image of each block
    assert {(r["model"], r["eps"]) for r in rows} == {(m, e) for m in ("digits-mlp", "digits-cnn") for e in ("1", "2", "3")}
    for r in rows:
        assert r["status"] in STATUSES and r["query"] == "0" and r["timeout"] == "20"
        assert r["published"] == "" and r["relation"] == ""  # nothing published for the bundled models
        assert float(r["seconds"]) >= 0 and r["timed_out"] in ("0", "1")
        if r["status"] == "violated":
            assert (tmp_path / r["cex_file"]).read_text().startswith("sat\n")
    md = (tmp_path / "digits.md").read_text()
    assert "## Per engine" in md and "`ilp:cpsat`" in md and "0 conflicts, 0 errors" in md
    assert "`bv` vs auto: not measured" in md  # the must-show figure says why it is missing

    data = (tmp_path / "digits.csv").read_bytes()
    (tmp_path / "digits.csv").write_bytes(data[:-7])  # a crash in the middle of the last row
    assert suite.main(digits_args(tmp_path)) == 0
    again = read_csv(tmp_path / "digits.csv")
    assert len(again) == len(rows)  # the torn row was cut and run again; nothing else re-ran
    assert [(r["model"], r["eps"], r["engine"]) for r in again] == [(r["model"], r["eps"], r["engine"]) for r in rows]


def test_engine_conflict_is_a_bug(suite: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv_mod = load("suite_csv")
    w = csv_mod.Writer(tmp_path / "digits.csv")  # an earlier run's row from another engine that says violated
    w.append({"suite": "digits", "model": "digits-mlp", "query": "0", "eps": "1", "engine": "bv", "status": "violated",
              "seconds": "1", "timed_out": "0", "timeout": "20"})
    assert suite.main(digits_args(tmp_path, "bounds")) == 1  # bounds proves it holds
    captured = capsys.readouterr()
    assert "BUG: engines disagree on digits-mlp #0 eps 1" in captured.err
    assert "**BUG** digits-mlp #0 eps 1: `bounds` holds, `bv` violated" in (tmp_path / "digits.md").read_text()


def test_engine_error_is_recorded_and_retried(suite: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(sys.modules["suite_jobs"], "verify", broken)  # the module that runs every query, serial or on dask
    assert suite.main(digits_args(tmp_path, "bounds")) == 1
    rows = read_csv(tmp_path / "digits.csv")
    assert {r["status"] for r in rows} == {"error"} and "engine exploded" in rows[0]["reason"]
    monkeypatch.undo()
    assert suite.main(digits_args(tmp_path, "bounds")) == 0  # the error rows are run again, and the last row per query wins
    latest = load("suite_csv").read_rows(tmp_path / "digits.csv")
    assert len(latest) == 6 and {r["status"] for r in latest} <= STATUSES


def test_refuses_an_output_folder_inside_the_repository(suite: ModuleType) -> None:
    with pytest.raises(SystemExit):  # the witnesses are perturbed benchmark images: never in the repository
        suite.main(["digits", "--out", str(ROOT / "bench-results")])
    assert not (ROOT / "bench-results").exists()


def test_engine_specs(suite: ModuleType) -> None:
    opts = suite.engine_options(["bounds:interval", "ilp:cpsat", "bv"], 7)
    assert opts["bounds:interval"].bounds == "interval" and opts["ilp:cpsat"].ilp_solver == "cpsat"
    with pytest.raises(SystemExit, match="engine 'nope'"):
        suite.engine_options(["nope"], 0)
    if "auto" in suite.REGISTERED:  # auto and attack are being added to the registry: before that they are refused by name
        assert suite.engine_options(["auto"], 7)["auto"].seed == 7
    else:
        with pytest.raises(SystemExit, match="registry has no 'auto'"):
            suite.engine_options(["auto"], 0)


def row(engine: str, query: str, seconds: float, timed_out: bool = False, status: str = "unknown") -> dict[str, str]:
    return {"suite": "s", "model": "m", "query": query, "eps": "1", "engine": engine, "status": status,
            "seconds": str(seconds), "timed_out": "1" if timed_out else "0", "timeout": "10"}


def test_time_against_auto() -> None:
    report = load("suite_report")
    rows = [row("auto", "a", 0.5, status="holds"), row("bv", "a", 2.0, status="holds"),  # ratio 4
            row("auto", "b", 1.0), row("bv", "b", 9.9, timed_out=True),  # the timeout counts as 10: ratio 10
            row("auto", "c", 0.1, status="holds"), row("bv", "c", 0.5, status="holds"),  # under 1 s: not counted
            row("auto", "d", 1.0, status="holds"), row("bv", "d", 1.5, status="holds")]  # ratio 1.5
    lines = report.speed_vs_auto(rows, ["auto", "bv"])
    assert "`ilp:z3` vs auto: not measured" in lines[0]
    assert "on the 3 queries where `bv` took more than 1 s, median time ratio **4.00x**" in lines[1]
    assert "1 of `bv`, 0 of `auto`" in lines[1]
    assert "no auto engine" in report.speed_vs_auto(rows, ["bv"])[1]


def test_relation_and_float_consensus() -> None:
    report, defs = load("suite_report"), load("suite_defs")
    assert report.relation("holds", "holds") == "agree" and report.relation("violated", "holds") == "disagree"
    assert report.relation("holds", "NA") == "resolved" and report.relation("unknown", "violated") == "unresolved"
    assert report.relation("unknown", "timeout") == "open" and report.relation("holds", "") == ""
    assert report.relation("misclassified", "holds") == "disagree" and report.relation("misclassified", "NA") == "skipped"
    assert defs.consensus({"A": "holds", "B": "holds", "C": "violated", "D": "timeout"}) == \
        ("holds", "holds 2, violated 1 (C), no answer 1 of 4 tools")
    assert defs.consensus({"A": "holds", "B": "violated"})[0] == "conflict"
    assert defs.consensus({"A": "timeout"})[0] == "NA"


@pytest.fixture(scope="module")
def bench() -> Path:
    if not (BENCH / "qvip22_data").is_dir():
        pytest.skip(f"benchmark data not found at {BENCH} (set BVVERIFY_BENCHMARKS)")
    return BENCH


def test_qvip_suites_small(suite: ModuleType, bench: Path, tmp_path: Path) -> None:
    assert suite.main(["qvip-t2", "--benchmarks", str(bench), "--limit", "1", "--engines", "bounds", "--out", str(tmp_path)]) == 0
    rows = read_csv(tmp_path / "qvip-t2.csv")
    assert sorted((r["model"], int(r["query"]), int(r["eps"])) for r in rows) == sorted(
        [("P1-6", 0, 1), ("P1-6", 100, 2), ("P1-6", 200, 3), ("P1-6", 300, 4),
         ("P4-6", 0, 1), ("P4-6", 100, 2), ("P4-6", 200, 3), ("P4-6", 300, 4)])
    for r in rows:
        assert r["published"] in ("holds", "violated", "NA", "timeout", "misclassified")
        assert r["published_detail"].startswith("qvip=")
        assert r["relation"] in ("agree", "resolved", "unresolved", "open", "skipped")
    defs = load("suite_defs")
    t3 = defs.build("qvip-t3-r2", bench, Path("unused"), None)
    assert len(t3.queries) == 7 * 100 + 4 * 50  # P1-6's Table 3 network file was not published
    assert any("P1-6" in n for n in t3.notes)
    assert {q.model.name for q in t3.queries} >= {"P1-4", "P2-10", "P3-8"} and all(100 <= int(q.query) < 200 for q in t3.queries)


def test_mnistfc_small(suite: ModuleType, bench: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    quantize = load("quantize_mnistfc")
    models = tmp_path / "models"
    quantize.main(["--benchmarks", str(bench), "--out", str(models), "--calibration", "100", "--check", "20"])
    out = tmp_path / "out"
    assert suite.main(["mnistfc", "--benchmarks", str(bench), "--models", str(models), "--limit", "1", "--engines", "bounds",
                       "--timeout", "5", "--out", str(out)]) == 0
    rows = read_csv(out / "mnistfc.csv")
    assert {(r["model"], r["query"]) for r in rows} == {(m, f"prop_0_{e}") for m in ("256x2", "256x4", "256x6")
                                                        for e in ("0.03", "0.05")}
    assert all(r["published"] in ("holds", "violated", "NA", "conflict") and "tools" in r["published_detail"] for r in rows)
    assert "## Float vs int8" in (out / "mnistfc.md").read_text()
    q = load("suite_defs").build("mnistfc", bench, models, 1).queries[0]
    prop = q.prepare(q.model.net).prop
    assert prop.output.over == "dequantized"  # Y_j are the float logits: the int8 model's dequantized outputs


def test_a_file_from_before_decided_by_resumes_and_gains_the_column(tmp_path: Path) -> None:
    csv_mod = load("suite_csv")
    path = tmp_path / "digits.csv"
    with open(path, "w", newline="") as f:  # a result file of the previous column set
        w = csv.writer(f, lineterminator="\n")
        w.writerow(csv_mod.OLD_COLUMNS)
        w.writerow(["digits", "digits-mlp", "0", "1", "auto", "holds", "0.5", "0", "20", "", "", "", "", ""])
    assert csv_mod.read_rows(path)[0]["decided_by"] == ""
    csv_mod.Writer(path).append({"suite": "digits", "model": "digits-mlp", "query": "1", "eps": "1", "engine": "auto",
                                 "status": "holds", "decided_by": "bounds"})
    rows = read_csv(path)
    assert tuple(rows[0]) == csv_mod.COLUMNS and [r["decided_by"] for r in rows] == ["", "bounds"]
    assert not path.with_suffix(".tmp").exists()


def test_only_open_runs_what_an_earlier_file_left_open(suite: ModuleType, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert suite.main(digits_args(first, "bounds")) == 0
    rows = read_csv(first / "digits.csv")
    assert {r["decided_by"] for r in rows if r["status"] in ("holds", "violated")} <= {"bounds", ""}
    rows[0]["status"] = "unknown"  # pretend the first query stayed open
    with open(first / "digits.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    assert suite.main([*digits_args(second, "bounds"), "--only-open", str(first / "digits.csv")]) == 0
    again = read_csv(second / "digits.csv")
    assert [(r["model"], r["query"], r["eps"]) for r in again] == [(rows[0]["model"], rows[0]["query"], rows[0]["eps"])]


def test_kept_rows_carry_a_run_across_machines_without_published_data(suite: ModuleType, tmp_path: Path) -> None:
    kept = tmp_path / "kept" / "digits.csv"
    assert suite.main([*digits_args(tmp_path / "first", "bounds"), "--keep", str(kept)]) == 0
    csv_mod = load("suite_csv")
    first = csv_mod.read_kept(kept)
    assert len(first) == 6 and "published" not in read_csv(kept)[0]  # our columns only
    # a new machine: an empty --out, the kept file brings the rows; nothing runs again
    assert suite.main([*digits_args(tmp_path / "second", "bounds"), "--keep", str(kept)]) == 0
    again = read_csv(tmp_path / "second" / "digits.csv")
    assert sorted((r["model"], r["eps"], r["status"], r["seconds"]) for r in again) == \
        sorted((r["model"], r["eps"], r["status"], r["seconds"]) for r in first)
    # a narrower run (--only-open: nothing open) keeps the other rows of the kept file
    assert suite.main([*digits_args(tmp_path / "third", "bounds"), "--keep", str(kept),
                       "--only-open", str(tmp_path / "first" / "digits.csv")]) == 0
    assert len(csv_mod.read_kept(kept)) == 6
    # --only-open takes the kept file itself: one query reopened there is the only one run
    rows = read_csv(kept)
    rows[0]["status"] = "unknown"
    reopened = tmp_path / "reopened.csv"
    with open(reopened, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    assert suite.main([*digits_args(tmp_path / "fourth", "bounds"), "--only-open", str(reopened)]) == 0
    assert [(r["model"], r["query"], r["eps"]) for r in read_csv(tmp_path / "fourth" / "digits.csv")] == \
        [(rows[0]["model"], rows[0]["query"], rows[0]["eps"])]


# --- on dask: the same rows as the serial run, resumable, a lost worker costs one query ---------------------------

SAME = ("suite", "model", "query", "eps", "engine", "status", "timed_out", "timeout", "published", "published_detail",
        "relation", "cex_file", "reason", "decided_by")  # every column but the time


@pytest.fixture
def threads_restored(monkeypatch: pytest.MonkeyPatch):
    """A serial run with --solver-threads sets this process's solver and torch threads: put them back."""
    import torch

    monkeypatch.setenv("BVVERIFY_SOLVER_THREADS", "0")  # records its state now, so that undo restores even "unset"
    monkeypatch.delenv("BVVERIFY_SOLVER_THREADS")
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def dask_args(out: Path, *more: str) -> list[str]:
    # the first 4 images of each (model, eps) block: 24 queries, 3 violated by the attack (witness files)
    return ["digits", "--limit", "4", "--engines", "auto", "--timeout", "20", "--out", str(out), *more]


def same_columns(path: Path) -> list[tuple[str, ...]]:
    return sorted(tuple(r[c] for c in SAME) for r in read_csv(path))


def test_workers_resume_a_torn_serial_file_to_the_serial_rows_and_witnesses(
        suite: ModuleType, tmp_path: Path, threads_restored: None) -> None:
    pytest.importorskip("distributed")
    serial, dask = tmp_path / "serial", tmp_path / "dask"
    assert suite.main(dask_args(serial, "--solver-threads", "1")) == 0
    lines = (serial / "digits.csv").read_bytes().splitlines(keepends=True)
    assert len(lines) == 1 + 24
    dask.mkdir()
    (dask / "digits.csv").write_bytes(b"".join(lines[:9]) + lines[9][:15])  # 8 rows and a torn ninth
    assert suite.main(dask_args(dask, "--workers", "2")) == 0
    assert same_columns(dask / "digits.csv") == same_columns(serial / "digits.csv")
    assert os.environ.get("BVVERIFY_SOLVER_THREADS") == "1"  # the serial run's threads, undone by the fixture
    ran = [r for r in read_csv(dask / "digits.csv")[8:] if r["cex_file"]]
    assert ran, "no violated query among those the workers ran"
    for r in ran:  # written by this process from the worker's text, byte for byte the serial file
        assert (dask / r["cex_file"]).read_bytes() == (serial / r["cex_file"]).read_bytes()
    assert "on dask (2 workers)" in (dask / "digits.md").read_text()
    # nothing left to run: no cluster is started, the rows stay
    assert suite.main(dask_args(dask, "--workers", "2")) == 0
    assert len(read_csv(dask / "digits.csv")) == 24


def test_workers_with_keep_and_only_open(suite: ModuleType, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    kept = tmp_path / "kept.csv"
    assert suite.main([*digits_args(tmp_path / "a", "bounds"), "--keep", str(kept)]) == 0
    first = load("suite_csv").read_kept(kept)
    assert len(first) == 6
    rows = read_csv(tmp_path / "a" / "digits.csv")
    rows[2]["status"] = "unknown"  # one query left open: only it runs in the second pass
    with open(tmp_path / "open.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    assert suite.main([*digits_args(tmp_path / "b", "bounds:interval"), "--only-open", str(tmp_path / "open.csv"),
                       "--keep", str(kept), "--workers", "2"]) == 0
    again = read_csv(tmp_path / "b" / "digits.csv")
    open_query = (rows[2]["model"], rows[2]["eps"])  # its kept bounds row is taken in, bounds:interval ran on dask
    assert sorted((r["model"], r["eps"], r["engine"]) for r in again) == \
        [(*open_query, "bounds"), (*open_query, "bounds:interval")]
    assert len(load("suite_csv").read_kept(kept)) == 7  # the kept file gained the new row, lost none


def test_bad_worker_options(suite: ModuleType, tmp_path: Path) -> None:
    for bad in (["--workers", "0"], ["--solver-threads", "0"]):
        with pytest.raises(SystemExit):
            suite.main([*digits_args(tmp_path), *bad])
    assert not (tmp_path / "digits.csv").exists()


@pytest.mark.slow
def test_scheduler_workers_without_the_scripts_get_them_uploaded(suite: ModuleType, tmp_path: Path) -> None:
    """--scheduler: a cluster started elsewhere, whose workers cannot import scripts/bench (their
    sys.path is copied at start, here without it): the suite's modules are sent to them."""
    distributed = pytest.importorskip("distributed")
    import dask

    path = [p for p in sys.path if Path(p).resolve() != SCRIPTS]
    with pytest.MonkeyPatch.context() as mp, dask.config.set({"distributed.worker.daemon": False}):
        mp.setattr(sys, "path", path)
        cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        assert not any(Path(p).resolve() == SCRIPTS for p in client.run(lambda: __import__("sys").path).popitem()[1])
        assert suite.main([*digits_args(tmp_path / "remote", "bounds"), "--scheduler", cluster.scheduler_address]) == 0
    assert suite.main(digits_args(tmp_path / "here", "bounds")) == 0
    assert same_columns(tmp_path / "remote" / "digits.csv") == same_columns(tmp_path / "here" / "digits.csv")


@pytest.mark.slow
def test_a_killed_worker_costs_only_its_query_which_is_run_again(suite: ModuleType, tmp_path: Path) -> None:
    """SIGKILL the worker that is deciding a slow query (digits-cnn #6 eps 1: a few seconds in the exact
    phase): the scheduler gives it to the other worker, and its row is the one the serial run writes."""
    pytest.importorskip("distributed")
    from bvverify.batch.dask_runner import client_for
    from tests.batch.helpers import start_worker_killer

    real = suite.run_jobs
    killed: list[int] = []

    def run_jobs_with_a_killer(jobs, workers, scheduler, **kw):  # the suite's own call, on a cluster we can watch
        with client_for(workers) as client:
            t = start_worker_killer(client, "digits-cnn_6_eps1", killed, polls=1200)
            yield from real(jobs, scheduler=client.scheduler.address, **kw)
            t.join(5)

    args = ["digits", "--limit", "7", "--engines", "auto", "--timeout", "20"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(suite, "run_jobs", run_jobs_with_a_killer)
        assert suite.main([*args, "--out", str(tmp_path / "dask"), "--workers", "2"]) == 0
    assert killed, "the worker deciding digits-cnn #6 eps 1 was not found"
    got = {(r["model"], r["query"], r["eps"]): r for r in read_csv(tmp_path / "dask" / "digits.csv")}
    assert len(got) == 42 and "error" not in {r["status"] for r in got.values()}
    assert got[("digits-cnn", "6", "1")]["status"] == "violated"  # decided on the retry, as serially
