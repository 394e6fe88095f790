"""The named suites: which queries each runs, on which model, and what was published about each.

A query is built lazily (the model is loaded, the property made, only when an engine still has
to decide it), so a resumed run that has nothing left to do loads nothing.
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from quantize_mnistfc import FOLDER as MNISTFC
from quantize_mnistfc import NETWORKS as MNISTFC_NETWORKS
from quantize_mnistfc import model_file

import bvverify
from bvverify.crosscheck.sources_qvip import MNIST_IMAGES, load_published, table3
from bvverify.crosscheck.sources_qvip import SUITES as T2
from bvverify.ir.graph import QNetwork
from bvverify.properties.robustness import argmax_lowest, load_data, robustness_property
from bvverify.properties.spec import Property

NAMES = ("qvip-t2", "qvip-t3-r2", "qvip-t3-r4", "digits", "mnistfc")
DECIDED = ("holds", "violated")
NO_ANSWER = "NA"
FLOAT_WORDS = {"holds": "holds", "unsat": "holds", "violated": "violated", "sat": "violated"}  # other words: no answer


@dataclass
class Model:
    """A model loaded once, on first use."""

    name: str
    load: Callable[[], QNetwork]
    _net: QNetwork | None = None

    @property
    def net(self) -> QNetwork:
        if self._net is None:
            self._net = self.load()
        return self._net


@dataclass
class Prepared:
    """A query ready for the engines, or the status it gets without them (a misclassified clean sample)."""

    prop: Property | None
    prefer: np.ndarray | None = None
    skip: tuple[str, str] | None = None  # (status, reason)


@dataclass
class Query:
    suite: str
    model: Model
    query: str  # sample index or property name
    eps: str
    prepare: Callable[[QNetwork], Prepared]
    published: str = ""  # holds | violated | NA | timeout | misclassified | conflict; "" = nothing published
    published_detail: str = ""

    @property
    def base(self) -> tuple[str, str, str, str]:
        return self.suite, self.model.name, self.query, self.eps


@dataclass
class SuiteDef:
    name: str
    title: str
    queries: list[Query]
    notes: list[str] = field(default_factory=list)
    published_source: str = ""  # what the published column is ("" = none)
    float_reference: bool = False  # the published verdicts are about a different (float) function


def limited(queries: list[Query], limit: int | None) -> list[Query]:
    """The first ``limit`` queries of each (model, eps) block, in the protocol's order."""
    if limit is None:
        return queries
    seen: Counter = Counter()
    out = []
    for q in queries:
        seen[(q.model.name, q.eps)] += 1
        if seen[(q.model.name, q.eps)] <= limit:
            out.append(q)
    return out


def robust_prepare(x: np.ndarray, label: int, eps: int, name: str) -> Callable[[QNetwork], Prepared]:
    """The L-infinity ball of ``eps`` input codes around ``x``; a clean input that is already misclassified
    (argmax with ties to the lowest index) gets no query, as in the QVIP / AAAI'21 protocol."""

    def prepare(net: QNetwork) -> Prepared:
        xs = np.asarray(x).reshape(net.input.shape)
        clean = argmax_lowest(net.evaluate((xs.astype(np.int64) if net.integer_input else xs)[None])[0])
        if clean != label:
            return Prepared(None, skip=("misclassified", f"clean prediction {clean}, label {label}"))
        prop = robustness_property(net, xs, label, eps, "codes", name=name)
        return Prepared(prop, None if net.integer_input else xs.astype(np.float64))

    return prepare


def reference(qvip: str | None, aaai: str | None) -> str:
    """One published verdict per Table 2 query: QVIP's when it decided, else AAAI'21's, else the best non-answer."""
    for v in (qvip, aaai):
        if v in DECIDED:
            return v  # type: ignore[return-value]
    if aaai == "misclassified":
        return "misclassified"
    return qvip or aaai or ""


