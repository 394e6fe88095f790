"""One instance as plain data, and the function that decides it.

A :class:`Job` holds only paths, numbers and the frozen engine options, so it pickles to a
dask worker (no lambda, no loaded network); :func:`run_job` loads the model there, decides the
property and returns a :class:`JobResult` holding the VNN-COMP result file's text: the worker
writes nothing, the batch's own process writes every file. Any error of one instance (bad
file, unsupported model, a bug) becomes an ``error`` result with its message, never a crashed
batch; Ctrl-C (KeyboardInterrupt) is not caught: an interrupted instance has no result.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bvverify.engines.config import EngineOptions
from bvverify.errors import BvverifyError, InternalError

WORDS = ("unsat", "sat", "timeout", "unknown", "error")  # VNN-COMP result words (error: this instance failed)
DECIDED_WORDS = WORDS[:4]  # a result with one of these is finished; an error is run again on resume


@dataclass(frozen=True)
class Job:
    """What a worker needs to decide one instance. ``threads`` caps the solver's threads
    (``None``: the solver's default); ``origin`` (e.g. ``instances.csv, line 4``) starts every
    error message of the instance; ``content`` identifies the files' content for resuming."""

    name: str
    model: str
    prop: str
    timeout: float
    options: EngineOptions = field(default_factory=EngineOptions)
    threads: int | None = 1
    origin: str = ""
    content: str = ""  # sha256 of the model and property files (see store.make_jobs)

    def key(self) -> dict[str, Any]:
        """What makes a stored result this job's: a result stored under another key is stale (a
        model retrained in place has other content: its old verdicts are not reused)."""
        return {"model": self.model, "property": self.prop, "timeout": self.timeout, "options": asdict(self.options),
                "content": self.content}


@dataclass
class JobResult:
    """``word`` is the VNN-COMP result word; ``status`` the verdict (holds / violated / unknown) or
    ``error``; ``text`` the whole result file; ``message`` says what went wrong for an error."""

    name: str
    word: str
    status: str
    seconds: float
    engine: str = ""
    reason: str = ""
    message: str = ""
    text: str = ""
    attempts: int = 1

    def doc(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "text"}


def run_job(job: Job) -> JobResult:
    """Decide ``job``; every failure of this one instance is an ``error`` result."""
    t0 = time.perf_counter()
    try:
        limit_threads(job.threads, job.options.engine in ("auto", "attack"))
        return _decide(job)
    except InternalError as e:
        return _error(job, f"internal error (a bug in bvverify): {e}", t0)
    except BvverifyError as e:
        return _error(job, str(e), t0)
    except AssertionError as e:
        if "daemonic" in str(e):  # multiprocessing's refusal inside a daemonic dask worker: a setup problem
            return _error(job, f"{job.options.label} solves in a child process, and this dask worker is a daemonic "
                          "process, which cannot start one: start the workers with "
                          "DASK_DISTRIBUTED__WORKER__DAEMON=False (docs/batch.md)", t0)
        return _error(job, f"internal error (a bug in bvverify): {type(e).__name__}: {e}", t0)
    except Exception as e:  # one instance's bug must not end the batch; its message is kept
        return _error(job, f"internal error (a bug in bvverify): {type(e).__name__}: {e}", t0)


def _decide(job: Job) -> JobResult:
    import numpy as np

    from bvverify.engines.registry import verify
    from bvverify.engines.results import vnncomp_word
    from bvverify.properties.vnnlib import read_vnnlib

    net, runtime = _load(job.model)
    over = outputs_are(net)
    prop = read_vnnlib(job.prop, int(np.prod(net.input.shape)), int(np.prod(net.output_shape)), over)
    v = verify(net, prop, job.options, job.timeout, runtime)
    return JobResult(job.name, vnncomp_word(v), v.status, round(v.seconds, 4), v.engine, v.reason,
                     text=result_text(v, net.integer_input, over))


def _error(job: Job, message: str, t0: float) -> JobResult:
    return JobResult(job.name, "error", "error", round(time.perf_counter() - t0, 4), job.options.label,
                     message=f"{job.origin}: {message}" if job.origin else message, text="error\n")


def outputs_are(net: Any) -> str:
    """How a property's ``Y_j`` are read: the runtime's dequantized floats or the output codes
    (the same rule as the CLI's ``verify``)."""
    return "dequantized" if net.meta.get("dequantized_output") and net.output.scale is not None else "codes"


def result_text(v: Any, integer_input: bool, over: str) -> str:
    """The VNN-COMP result file of ``v`` as text, written by the library's one writer."""
    from bvverify.engines.results import write_vnncomp_result

    with tempfile.TemporaryDirectory(prefix="bvverify-result-") as d:
        p = Path(d) / "result.txt"
        write_vnncomp_result(p, v, integer_input, over)
        return p.read_text(encoding="utf-8")


_LOADED: dict[tuple[str, float], tuple[Any, Any]] = {}  # per process: a worker decides many instances of one model


def _load(model: str) -> tuple[Any, Any]:
    """The network and, for a TorchScript file this machine can run, torch as the replay runtime."""
    from bvverify.bundled import resolve_model
    from bvverify.importers import load

    path = resolve_model(model)
    stamp = (str(path.resolve()), path.stat().st_mtime if path.exists() else 0.0)
    if stamp not in _LOADED:
        net = load(path)
        runtime = None
        from bvverify.importers.torch import is_torchscript, torch_runtime

        if path.suffix in (".pt", ".pth") or is_torchscript(path):
            runtime = torch_runtime(path, net.meta.get("engine") or "fbgemm", net)
        if len(_LOADED) >= 8:
            _LOADED.clear()
        _LOADED[stamp] = (net, runtime)
    return _LOADED[stamp]


def limit_threads(threads: int | None, uses_torch: bool) -> None:
    """One solver thread per instance when asked: the same search whatever else runs beside it
    (CP-SAT's parallel portfolio finds different counterexamples with different thread counts),
    and no oversubscription when several workers share the cores. The attack runs on torch."""
    if threads is None:
        return
    os.environ["BVVERIFY_SOLVER_THREADS"] = str(threads)
    if uses_torch or "torch" in sys.modules:
        import torch

        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


__all__ = ["DECIDED_WORDS", "WORDS", "Job", "JobResult", "limit_threads", "outputs_are", "result_text", "run_job"]
