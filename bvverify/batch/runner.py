"""One entry point for a batch, serial or on dask, for the CLI and the benchmark scripts."""

from __future__ import annotations

from collections.abc import Iterator

from bvverify.batch.job import Job, JobResult
from bvverify.batch.serial import run_serial


def run_jobs(jobs: list[Job], workers: int = 1, scheduler: str | None = None) -> Iterator[tuple[Job, JobResult]]:
    """Each job with its result as it is decided: in this process when ``workers`` is 1 and no
    ``scheduler`` is given, else on dask (a ``LocalCluster`` of ``workers`` processes, or the
    cluster at ``scheduler``). The results are the same either way; only the order differs."""
    if workers <= 1 and scheduler is None:
        yield from run_serial(jobs)
        return
    from bvverify.batch.dask_runner import client_for, run_dask

    with client_for(workers, scheduler) as client:
        yield from run_dask(jobs, client)


__all__ = ["run_jobs"]
