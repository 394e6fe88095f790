"""Atomic writes, the results folder (finished / stale / error), the summary and the query log."""

from __future__ import annotations

import json
import os
import signal

import pytest

from bvverify.batch.atomic import interrupts_deferred, remove_stale_temporaries, write_atomic
from bvverify.batch.instances import Instance
from bvverify.batch.job import Job, JobResult
from bvverify.batch.query_log import QueryLog, QueryLogError
from bvverify.batch.store import finished, job_names, open_results_dir, save
from bvverify.batch.summary import counts, write_summary
from bvverify.engines.config import EngineOptions


def test_write_atomic_replaces_whole_or_keeps_old(tmp_path, monkeypatch):
    p = tmp_path / "r.txt"
    write_atomic(p, "unsat\n")
    assert p.read_text() == "unsat\n" and oct(p.stat().st_mode & 0o777) != "0o600"

    def broken_replace(a, b):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_atomic(p, "sat\n((X_0 1))\n")
    assert p.read_text() == "unsat\n"
    assert list(tmp_path.iterdir()) == [p]  # the temporary is removed


def test_stale_temporaries_removed(tmp_path):
    (tmp_path / ".a.txt.abc.tmp").write_text("half")
    (tmp_path / "a.txt").write_text("unsat\n")
    assert remove_stale_temporaries(tmp_path) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_interrupt_deferred_until_the_block_is_done():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            done.append(1)
    assert done == [1]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_names_unique_and_stable():
    rows = [Instance("/m/a.bvq", "/p/x.vnnlib", 1, 1), Instance("/m/a.bvq", "/q/x.vnnlib", 1, 2),
            Instance("digits-mlp", "/p/y z.vnnlib", 1, 3)]
    assert job_names(rows) == ["a__x__line1", "a__x__line2", "digits-mlp__y_z"]


def _job(**kw):
    return Job("n", "/m.bvq", "/p.vnnlib", kw.pop("timeout", 10.0), EngineOptions(**kw))


def test_finished_only_with_a_verdict_and_the_same_key(tmp_path):
    folder = open_results_dir(tmp_path / "out")
    job = _job()
    assert finished(folder, job) is None
    save(folder, job, JobResult("n", "sat", "violated", 1.5, "auto", text="sat\n((X_0 1))\n"))
    got = finished(folder, job)
    assert got is not None and (got.word, got.seconds, got.text) == ("sat", 1.5, "sat\n((X_0 1))\n")
    assert finished(folder, _job(timeout=20.0)) is None  # another timeout: stale
    assert finished(folder, _job(seed=1)) is None  # other engine options: stale
    save(folder, job, JobResult("n", "error", "error", 0.1, "auto", message="boom", text="error\n"))
    assert finished(folder, job) is None  # an error is run again
    (folder / "n.txt").write_text("unsat\n")  # result and details disagree: not trusted
    save(folder, job, JobResult("n", "sat", "violated", 1.5, "auto", text="sat\n"))
    (folder / "n.txt").write_text("unsat\n")
    assert finished(folder, job) is None


def test_summary_files(tmp_path):
    jobs = [_job(), Job("m", "/m.bvq", "/q.vnnlib", 5.0)]
    results = [JobResult("n", "error", "error", 0.1, "auto", message="a | b", text="error\n"), None]
    csv_path, md_path = write_summary(tmp_path, jobs, results)
    lines = csv_path.read_text().splitlines()
    assert lines[0] == "name,model,property,timeout,result,status,seconds,engine,reason"
    assert lines[2].startswith("m,/m.bvq,/q.vnnlib,5,pending,")
    assert "a \\| b" in md_path.read_text()
    assert counts(results)["error"] == 1 and counts(results)["pending"] == 1


def test_query_log_resume_torn_line_and_other_run(tmp_path):
    p = tmp_path / "log.jsonl"
    log = QueryLog.start(p, {"model": "m", "timeout": 1.0}, resume=False)
    log.append({"index": 0, "status": "holds"})
    log.append({"index": 1, "status": "violated"})
    with open(p, "a") as f:
        f.write('{"index": 2, "stat')  # killed while writing
    again = QueryLog.start(p, {"model": "m", "timeout": 1.0}, resume=True)
    assert again.previous == [{"index": 0, "status": "holds"}, {"index": 1, "status": "violated"}]
    again.append({"index": 2, "status": "holds"})
    assert [json.loads(line)["index"] for line in p.read_text().splitlines()[1:]] == [0, 1, 2]
    with pytest.raises(QueryLogError, match="field timeout"):
        QueryLog.start(p, {"model": "m", "timeout": 2.0}, resume=True)
    assert QueryLog.start(p, {"model": "m", "timeout": 2.0}, resume=False).previous == []


def test_a_model_changed_in_place_is_run_again(tmp_path):
    from bvverify.batch.store import make_jobs

    model, prop = tmp_path / "m.bvq", tmp_path / "p.vnnlib"
    model.write_bytes(b"v1")
    prop.write_text("(assert true)")
    rows = [Instance(str(model), str(prop), 5.0, 1)]
    folder = open_results_dir(tmp_path / "out")
    job = make_jobs(rows, EngineOptions())[0]
    save(folder, job, JobResult(job.name, "unsat", "holds", 1.0, "auto", text="unsat\n"))
    assert finished(folder, make_jobs(rows, EngineOptions())[0]) is not None
    model.write_bytes(b"v2")  # retrained in place: the old holds is not reused
    assert finished(folder, make_jobs(rows, EngineOptions())[0]) is None
    assert make_jobs([Instance(str(tmp_path / "gone.bvq"), str(prop), 5.0, 1)], EngineOptions())[0].content.startswith("missing:")
