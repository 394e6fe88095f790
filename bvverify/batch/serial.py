"""Jobs one after another in this process: the default, and the reference the dask run must equal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from bvverify.batch.job import run_job


def run_serial(jobs: list[Any], run: Callable[[Any], Any] = run_job) -> Iterator[tuple[Any, Any]]:
    """Each job and its result, in order. Ctrl-C ends the iteration in the running job (which
    then has no result); every result handed out before it stays the caller's."""
    for job in jobs:
        yield job, run(job)


__all__ = ["run_serial"]
