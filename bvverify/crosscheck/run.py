"""The cross-check loop: per claim, replay their witness, decide the query here, classify, and
for a contradiction write its evidence and re-check it on the second path. Rows go to a CSV the
moment they are decided; a re-run skips the keys already there (rows with ``error`` are re-run)."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bvverify.crosscheck import classify as kinds
from bvverify.crosscheck.claims import Claim, CrosscheckDataError
from bvverify.crosscheck.evidence import stem, write_json, write_png, write_witness
from bvverify.crosscheck.replay_theirs import replay_theirs
from bvverify.crosscheck.second_path import REFUTED, confirm
from bvverify.engines.config import EngineOptions
from bvverify.errors import BvverifyError, InternalError
from bvverify.ir.graph import QNetwork
from bvverify.properties.spec import Property

FIELDS = ("key", "source", "network", "query", "eps", "theirs", "their_detail", "their_witness", "ours", "our_seconds",
          "our_reason", "kind", "evidence", "second_path", "second_detail")
CSV_NAME = "crosscheck.csv"


@dataclass
class Loaded:
    net: QNetwork
    runtime: Any
    samples: dict[str, tuple[np.ndarray, np.ndarray | None]] = field(default_factory=dict)


class Runner:
    """Checks claims one by one; models are loaded once, and a query asked by two sources is decided once."""

    def __init__(self, out: Path, timeout: float, options: EngineOptions | None = None) -> None:
        self.out, self.timeout, self.options = out, timeout, options or EngineOptions()
        self.models: dict[str, Loaded] = {}
        self.decided: dict[tuple, Any] = {}

    def model(self, name: str) -> Loaded:
        if name not in self.models:
            import bvverify
            from bvverify.bundled import resolve_model
            from bvverify.importers.torch import is_torchscript, torch_runtime

            path = resolve_model(name)
            if not path.exists():
                raise CrosscheckDataError(f"{name}: no such model file")
            net = bvverify.load(path)
            runtime = torch_runtime(path, str(net.meta.get("engine") or "fbgemm"), net) if (
                path.suffix in (".pt", ".pth") or is_torchscript(path)) else None
            self.models[name] = Loaded(net, runtime)
        return self.models[name]

    def sample(self, c: Claim, m: Loaded) -> None:
        """Fill ``c.x`` / ``c.label`` of a plain-CSV sample from its data file (or the bundled images)."""
        if c.x is not None or not c.data:
            return
        if c.data not in m.samples:
            if c.data == "bundled":
                from bvverify.bundled import test_images

                xs, ys = test_images()
                m.samples[c.data] = (xs.reshape(len(xs), -1).astype(np.float64), ys)
            else:
                from bvverify.properties.robustness import load_data

                m.samples[c.data] = load_data(c.data, int(np.prod(m.net.input.shape)))
        xs, ys = m.samples[c.data]
        i = int(c.query)
        if not 0 <= i < len(xs) or ys is None:
            raise CrosscheckDataError(f"{c.data}: no labelled sample {i} ({len(xs)} samples)")
        c.x, c.label = xs[i], int(ys[i])

    def prepare(self, c: Claim, m: Loaded) -> tuple[Property | None, np.ndarray | None, str]:
        """(property, preferred input, '' or why there is no query)."""
        from bvverify.properties.robustness import argmax_lowest, robustness_property

        net = m.net
        if c.vnnlib is not None:
            from bvverify.properties.vnnlib import read_vnnlib

            over = "dequantized" if net.meta.get("dequantized_output") and net.output.scale is not None else "codes"
            prop = read_vnnlib(c.vnnlib, int(np.prod(net.input.shape)), int(np.prod(net.output_shape)), over)
            return prop, ((prop.lo + prop.hi) / 2).reshape(net.input.shape), ""
        self.sample(c, m)
        if c.x is None or c.label is None:
            raise CrosscheckDataError(f"{c.key}: neither a property file nor a sample")
        x = np.asarray(c.x).reshape(net.input.shape)
        clean = argmax_lowest(net.evaluate((x.astype(np.int64) if net.integer_input else x)[None])[0])
        if clean != c.label:
            return None, None, f"clean prediction {clean}, label {c.label}"
        prop = robustness_property(net, x, c.label, float(c.eps), "codes", name=c.key)
        return prop, (None if net.integer_input else x.astype(np.float64)), ""

    def check(self, c: Claim) -> dict[str, Any]:
        row: dict[str, Any] = {f: "" for f in FIELDS}
        row.update(key=c.key, source=c.source, network=c.network, query=c.query, eps=c.eps, theirs=c.verdict,
                   their_detail=c.detail)
        try:
            self._check(c, row)
        except InternalError:
            raise
        except BvverifyError as e:
            row.update(kind=kinds.ERROR, our_reason=str(e))
        return row

    def _check(self, c: Claim, row: dict[str, Any]) -> None:
        from bvverify.engines.registry import verify

        m = self.model(c.model)
        prop, prefer, skip = self.prepare(c, m)
        if prop is None:
            if c.verdict != "none":  # the protocol gives a misclassified sample no verdict: which sample did they run?
                skip += f"; yet they answered {c.verdict}: their sample mapping is suspect"
            row.update(kind=kinds.SKIPPED, ours="misclassified", our_reason=skip)
            return
        theirs = None
        if c.witness is not None:
            theirs = replay_theirs(m.net, prop, c.witness, m.runtime)
            row["their_witness"] = theirs.reason
        qkey = (c.model, c.query, c.eps, str(c.vnnlib), c.data)
        v = self.decided.get(qkey)
        if v is None:
            v = verify(m.net, prop, self.options, self.timeout, m.runtime, prefer)
            self.decided[qkey] = v
        row.update(ours=v.status, our_seconds=f"{v.seconds:.3f}", our_reason=v.reason)
        kind = kinds.classify(c.verdict, None if theirs is None else theirs.replays, v.status)
        row["kind"] = kind
        if kind not in kinds.CONTRADICTIONS:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        base = self.out / "evidence" / stem(c)
        base.parent.mkdir(parents=True, exist_ok=True)
        files = []
        witness = None
        if kind == kinds.HOLDS_BUT_WITNESS and v.counterexample is not None:
            witness = np.asarray(v.counterexample.input, dtype=np.float64).ravel()
            write_witness(named(base, ".witness.txt"), witness, v.counterexample.output, m.net.integer_input)
            files.append(named(base, ".witness.txt").name)
        elif kind == kinds.WITNESS_FAILS and c.witness is not None:
            witness = np.asarray(c.witness, dtype=np.float64).ravel()
            write_witness(named(base, ".their-witness.txt"), witness, (theirs.output if theirs else None) or [],
                          m.net.integer_input)
            files.append(named(base, ".their-witness.txt").name)
        second = confirm(kind, c, m.net, prop, witness, max(self.timeout, 30.0))
        row.update(second_path=second.status, second_detail=second.detail)
        centre = np.asarray(c.x if c.x is not None else (prop.lo + prop.hi) / 2, dtype=np.float64)
        shape = (1, *m.net.input.shape)
        outs = [m.net.evaluate((a.astype(np.int64) if m.net.integer_input else a).reshape(shape))[0].ravel()
                for a in (centre, witness)] if witness is not None else []
        if witness is not None and write_png(named(base, ".png"), centre.reshape(m.net.input.shape), witness,
                                             f"{c.key}: {kinds.MEANING[kind]}", c.label, outs[0], outs[1]):
            files.append(named(base, ".png").name)
        from bvverify.engines.results import verdict_doc

        write_json(named(base, ".json"), {"claim": c.key, "kind": kind, "meaning": kinds.MEANING[kind],
                                          "theirs": c.verdict, "their_detail": c.detail,
                                          "their_witness": row["their_witness"], "ours": verdict_doc(v),
                                          "second_path": second.status, "second_detail": second.detail})
        files.append(named(base, ".json").name)
        row["evidence"] = " ".join(files)


def named(base: Path, suffix: str) -> Path:
    """``base`` + ``suffix`` (not ``with_suffix``: a key such as ``...eps0.01`` has dots of its own)."""
    return base.parent / (base.name + suffix)


def done_keys(path: Path) -> dict[str, dict[str, str]]:
    """Rows already in the CSV (a torn last line is cut off first); rows with ``error`` are left to re-run."""
    if not path.is_file():
        return {}
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if rows and list(rows[0].keys()) != list(FIELDS):
        raise CrosscheckDataError(f"{path}, line 1: not a crosscheck CSV (columns {', '.join(FIELDS)})")
    return {r["key"]: r for r in rows if r["kind"] != kinds.ERROR}


def run(claims: list[Claim], runner: Runner, on_row: Callable[[dict[str, Any], bool], None] | None = None
        ) -> list[dict[str, Any]]:
    """Every claim's row (earlier rows from the CSV as they were); new rows are appended and flushed as they finish."""
    runner.out.mkdir(parents=True, exist_ok=True)
    path = runner.out / CSV_NAME
    done = done_keys(path)
    new_file = not path.is_file() or path.stat().st_size == 0
    rows = []
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        if new_file:
            w.writeheader()
        for c in claims:
            if c.key in done:
                rows.append(done[c.key])
                if on_row:
                    on_row(done[c.key], True)
                continue
            row = runner.check(c)
            w.writerow(row)
            f.flush()
            rows.append(row)
            if on_row:
                on_row(row, False)
    return rows


def table(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts per kind, overall and per (source, network), and the second path's tally."""
    per: dict[str, Counter] = {}
    for r in rows:
        per.setdefault(f"{r['source']} {r['network']}", Counter())[r["kind"]] += 1
    total = Counter(r["kind"] for r in rows)
    second = Counter(r["second_path"] for r in rows if r["kind"] in kinds.CONTRADICTIONS)
    return {"queries": len(rows), "counts": {k: total[k] for k in kinds.KINDS}, "second_path": dict(second),
            "by_network": {k: {kk: v[kk] for kk in kinds.KINDS if v[kk]} for k, v in per.items()},
            "refuted": [r["key"] for r in rows if r["second_path"] == REFUTED],
            "mapping_suspect": [r["key"] for r in rows if r["kind"] == kinds.SKIPPED and "mapping is suspect" in r["our_reason"]]}


__all__ = ["CSV_NAME", "FIELDS", "Runner", "done_keys", "run", "table"]
