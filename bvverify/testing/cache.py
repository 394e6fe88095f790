"""A proof cache for test suites: decided verdicts on disk, keyed by what decides them.

A CI run re-proves every query on every push; most models did not change. The cache keeps
each *decided* verdict (``holds``, or ``violated`` with its witness) in a directory, under
a sha256 of: the networks' content hashes (:func:`~bvverify.testing.models.network_fingerprint`),
the query (input box and its units, the exact output condition), the engine options and the
bvverify version. A changed weight, target, box, condition, engine or release is a new key,
so it misses. ``unknown`` is never stored: a longer timeout, or a faster machine, may decide it.

What a hit is worth: a cached ``violated`` is replayed through the reference interpreter (and
the model's torch runtime, when there is one) before it is returned, so a stale or edited
witness is rejected (then deleted and the query re-proved). A cached ``holds`` cannot be
re-checked cheaply: it is trusted as the file says, like the test code next to it. Keep the
directory out of version control and out of reach of anything you would not let edit tests.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import bvverify
from bvverify.engines.base import Runtime, Verdict, replay
from bvverify.engines.config import EngineOptions
from bvverify.errors import BvverifyError, InternalError
from bvverify.ir.graph import QNetwork
from bvverify.properties.spec import Property

FORMAT = 1  # layout of an entry; a new layout is a new key, never a misread entry
DEFAULT_DIR = ".bvverify-cache"


def property_doc(prop: Property) -> dict[str, Any]:
    """The query part of a key: exact bounds (float64 bytes as hex), units, and the output
    condition with its rational coefficients written exactly."""
    lo, hi = np.asarray(prop.lo, np.float64), np.asarray(prop.hi, np.float64)
    return {
        "shape": list(lo.shape), "lo": lo.tobytes().hex(), "hi": hi.tobytes().hex(), "units": prop.units,
        "over": prop.output.over,
        "clauses": [[[[[j, str(c)] for j, c in a.terms], str(a.rhs), a.strict] for a in clause]
                    for clause in prop.output.clauses],
    }


def query_key(kind: str, fingerprints: list[str], prop: Property, options: EngineOptions,
              extra: dict[str, Any] | None = None) -> str:
    """sha256 of everything a decided verdict depends on (see the module docstring)."""
    doc = {"format": FORMAT, "bvverify": bvverify.__version__, "kind": kind, "models": fingerprints,
           "property": property_doc(prop), "options": dataclasses.asdict(options), "extra": extra or {}}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _plain(v: Any) -> Any:
    """JSON-safe copy of engine stats (numpy scalars and arrays become numbers and lists)."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


class CacheEntryError(BvverifyError, ValueError):
    """A cache file that is not an entry of this cache (another format, another key, undecided)."""


@dataclasses.dataclass
class CacheStats:
    hits: int = 0  # verdicts returned from disk (a violated one only after its replay)
    misses: int = 0  # queries the engines decided (or left unknown)
    stored: int = 0
    rejected: int = 0  # entries whose witness did not replay, or that could not be read: deleted


class ProofCache:
    """Decided verdicts in ``directory`` (``None``: a cache that never hits and never stores)."""

    def __init__(self, directory: str | Path | None) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.stats = CacheStats()
        self.last_rejection = ""  # why the last rejected entry was rejected (for messages and tests)

    @property
    def enabled(self) -> bool:
        return self.directory is not None

    def path(self, key: str) -> Path:
        if self.directory is None:
            raise InternalError("a disabled proof cache has no entry paths")
        return self.directory / key[:2] / f"{key}.json"

    def clear(self) -> int:
        """Delete every entry; returns how many there were."""
        if self.directory is None or not self.directory.is_dir():
            return 0
        n = 0
        for p in self.directory.glob("*/*.json"):
            p.unlink(missing_ok=True)
            n += 1
        return n

    def decide(self, key: str, net: QNetwork, prop: Property, run: Callable[[], Verdict], *,
               runtime: Runtime | None = None, prefer: np.ndarray | None = None, note: str = "") -> Verdict:
        """The cached verdict of ``key`` if there is a trustworthy one, else ``run()`` (stored when decided).

        ``net`` and ``prop`` are what a cached witness is replayed on (for a two-model query: the
        product network and the disagreement property). ``note`` is a human line kept in the entry."""
        hit = self.lookup(key, net, prop, runtime=runtime, prefer=prefer)
        if hit is not None:
            return hit
        self.stats.misses += 1
        v = run()
        v.stats.setdefault("cache", "miss" if self.enabled else "off")
        self.store(key, v, note)
        return v

    def lookup(self, key: str, net: QNetwork, prop: Property, *, runtime: Runtime | None = None,
               prefer: np.ndarray | None = None) -> Verdict | None:
        if self.directory is None:
            return None
        p = self.path(key)
        if not p.is_file():
            return None
        t0 = time.perf_counter()
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
            if doc.get("format") != FORMAT or doc.get("key") != key or doc["status"] not in ("holds", "violated"):
                raise CacheEntryError("not an entry of this cache")
            stats = dict(doc.get("stats") or {}, cache="hit", proved_seconds=doc.get("seconds"),
                         cached_at=doc.get("created"))
            cex = None
            if doc["status"] == "violated":
                w = doc["counterexample"]
                stored = np.asarray(w["input"], np.float64) if w.get("input") is not None else None
                # the replay checks the codes lie in the box and violate the condition, bit for bit
                cex = replay(net, prop, np.asarray(w["codes"], np.int64), runtime, prefer if prefer is not None else stored)
            v = Verdict(doc["status"], doc.get("engine", "?"), time.perf_counter() - t0, doc.get("reason", ""), cex, stats)
        except (BvverifyError, ValueError, KeyError, TypeError, OSError) as e:  # ReplayError is a BvverifyError
            self.stats.rejected += 1
            p.unlink(missing_ok=True)
            self.last_rejection = f"{p.name}: {type(e).__name__}: {e}"
            return None
        self.stats.hits += 1
        return v

    def store(self, key: str, v: Verdict, note: str = "") -> bool:
        """Write a decided verdict; ``unknown`` is never written. Atomic (concurrent workers are safe)."""
        if self.directory is None or v.status not in ("holds", "violated"):
            return False
        doc: dict[str, Any] = {"format": FORMAT, "key": key, "status": v.status, "engine": v.engine,
                               "seconds": v.seconds, "reason": v.reason, "note": note,
                               "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                               "stats": _plain({k: x for k, x in v.stats.items() if k != "cache"}),
                               "counterexample": None}
        c = v.counterexample
        if c is not None:
            doc["counterexample"] = {"codes": np.asarray(c.codes).tolist(), "input": np.asarray(c.input).tolist(),
                                     "output": np.asarray(c.output).tolist(), "replayed_by": list(c.replayed_by)}
        p = self.path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        ignore = self.directory / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# written by bvverify.testing: proof cache entries, not sources\n*\n")
        fd, tmp = tempfile.mkstemp(dir=p.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f)
        os.replace(tmp, p)
        self.stats.stored += 1
        return True


__all__ = ["DEFAULT_DIR", "CacheStats", "ProofCache", "property_doc", "query_key"]
