"""The results folder of a batch: per instance ``NAME.txt`` (the VNN-COMP result file) and
``NAME.json`` (what produced it: the job's key, verdict, seconds, reason or error message).

The JSON is written first and the result file last, each atomically, so a ``NAME.txt`` that
exists is whole and has its details beside it. An instance is *finished* when its result file
holds a verdict word (``error`` is run again on resume) and its JSON's key matches the job (a
result of another timeout, engine, or model or property content is stale and run again).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bvverify.batch.atomic import interrupts_deferred, remove_stale_temporaries, write_atomic
from bvverify.batch.instances import Instance
from bvverify.batch.job import DECIDED_WORDS, Job, JobResult
from bvverify.engines.config import EngineOptions
from bvverify.errors import BvverifyError


class ResultsDirError(BvverifyError, OSError):
    """The results folder cannot be created or written."""


def open_results_dir(path: str | Path) -> Path:
    """Create the folder if needed and remove temporaries a killed run left."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ResultsDirError(f"--results-dir {path}: cannot create it ({e.strerror or e})") from None
    remove_stale_temporaries(path)
    return path


def job_names(instances: Iterable[Instance]) -> list[str]:
    """A file name per instance: ``MODEL__PROPERTY`` (file stems), ``__lineN`` added when two rows
    would share one; the same CSV gives the same names, so a resumed run finds its results."""
    rows = list(instances)
    base = [_clean(f"{Path(i.model).stem}__{Path(i.prop).name.removesuffix('.gz').removesuffix('.vnnlib')}") for i in rows]
    return [b if base.count(b) == 1 else f"{b}__line{i.line}" for b, i in zip(base, rows)]


def make_jobs(instances: list[Instance], options: EngineOptions, threads: int | None = 1) -> list[Job]:
    """A job per instance, named by :func:`job_names`, with the sha256 of its files' content."""
    digests: dict[str, str] = {}
    return [Job(n, i.model, i.prop, i.timeout, options, threads, i.origin,
                _digest(digests, i.model, True) + ":" + _digest(digests, i.prop, False))
            for n, i in zip(job_names(instances), instances)]


def _digest(seen: dict[str, str], path: str, model: bool) -> str:
    """sha256 of a file (each read once), ``missing`` when it cannot be read (the job reports why)."""
    if path not in seen:
        from bvverify.bundled import resolve_model

        try:
            seen[path] = hashlib.sha256((resolve_model(path) if model else Path(path)).read_bytes()).hexdigest()
        except OSError:
            seen[path] = "missing"
    return seen[path]


def finished(folder: Path, job: Job) -> JobResult | None:
    """The stored result of ``job`` when it is finished and not stale, else None."""
    txt, meta = folder / f"{job.name}.txt", folder / f"{job.name}.json"
    try:
        text = txt.read_text(encoding="utf-8")
        doc = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    word = text.split("\n", 1)[0].strip()
    if word not in DECIDED_WORDS or doc.get("key") != job.key() or doc.get("word") != word:
        return None
    fields = {k: doc[k] for k in ("word", "status", "seconds", "engine", "reason", "message", "attempts") if k in doc}
    return JobResult(job.name, text=text, **fields)


def save(folder: Path, job: Job, result: JobResult) -> None:
    """Write the details, then the result file; Ctrl-C waits until both are written."""
    doc: dict[str, Any] = {"key": job.key(), **result.doc()}
    with interrupts_deferred():
        try:
            write_atomic(folder / f"{job.name}.json", json.dumps(doc, indent=1) + "\n")
            write_atomic(folder / f"{job.name}.txt", result.text)
        except OSError as e:
            raise ResultsDirError(f"{folder}: cannot write the result of {job.name} ({e.strerror or e})") from None


def _clean(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=+-]+", "_", name)


__all__ = ["ResultsDirError", "finished", "job_names", "make_jobs", "open_results_dir", "save"]
