"""Batches of verification instances: the VNN-COMP ``instances.csv`` runner behind
``bvverify run-instances``, serial or on dask, resumable and safe to interrupt.

A batch is a list of :class:`~bvverify.batch.job.Job` (plain picklable data: model path,
property path, timeout, engine options); :func:`~bvverify.batch.runner.run_jobs` decides them
one at a time here or on a dask cluster and hands each :class:`~bvverify.batch.job.JobResult`
back as it comes. Only the process that runs the batch writes files, each one atomically
(:mod:`bvverify.batch.atomic`), so an interrupted batch never leaves a half-written result.
"""

from __future__ import annotations

from bvverify.batch.instances import Instance, InstancesError, read_instances
from bvverify.batch.job import Job, JobResult, run_job
from bvverify.batch.runner import run_jobs

__all__ = ["Instance", "InstancesError", "Job", "JobResult", "read_instances", "run_job", "run_jobs"]