def qvip_t2(bench: Path) -> SuiteDef:
    pub = load_published(bench)
    queries = []
    for suite in T2.values():
        model = Model(suite.alias, lambda s=suite: bvverify.load(bench / s.h5))
        xs, ys = load_data(bench / suite.images, 784)
        assert ys is not None
        for first, stop, eps in suite.blocks:
            for i in range(first, stop):
                p = pub.get((suite.dataset, i, eps), {})
                queries.append(Query("qvip-t2", model, str(i), str(eps),
                                     robust_prepare(xs[i].astype(np.int64), int(ys[i]), eps, f"{suite.alias}#{i}@{eps}"),
                                     reference(p.get("qvip"), p.get("aaai21")),
                                     f"qvip={p.get('qvip', '-')} aaai21={p.get('aaai21', '-')}"))
    return SuiteDef("qvip-t2", "QVIP Table 2 (= the AAAI'21 suite): P1-6 (MNIST) and P4-6 (Fashion-MNIST), eps 1-4 pixel codes",
                    queries, published_source="QVIP Table 2, else AAAI'21 where QVIP has no answer")


def qvip_t3(bench: Path, radius: int) -> SuiteDef:
    nets, notes = table3(bench, radius)
    xs, ys = load_data(bench / MNIST_IMAGES, 784)
    assert ys is not None
    queries = []
    for t in nets:
        model = Model(t.alias, lambda h5=t.h5: bvverify.load(bench / h5))
        for i in sorted(t.samples):
            verdict, secs = t.published[i]
            queries.append(Query(f"qvip-t3-r{radius}", model, str(i), str(radius),
                                 robust_prepare(xs[i].astype(np.int64), int(ys[i]), radius, f"{t.alias}#{i}@{radius}"),
                                 verdict, f"qvip={verdict}" + (f" ({secs:.3g} s)" if secs is not None else "")))
    return SuiteDef(f"qvip-t3-r{radius}", f"QVIP Table 3 at radius {radius}: P1/P2/P3 x Q in 4,6,8,10 on MNIST test "
                    f"images {100 * (radius - 1)}-{100 * (radius - 1) + 99}", queries, notes, "QVIP Table 3")


def digits() -> SuiteDef:
    from bvverify.bundled import resolve_model, test_images

    xs, ys = test_images()
    queries = []
    for name in ("digits-mlp", "digits-cnn"):
        model = Model(name, lambda n=name: bvverify.load(resolve_model(n)))
        for eps in (1, 2, 3):
            for i in range(len(xs)):
                queries.append(Query("digits", model, str(i), str(eps),
                                     robust_prepare(xs[i].astype(np.float64), int(ys[i]), eps, f"{name}#{i}@{eps}")))
    return SuiteDef("digits", f"the bundled digits models at eps 1, 2, 3 input codes on the {len(xs)} bundled test images",
                    queries, ["no published results for the bundled models"])


def outputs_are(net: QNetwork) -> str:
    """What a VNN-LIB file's Y_j are for this model: its dequantized outputs when the runtime dequantizes (the CLI's rule)."""
    return "dequantized" if net.meta.get("dequantized_output") and net.output.scale is not None else "codes"


def vnnlib_prepare(path: Path) -> Callable[[QNetwork], Prepared]:
    """A VNN-LIB property over the model's float inputs and (dequantized) float outputs; the box centre is preferred."""

    def prepare(net: QNetwork) -> Prepared:
        from bvverify.properties.vnnlib import read_vnnlib

        prop = read_vnnlib(path, int(np.prod(net.input.shape)), int(np.prod(net.output_shape)), outputs_are(net))
        return Prepared(prop, ((prop.lo + prop.hi) / 2).reshape(net.input.shape))

    return prepare


def float_verdicts(folder: Path) -> dict[tuple[str, str], dict[str, str]]:
    """(onnx file, vnnlib file) -> tool -> holds / violated / the tool's other word, from the VNN-COMP 2021 result CSVs."""
    out: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for f in sorted(folder.glob("*.csv")):
        with open(f, newline="") as fh:
            for row in csv.reader(fh):
                if len(row) >= 5:
                    word = row[4].strip()
                    out[(Path(row[1]).name, Path(row[2]).name)][f.stem] = FLOAT_WORDS.get(word.lower(), word or "empty")
    return out


