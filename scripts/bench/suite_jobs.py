"""One (query, engine) pair of a suite as plain data, and the function that decides it, here or on a dask worker.

Why plain data: a suite's queries hold closures and loaded networks, which do not pickle; a
:class:`SuiteJob` names its query instead (suite, benchmarks folder, model, query, eps), and the
process that runs it builds the suite once and keeps it (with its loaded models) for the next job.
The worker writes nothing: :func:`run_suite_job` returns the row's verdict fields and the witness
as text, and the suite's own process appends the row and writes the witness file, so the CSV has
one writer whatever runs the queries. The same function runs the serial suite in this process
(its suite handed over with :func:`remember`), so serial and dask rows come from the same code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from suite_defs import DECIDED, Prepared, Query, SuiteDef, build

from bvverify.batch.job import limit_threads, result_text
from bvverify.engines.config import EngineOptions
from bvverify.engines.registry import verify

Base = tuple[str, str, str, str]  # suite, model, query, eps
MODULES = ("quantize_mnistfc", "suite_defs", "suite_jobs")  # what a worker imports to run a job, in import order


@dataclass(frozen=True)
class SuiteJob:
    """What a worker needs to decide one (query, engine) pair. ``threads`` caps the solver's and
    torch's threads (``None``: their defaults, as the serial suite always ran)."""

    name: str
    suite: str
    benchmarks: str
    models: str
    model: str
    query: str
    eps: str
    engine: str  # the spec as given (the CSV's engine column)
    options: EngineOptions
    timeout: float
    threads: int | None = None

    @property
    def base(self) -> Base:
        return self.suite, self.model, self.query, self.eps


@dataclass
class SuiteResult:
    """The verdict columns of the row (exactly those the serial suite set) and, for a ``violated``
    verdict, the replayed counterexample as a VNN-COMP result file's text."""

    fields: dict[str, str]
    witness: str = ""
    attempts: int = 1


_SUITES: dict[tuple[str, str, str], dict[Base, Query]] = {}  # per process: a worker runs many queries of one suite
_PREPARED: dict[Base, Prepared] = {}  # the last query prepared: its other engines reuse it


def remember(suite: SuiteDef, benchmarks: Path, models: Path) -> None:
    """Hand this process's suite (its models already loaded or not) to the jobs run here."""
    _SUITES[(suite.name, str(benchmarks), str(models))] = {q.base: q for q in suite.queries}


def lookup(job: SuiteJob) -> Query:
    """The job's query, from the suite this process built (or builds now, whole: no --limit)."""
    where = (job.suite, job.benchmarks, job.models)
    if where not in _SUITES or job.base not in _SUITES[where]:
        try:
            suite = build(job.suite, Path(job.benchmarks), Path(job.models), None)
        except SystemExit as e:  # build's user-facing refusal; on a worker it is this job's error
            raise RuntimeError(f"suite {job.suite} on this worker: {e}") from None
        _SUITES[where] = {q.base: q for q in suite.queries}
    try:
        return _SUITES[where][job.base]
    except KeyError:
        raise RuntimeError(f"suite {job.suite} has no query {job.model} #{job.query} eps {job.eps}") from None


def prepare(q: Query) -> Prepared:
    if q.base not in _PREPARED:
        _PREPARED.clear()
        _PREPARED[q.base] = q.prepare(q.model.net)
    return _PREPARED[q.base]


def run_suite_job(job: SuiteJob) -> SuiteResult:
    """Decide the job's query with its engine. An engine that raises, or a query that cannot be
    built here (model file missing on this worker...), is an ``error`` row, tried again on resume."""
    limit_threads(job.threads, job.options.engine in ("auto", "attack"))
    t0 = time.perf_counter()
    try:
        q = lookup(job)
        prepared = prepare(q)
    except Exception as e:
        return SuiteResult({"status": "error", "seconds": f"{time.perf_counter() - t0:.3f}",
                            "reason": f"{type(e).__name__}: {e}"})
    if prepared.skip is not None:
        return SuiteResult({"status": prepared.skip[0], "seconds": "0", "reason": prepared.skip[1]})
    assert prepared.prop is not None
    net = q.model.net
    t0 = time.perf_counter()
    try:
        v = verify(net, prepared.prop, job.options, job.timeout, runtime=None, prefer=prepared.prefer)
    except Exception as e:  # an engine that raises is a bug to report, not the end of a long run
        return SuiteResult({"status": "error", "seconds": f"{time.perf_counter() - t0:.3f}",
                            "reason": f"{type(e).__name__}: {e}"})
    fields = {"status": v.status, "seconds": f"{time.perf_counter() - t0:.3f}", "reason": v.reason,
              "timed_out": "1" if v.stats.get("timed_out") else "0",
              "decided_by": str(v.stats.get("decided_by", "") if v.status in DECIDED else "")}
    witness = result_text(v, net.integer_input, prepared.prop.output.over) if v.counterexample is not None else ""
    return SuiteResult(fields, witness)


def lost(job: SuiteJob, message: str) -> SuiteResult:
    """The row of a job whose worker died twice: an ``error``, so a resumed run tries it again."""
    return SuiteResult({"status": "error", "seconds": "0", "reason": message}, attempts=2)


__all__ = ["MODULES", "SuiteJob", "SuiteResult", "lookup", "lost", "remember", "run_suite_job"]
