"""run-instances end to end: result files, summary, resume, per-instance errors, bad input, and
SIGINT to a real process halfway: no truncated file, and the resumed run ends with the files of
an uninterrupted one."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bvverify.batch.job import WORDS
from tests.batch.helpers import QUICK, SPECS, write_csv

# a query that takes seconds, so a SIGINT lands inside it
SLOW = ("digits_cnn", "digits_cnn_img3_eps0.04.vnnlib", 60)


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "bvverify", "run-instances", *map(str, args)], capture_output=True,
                          text=True, timeout=600, cwd=cwd)


def result_files(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.glob("*.txt"))}


def test_results_summary_and_resume_skips_finished(tmp_path):
    csv_path = write_csv(tmp_path, QUICK[:2])
    out = tmp_path / "out"
    first = run(csv_path, "--results-dir", out, "--json")
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert (doc["total"], doc["skipped"], doc["ran"], doc["interrupted"]) == (2, 0, 2, False)
    assert [r["word"] for r in doc["results"]] == ["unsat", "sat"]
    files = result_files(out)
    assert files["digits_mlp__digits_mlp_img0_eps0.01.txt"] == "unsat\n"
    assert files["digits_mlp__digits_mlp_img3_eps0.01.txt"].startswith("sat\n((X_0 ")
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert [r["result"] for r in rows] == ["unsat", "sat"]
    assert "| unsat | sat |" in (out / "summary.md").read_text()
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.txt")}

    write_csv(tmp_path, QUICK[:3])  # one more row
    second = run(csv_path, "--results-dir", out, "--json")
    assert second.returncode == 0, second.stderr
    doc = json.loads(second.stdout)
    assert (doc["total"], doc["skipped"], doc["ran"]) == (3, 2, 1)
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.txt") if p.name in stamps} == stamps  # not rewritten
    assert result_files(out).items() >= files.items()


def test_per_instance_errors_are_recorded(tmp_path):
    (tmp_path / "broken.bvq").write_bytes(b"PK not a model")
    good = SPECS / QUICK[0][1]
    csv_path = tmp_path / "instances.csv"
    csv_path.write_text(f"broken.bvq,{good},5\ndigits-mlp,missing.vnnlib,5\ndigits-mlp,{good},5\n")
    p = run(csv_path, "--results-dir", tmp_path / "out", "--json")
    assert p.returncode == 1, p.stderr
    results = json.loads(p.stdout)["results"]
    assert [r["word"] for r in results] == ["error", "error", "unsat"]
    assert "line 1: " in results[0]["message"] and "broken.bvq" in results[0]["message"]
    assert "line 2: " in results[1]["message"] and "missing.vnnlib" in results[1]["message"]
    rows = list(csv.DictReader((tmp_path / "out" / "summary.csv").open()))
    assert rows[1]["result"] == "error" and "missing.vnnlib" in rows[1]["reason"]


def test_bad_csv_is_one_line_exit_2(tmp_path):
    csv_path = tmp_path / "instances.csv"
    csv_path.write_text("digits-mlp,p.vnnlib,fast\n")
    p = run(csv_path, "--results-dir", tmp_path / "out")
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "line 1, field timeout" in p.stderr
    assert run(csv_path, "--results-dir", tmp_path / "out", "--workers", "0").returncode == 2


def interrupt_halfway(csv_path: Path, out: Path, cwd: Path) -> subprocess.CompletedProcess:
    """run-instances as a real process, SIGINT once the first result file exists."""
    p = subprocess.Popen([sys.executable, "-m", "bvverify", "run-instances", str(csv_path), "--results-dir", str(out),
                          "--json"], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and p.poll() is None and not list(out.glob("*.txt")):
        time.sleep(0.02)
    assert p.poll() is None, p.communicate()
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=300)
    return subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr)


def check_interrupt_and_resume(tmp_path: Path, csv_path: Path) -> None:
    reference = tmp_path / "reference"
    assert run(csv_path, "--results-dir", reference).returncode in (0, 1)
    out = tmp_path / "out"
    stopped = interrupt_halfway(csv_path, out, tmp_path)
    assert stopped.returncode == 130, (stopped.stdout, stopped.stderr)
    doc = json.loads(stopped.stdout)
    assert doc["interrupted"] and doc["pending"] and doc["counts"]["pending"] == len(doc["pending"])
    assert "Run the same command again to continue" in stopped.stderr
    kept = result_files(out)
    assert 0 < len(kept) < doc["total"]
    assert not list(out.glob(".*.tmp"))
    expected = result_files(reference)
    for name, text in kept.items():  # whole, and what the uninterrupted run wrote
        assert text.split("\n", 1)[0] in WORDS and text.endswith("\n")
        assert text == expected[name], name
    resumed = run(csv_path, "--results-dir", out, "--json")
    assert resumed.returncode in (0, 1), resumed.stderr
    assert json.loads(resumed.stdout)["skipped"] == len(kept)
    assert result_files(out) == expected

    def summary(folder):  # times, and the wording of where a timeout struck, vary from run to run
        return [{k: v for k, v in r.items() if k != "seconds" and (k != "reason" or r["result"] != "timeout")}
                for r in csv.DictReader((folder / "summary.csv").open())]

    assert summary(out) == summary(reference)


def test_sigint_halfway_then_resume_equals_uninterrupted(tmp_path):
    check_interrupt_and_resume(tmp_path, write_csv(tmp_path, [QUICK[0], SLOW, QUICK[1]]))


@pytest.mark.slow
def test_sigint_and_resume_on_the_shipped_instances(tmp_path):
    check_interrupt_and_resume(tmp_path, SPECS / "instances.csv")
