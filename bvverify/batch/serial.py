"""Jobs one after another in this process: the default, and the reference the dask run must equal."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from bvverify.batch.job import Job, JobResult, run_job


def run_serial(jobs: list[Job], run: Callable[[Job], JobResult] = run_job) -> Iterator[tuple[Job, JobResult]]:
    """Each job and its result, in order. Ctrl-C ends the iteration in the running job (which
    then has no result); every result handed out before it stays the caller's."""
    for job in jobs:
        yield job, run(job)


__all__ = ["run_serial"]