def consensus(tools: dict[str, str]) -> tuple[str, str]:
    """(majority verdict of the tools that decided, or 'conflict' on a tie / 'NA' when none did; a one-line tally)."""
    decided = {t: w for t, w in tools.items() if w in DECIDED}
    tally = Counter(decided.values())
    if not tally:
        verdict = NO_ANSWER
    elif tally["holds"] == tally["violated"]:
        verdict = "conflict"
    else:
        verdict = tally.most_common(1)[0][0]
    parts = []
    for w in DECIDED:
        names = sorted(t for t, v in decided.items() if v == w)
        if names:
            minority = verdict in DECIDED and w != verdict
            parts.append(f"{w} {len(names)}" + (f" ({' '.join(names)})" if minority or verdict == "conflict" else ""))
    parts.append(f"no answer {len(tools) - len(decided)} of {len(tools)} tools")
    return verdict, ", ".join(parts)


def mnistfc(bench: Path, models: Path) -> SuiteDef:
    folder = bench / MNISTFC
    instances = folder / "mnistfc_instances.csv"
    if not instances.is_file():
        raise SystemExit(f"{instances}: not found (pass --benchmarks)")
    missing = [str(model_file(models, n)) for n in MNISTFC_NETWORKS if not model_file(models, n).is_file()]
    if missing:
        raise SystemExit(f"int8 mnistfc models not found: {', '.join(missing)}; make them with "
                         f"python scripts/bench/quantize_mnistfc.py --out {models} (and pass --models {models})")
    results = folder / "results_float_verifiers"
    published = float_verdicts(results) if results.is_dir() else {}
    notes = [] if published else [f"{results}: no published float verdicts in the benchmarks folder"]
    mods = {n: Model(n, lambda n=n: bvverify.load(model_file(models, n))) for n in MNISTFC_NETWORKS}
    queries = []
    with open(instances, newline="") as f:
        for row in csv.reader(f):
            if len(row) < 2 or not row[0].strip():
                continue
            onnx_name, vnnlib = Path(row[0].strip()).name, Path(row[1].strip()).name
            m = re.fullmatch(r"mnist-net_(\w+)\.onnx", onnx_name)
            e = re.fullmatch(r"prop_(\d+)_([0-9.]+)\.vnnlib", vnnlib)
            if m is None or e is None or m.group(1) not in mods:
                raise SystemExit(f"{instances}: unexpected instance {row[:2]}")
            verdict, detail = consensus(published[(onnx_name, vnnlib)]) if published else ("", "")
            queries.append(Query("mnistfc", mods[m.group(1)], Path(vnnlib).stem, e.group(2),
                                 vnnlib_prepare(folder / vnnlib), verdict, detail))
    queries.sort(key=lambda q: (MNISTFC_NETWORKS.index(q.model.name), float(q.eps), int(q.query.split("_")[1])))
    return SuiteDef("mnistfc", "VNN-COMP 2021 mnistfc: the float networks 256x2/4/6 quantized to int8 by PyTorch (fbgemm "
                    f"post-training static quantization, {models}), on their VNN-LIB properties", queries, notes,
                    "VNN-COMP 2021 float verifiers (majority of the tools that decided)" if published else "",
                    float_reference=bool(published))


def build(name: str, bench: Path, models: Path, limit: int | None) -> SuiteDef:
    if name != "digits" and not (bench / ("qvip22_data" if name.startswith("qvip") else MNISTFC)).is_dir():
        raise SystemExit(f"benchmark data not found at {bench} (pass --benchmarks or set BVVERIFY_BENCHMARKS)")
    if name == "qvip-t2":
        s = qvip_t2(bench)
    elif name.startswith("qvip-t3-r"):
        s = qvip_t3(bench, int(name.rsplit("r", 1)[1]))
    elif name == "digits":
        s = digits()
    elif name == "mnistfc":
        s = mnistfc(bench, models)
    else:
        raise SystemExit(f"unknown suite {name!r} (use one of {', '.join(NAMES)})")
    s.queries = limited(s.queries, limit)
    return s


__all__ = ["DECIDED", "NAMES", "Model", "Prepared", "Query", "SuiteDef", "build", "consensus", "float_verdicts", "limited",
           "outputs_are"]
