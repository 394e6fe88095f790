"""One entry point for a batch, serial or on dask, for the CLI and the benchmark scripts."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from bvverify.batch.job import Job, JobResult, run_job
from bvverify.batch.serial import run_serial


def run_jobs(jobs: Sequence[Job], workers: int = 1, scheduler: str | None = None,
             run: Callable[[Any], Any] = run_job, lost: Callable[[Any, str], Any] | None = None,
             upload: Sequence[Path] = ()) -> Iterator[tuple[Job, JobResult]]:
    """Each job with its result as it is decided: in this process when ``workers`` is 1 and no
    ``scheduler`` is given, else on dask (a ``LocalCluster`` of ``workers`` processes, or the
    cluster at ``scheduler``). The results are the same either way; only the order differs.

    Another kind of batch passes its own ``run`` (a module-level function: it is pickled by
    name), ``lost`` (the result of a job whose worker died twice; default: the instances'
    ``error`` result) and ``upload``: the ``.py`` files ``run`` needs that a worker may not be
    able to import (sent to every worker, in order, before the first job)."""
    if workers <= 1 and scheduler is None:
        yield from run_serial(list(jobs), run)
        return
    from bvverify.batch.dask_runner import check_workers, client_for, lost_result, run_dask

    with client_for(workers, scheduler) as client:
        for path in upload:
            client.upload_file(str(path), load=False)  # imported when a job needs it (not on the scheduler)
        check_workers(client, run.__module__)
        yield from run_dask(jobs, client, run, lost or lost_result)


__all__ = ["run_jobs"]
