"""run_job on real instances, serial against a 2-worker dask LocalCluster, a forking solver inside
a dask worker, and a worker killed mid-batch."""

from __future__ import annotations

import os

import pytest

from bvverify.batch import read_instances, run_job, run_jobs
from bvverify.batch.job import Job
from bvverify.batch.store import make_jobs
from bvverify.engines.config import EngineOptions
from tests.batch.helpers import MODELS, QUICK, SPECS, start_worker_killer, write_csv


def test_run_job_verdicts_and_result_text(tmp_path):
    jobs = make_jobs(read_instances(write_csv(tmp_path, QUICK[:2])), EngineOptions())
    holds, violated = run_job(jobs[0]), run_job(jobs[1])
    assert (holds.word, holds.status, holds.text) == ("unsat", "holds", "unsat\n")
    assert (violated.word, violated.status) == ("sat", "violated")
    lines = violated.text.splitlines()
    assert lines[0] == "sat" and lines[1].startswith("((X_0 ") and lines[-1].startswith(" (Y_9 ")


def test_run_job_errors_are_results(tmp_path):
    bad_model = tmp_path / "broken.bvq"
    bad_model.write_bytes(b"not a model")
    prop = SPECS / QUICK[0][1]
    r = run_job(Job("a", str(bad_model), str(prop), 5.0, origin="x.csv, line 3"))
    assert (r.word, r.status, r.text) == ("error", "error", "error\n")
    assert r.message.startswith("x.csv, line 3: ") and "broken.bvq" in r.message
    r = run_job(Job("b", "digits-mlp", str(tmp_path / "none.vnnlib"), 5.0))
    assert r.word == "error" and "none.vnnlib" in r.message
    wrong_size = tmp_path / "small.vnnlib"
    wrong_size.write_text("(declare-const X_0 Real)\n(assert (>= X_0 0))\n")
    assert run_job(Job("c", "digits-mlp", str(wrong_size), 5.0)).word == "error"


def _by_name(pairs):
    return {job.name: (res.word, res.text) for job, res in pairs}


def test_two_worker_cluster_equals_serial_and_forks_solvers(tmp_path):
    jobs = make_jobs(read_instances(write_csv(tmp_path, QUICK)), EngineOptions())
    # HiGHS solves in a forked child killed at its deadline (backends/killable.py): that needs
    # non-daemonic worker processes
    forking = Job("highs", str(MODELS / "digits_cnn.bvq"), str(SPECS / "digits_cnn_img3_eps0.06.vnnlib"), 1.0,
                  EngineOptions("ilp", solver="highs"))
    serial = _by_name(run_jobs(jobs))
    on_dask = _by_name(run_jobs([*jobs, forking], workers=2))
    assert on_dask.pop("highs")[0] in ("timeout", "unknown", "unsat", "sat")  # not an error
    assert on_dask == serial
    assert sorted(w for w, _ in serial.values()) == ["sat", "sat", "unsat", "unsat"]


@pytest.mark.slow
def test_killed_worker_loses_only_its_instance_which_is_retried(tmp_path):
    from bvverify.batch.dask_runner import client_for, run_dask

    jobs = make_jobs(read_instances(write_csv(tmp_path, QUICK[:2])), EngineOptions())
    long = Job("long", str(MODELS / "digits_cnn.bvq"), str(SPECS / "digits_cnn_img3_eps0.06.vnnlib"), 4.0)
    killed = []
    with client_for(2) as client:
        killer = start_worker_killer(client, "long", killed)
        results = _by_name(run_dask([long, *jobs], client))
        killer.join(5)
    assert killed, "the worker running the long instance was not found"
    assert results["long"][0] == "timeout"  # retried on another worker, decided as it would be
    assert sorted(w for w, _ in (results[j.name] for j in jobs)) == ["sat", "unsat"]


@pytest.mark.slow
def test_existing_scheduler_and_a_daemonic_worker_named(tmp_path):
    """--scheduler: the jobs run on a cluster started elsewhere; on dask's default daemonic workers a
    solver that forks its child is an error that says how to start the workers."""
    import dask
    import distributed

    jobs = make_jobs(read_instances(write_csv(tmp_path, QUICK[:2])), EngineOptions())
    forking = Job("highs", str(MODELS / "digits_cnn.bvq"), str(SPECS / "digits_cnn_img3_eps0.06.vnnlib"), 1.0,
                  EngineOptions("ilp", solver="highs"))
    with dask.config.set({"distributed.worker.daemon": True}):
        with distributed.LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as cluster:
            got = {job.name: res for job, res in run_jobs([*jobs, forking], scheduler=cluster.scheduler_address)}
    assert [got[j.name].word for j in jobs] == ["unsat", "sat"]
    assert got["highs"].word == "error"
    assert "DASK_DISTRIBUTED__WORKER__DAEMON=False" in got["highs"].message


def double(job):
    """A run function of another kind of batch (module level: pickled by name); job 3 kills its worker."""
    if job == 3 and _on_a_dask_worker():
        os._exit(1)
    return job * 2


def _on_a_dask_worker() -> bool:
    try:
        from distributed import get_worker

        get_worker()
        return True
    except (ImportError, ValueError):
        return False


def lost_twice(job, message):
    return ("lost", job, message)


class Named(int):
    name = property(lambda self: f"n{int(self)}")


def test_run_jobs_with_another_run_function():
    jobs = [Named(i) for i in range(5)]
    assert list(run_jobs(jobs, run=double, lost=lost_twice)) == [(j, 2 * j) for j in jobs]


@pytest.mark.slow
def test_another_run_function_on_dask_and_its_lost_result():
    jobs = [Named(i) for i in range(5)]
    on_dask = dict(run_jobs(jobs, workers=2, run=double, lost=lost_twice))
    lost = on_dask.pop(jobs[3])  # its worker died on it twice: the batch's own lost result, and the batch went on
    assert lost[:2] == ("lost", 3) and "lost on the dask cluster" in lost[2]
    assert on_dask == {j: 2 * j for j in jobs if j != 3}


@pytest.mark.slow
def test_workers_that_cannot_import_the_run_function_are_an_error_not_a_hang(tmp_path, monkeypatch):
    """dask kills a worker that cannot unpickle a task; with none left the batch would wait for ever."""
    import importlib
    import sys

    from bvverify.batch.dask_runner import DaskError, client_for

    (tmp_path / "only_here.py").write_text("def run(job):\n    return job\n")
    with client_for(1) as client:  # its worker started before the module's folder is on sys.path
        monkeypatch.syspath_prepend(str(tmp_path))
        mod = importlib.import_module("only_here")
        with pytest.raises(DaskError, match="cannot import only_here"):
            list(run_jobs([Job("a", "m", "p", 1.0)], scheduler=client.scheduler.address, run=mod.run))
        # sent with upload=, the same module runs there
        got = list(run_jobs([Job("a", "m", "p", 1.0)], scheduler=client.scheduler.address, run=mod.run,
                            upload=[tmp_path / "only_here.py"]))
        assert [r.name for _, r in got] == ["a"]
    sys.modules.pop("only_here", None)
