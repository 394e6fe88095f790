"""Jobs on a dask.distributed cluster: a ``LocalCluster`` of worker processes (one solver thread
each) or an existing scheduler. Results come back to this process, which writes every file.

Why these settings:

- worker *processes* under a nanny (``processes=True``): a solve that must end at its deadline
  runs in a forked child (``backends/killable.py``), and a daemonic process cannot have
  children, so the workers are started non-daemonic (``distributed.worker.daemon: False``);
- a worker that dies loses only the instance it was running: the scheduler gives that task to
  another worker once (``distributed.scheduler.allowed-failures: 1``); dying a second time makes it
  an ``error`` result naming the lost worker, and the batch goes on.

An existing cluster (``scheduler=ADDRESS``) keeps its own settings: start its workers with
``DASK_DISTRIBUTED__WORKER__DAEMON=False`` (see docs/batch.md).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from bvverify.batch.job import Job, JobResult, run_job
from bvverify.errors import BvverifyError

RETRIES = 1  # times a task is given to another worker after its worker died
WORKER_ENV = {"BVVERIFY_SOLVER_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class DaskError(BvverifyError, RuntimeError):
    """dask is not installed, or the scheduler cannot be reached."""


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise DaskError("--workers/--scheduler need dask.distributed: pip install 'bvverify[dask]'") from None
    return distributed


@contextlib.contextmanager
def client_for(workers: int, scheduler: str | None = None) -> Iterator[Any]:
    """A dask client on ``scheduler``, or on a new ``LocalCluster`` of ``workers`` processes."""
    distributed = _distributed()
    import dask

    settings = {"distributed.worker.daemon": False, "distributed.scheduler.allowed-failures": RETRIES,
                "distributed.admin.tick.limit": "1h"}  # a long solve holds the GIL-free thread; no warnings
    with dask.config.set(settings):
        if scheduler is not None:
            try:
                client = distributed.Client(scheduler, timeout="10s")
            except (OSError, TimeoutError) as e:
                raise DaskError(f"--scheduler {scheduler}: cannot connect ({e})") from None
            with client:
                yield client
            return
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.ERROR, env=WORKER_ENV)
        with cluster, distributed.Client(cluster) as client:
            yield client


def check_workers(client: Any, module: str) -> None:
    """Every worker imports ``module`` (the one of the function that runs the jobs) now: a worker
    that cannot unpickle a task dies on it, and the batch would wait for ever on a cluster with
    no worker left. ``exec`` is sent because a builtin unpickles on any worker."""
    try:
        client.run(exec, f"import {module}", {})
    except Exception as e:
        raise DaskError(f"the dask workers cannot import {module} ({type(e).__name__}: {e}): install bvverify in the "
                        "workers' environment (and give them the files the jobs read)") from None


def lost_result(job: Job, message: str) -> JobResult:
    """The ``error`` result of a job whose task failed on the cluster (its worker died twice)."""
    return JobResult(job.name, "error", "error", 0.0, job.options.label, message=message, text="error\n",
                     attempts=RETRIES + 1)


def run_dask(jobs: Sequence[Any], client: Any, run: Callable[[Any], Any] = run_job,
             lost: Callable[[Any, str], Any] = lost_result) -> Iterator[tuple[Any, Any]]:
    """Each job and its result as they finish (any order). A task lost twice with its worker gets
    ``lost(job, message)``. Leaving the iteration early (Ctrl-C) cancels what is still queued.

    ``run`` and ``lost`` default to the instances' :func:`run_job`; another batch (the benchmark
    suites) passes its own module-level function and picklable jobs, each with a ``name``."""
    distributed = _distributed()
    if not jobs:
        return
    futures = {client.submit(run, job, key=f"bvverify-{i}-{job.name}", pure=False): job for i, job in enumerate(jobs)}
    try:
        for future in distributed.as_completed(futures):
            job = futures[future]
            try:
                result = future.result()
            except Exception as e:  # the worker died (twice), or the task could not run there
                result = lost(job, f"lost on the dask cluster: {type(e).__name__}: {e}")
            yield job, result
    finally:
        client.cancel(list(futures))


__all__ = ["DaskError", "RETRIES", "WORKER_ENV", "check_workers", "client_for", "lost_result", "run_dask"]
