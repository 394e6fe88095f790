"""robust's multi-query runs: Ctrl-C stops cleanly, keeps every decided query in the log, does not
record the interrupted one (CP-SAT used to swallow the signal and call it unknown), and --resume
ends with what an uninterrupted run gives."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# image 1 is decided at once, image 4 takes seconds in the exact phase (CP-SAT)
QUERY = ["digits-cnn", "--index", "1,4", "--eps", "0.04", "--eps-unit", "float", "--clip", "0,1", "--timeout", "120",
         "--json"]


def env_for(folder):
    """Default logs go to ``folder/runs`` (not the user's cache)."""
    return {**os.environ, "BVVERIFY_RUNS_DIR": str(folder / "runs")}


def bvverify(*args, cwd):
    return subprocess.run([sys.executable, "-m", "bvverify", *args], capture_output=True, text=True, timeout=600, cwd=cwd,
                          env=env_for(cwd))


def records(log):
    lines = log.read_text().splitlines()
    return [json.loads(line) for line in lines[1:]]


def interrupt_in_second_query(run_dir):
    """robust QUERY in ``run_dir``, SIGINT once the first query is logged; (process, log, seconds to exit)."""
    p = subprocess.Popen([sys.executable, "-m", "bvverify", "robust", *QUERY], cwd=run_dir, env=env_for(run_dir),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    logs = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and p.poll() is None:
        logs = list((run_dir / "runs").glob("robust-digits-cnn-*.jsonl"))
        if logs and len(logs[0].read_text().splitlines()) >= 2:  # the header and image 1
            break
        time.sleep(0.05)
    assert p.poll() is None, p.communicate()
    time.sleep(0.5)  # inside image 4's solve
    sent = time.monotonic()
    p.send_signal(signal.SIGINT)
    p.out, p.err = p.communicate(timeout=120)
    return p, logs[0], time.monotonic() - sent


def test_ctrl_c_keeps_decided_queries_and_resume_continues(tmp_path):
    p, log, stopped = interrupt_in_second_query(tmp_path)
    assert p.returncode == 130, (p.out, p.err)
    assert stopped < 5, f"{stopped:.1f} s from Ctrl-C to exit"
    doc = json.loads(p.out)
    assert doc["interrupted"] == {"index": 4, "eps": 0.04}
    assert [(r["index"], r["status"]) for r in doc["results"]] == [(1, "holds")]
    assert "interrupted at #4 eps 0.04 (not recorded)" in p.err and "--resume" in p.err
    assert [(r["index"], r["status"]) for r in records(log)] == [(1, "holds")]  # no made-up unknown for image 4
    resumed = bvverify("robust", *QUERY, "--resume", cwd=tmp_path)
    assert resumed.returncode in (0, 1, 3), resumed.stderr
    doc = json.loads(resumed.stdout)
    assert doc["interrupted"] is None and [r["index"] for r in doc["results"]] == [1, 4]
    assert [r["index"] for r in records(log)] == [1, 4]  # image 1 was not decided again


@pytest.mark.slow
def test_interrupted_and_resumed_equals_uninterrupted(tmp_path):
    (tmp_path / "run").mkdir()
    p, log, _ = interrupt_in_second_query(tmp_path / "run")
    assert p.returncode == 130, (p.out, p.err)
    resumed = bvverify("robust", *QUERY, "--resume", cwd=tmp_path / "run")
    reference = bvverify("robust", *QUERY, "--log", str(tmp_path / "ref.jsonl"), cwd=tmp_path)

    def verdicts(text):
        return [(r["index"], r["eps"], r["status"], r["counterexample"]) for r in json.loads(text)["results"]]

    assert verdicts(resumed.stdout) == verdicts(reference.stdout)
    assert resumed.returncode == reference.returncode
    assert [(r["index"], r["status"]) for r in records(log)] == [(i, s) for i, _, s, _ in verdicts(reference.stdout)]


def test_resume_of_another_run_is_refused(tmp_path):
    log = tmp_path / "log.jsonl"
    first = bvverify("robust", "digits-mlp", "--index", "0", "--eps", "1", "--log", str(log), "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    other = bvverify("robust", "digits-mlp", "--index", "0", "--eps", "1", "--timeout", "5", "--log", str(log), "--resume",
                     cwd=tmp_path)
    assert other.returncode == 2
    assert "field timeout" in other.stderr and str(log) in other.stderr
    again = bvverify("robust", "digits-mlp", "--index", "0-1", "--eps", "1", "--log", str(log), "--resume", "--json",
                     cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert [r["index"] for r in json.loads(again.stdout)["results"]] == [0, 1]
    assert [r["index"] for r in records(log)] == [0, 1]  # image 0 was not decided twice


def test_a_model_changed_in_place_is_another_run(tmp_path):
    import bvverify

    model = tmp_path / "m.bvq"
    net = bvverify.load(Path(bvverify.__file__).parent / "models" / "digits_mlp.bvq")
    net.save(model)
    data = Path(bvverify.__file__).parent / "models" / "digits_test.npz"
    args = ["robust", str(model), "--data", str(data), "--index", "0", "--eps", "1", "--json"]
    assert bvverify_run(args, tmp_path).returncode == 0
    net.meta["note"] = "retrained"  # same path, other content
    net.save(model)
    p = bvverify_run([*args, "--resume"], tmp_path)  # the default log is named after the content: a new one
    assert p.returncode == 0, p.stderr
    assert "no log" in p.stderr
    assert len(list((tmp_path / "runs").glob("robust-m-*.jsonl"))) == 2
    log = tmp_path / "log.jsonl"
    assert bvverify_run([*args, "--log", str(log)], tmp_path).returncode == 0
    net.meta["note"] = "again"
    net.save(model)
    p = bvverify_run([*args, "--log", str(log), "--resume"], tmp_path)
    assert p.returncode == 2 and "field model_sha256" in p.stderr


def bvverify_run(args, cwd):
    return bvverify(*args, cwd=cwd)
