"""The runtime self-check: the interpreter against torch on this machine, layer by layer.

A model imported from torch for the host target is run through torch and through the
reference interpreter on a few thousand inputs (random codes, half-code ties of the
input quantizer, the box corners). Every quantized tensor torch computes is compared
with the IR tensor that models it, so a disagreement names the first layer that
differs. A silent semantic drift (a new torch release, a kernel the importer does not
know, a wrong target) becomes a clear refusal instead of a wrong verdict.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bvverify.errors import BvverifyError, InternalError
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork


class RuntimeMismatchError(BvverifyError, ValueError):
    """The interpreter computes other integers than torch does on this machine."""


@dataclass
class CheckReport:
    """Counts of one self-check run; ``first_layer`` is None when everything agreed."""

    target: str
    inputs: int
    outputs: int
    mismatches: int
    seconds: float
    layers: list[dict[str, Any]] = field(default_factory=list)  # per probed IR tensor: name, op, compared, mismatches
    first_layer: str | None = None
    example: str = ""

    @property
    def ok(self) -> bool:
        return self.mismatches == 0 and self.first_layer is None

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "inputs": self.inputs, "outputs": self.outputs, "mismatches": self.mismatches,
                "seconds": round(self.seconds, 4), "first_layer": self.first_layer, "example": self.example,
                "layers": self.layers}


def check_inputs(net: QNetwork, n: int, seed: int = 0) -> np.ndarray:
    """``n`` float inputs: dequantized random codes, half-code ties, and box corners."""
    qz = net.input.quantizer
    if qz is None:
        raise InternalError("the self-check needs a float-input model")
    rng = np.random.default_rng(seed)
    shape = tuple(net.input.shape)
    lo, hi = net.input.lo, net.input.hi
    codes = rng.integers(lo, hi + 1, size=(n,) + shape).astype(np.float64)
    k = n // 8
    codes[:k] = rng.choice([lo, hi], size=(k,) + shape)  # corners of the code box
    if n > 2:
        codes[0], codes[1] = lo, hi
    half = rng.random((n,) + shape) < 0.3
    codes[k:] += np.where(half[k:], 0.5, 0.0)  # exact ties of the input quantizer (before float32 rounding)
    x = np.float32(qz.scale) * (codes - qz.zero_point)
    wide = rng.random((n,) + shape) < 0.02  # a few far outside the range: saturation of the input quantizer
    x = np.where(wide, x * 4.0, x)
    return x.astype(np.float32)


def _probe_function(module: Any, probes: list[tuple[str, int, str]]):
    """A TorchScript function returning every probed value of the module's inlined graph."""
    import torch

    g = module.inlined_graph.copy()  # the module's own graph stays as it is
    nodes = list(g.nodes())
    values = {i: n.output() for i, n in enumerate(nodes) if n.outputsSize() == 1}
    none = g.insertConstant(None)
    none.node().moveBefore(nodes[0])
    want = []
    for p in probes:
        if p[1] not in values:
            continue
        v = values[p[1]]
        copy = g.create("aten::clone", [v, none])  # a later in-place op (relu_) must not change what we compare
        copy.output().setType(v.type())
        copy.insertAfter(v.node())
        want.append(copy.output())
    while len(list(g.outputs())):
        g.eraseOutput(0)
    tup = g.create("prim::TupleConstruct", want)
    tup.output().setType(torch._C.TupleType([w.type() for w in want]))
    g.appendNode(tup)
    g.registerOutput(tup.output())
    fn = torch._C._create_function_from_graph("bvverify_probe", g)
    kept = [p for p in probes if p[1] in values]
    return (lambda x: fn(module._c, x)), kept


@contextmanager
def pinned(engine: str) -> Iterator[None]:
    """torch on ``engine`` with one thread (quantized add depends on the thread count), no grad."""
    import torch

    prev, threads = torch.backends.quantized.engine, torch.get_num_threads()
    try:
        torch.backends.quantized.engine = engine
        torch.set_num_threads(1)
        with torch.no_grad():
            yield
    finally:
        torch.backends.quantized.engine = prev
        torch.set_num_threads(threads)


def load_module(path: str | Path, engine: str) -> Any:
    """``torch.jit.load`` with ``engine`` selected: packed weights are re-packed at load time
    for the engine selected *then* (an x86-engine load packs convs for oneDNN, whatever engine
    runs them later), so loading under another engine runs other kernels."""
    import torch

    with pinned(engine):
        return torch.jit.load(str(path), map_location="cpu")


def run_torch(engine: str, x: np.ndarray, fn: Any) -> tuple:
    """Run ``fn`` (the probe function) on float inputs under ``engine``."""
    import torch

    with pinned(engine):
        return fn(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))


def self_check(module: Any, net: QNetwork, n: int = 2000, seed: int = 0, batch: int | None = None) -> CheckReport:
    """Compare every probed layer of ``net`` with torch on ``n`` inputs.

    ``batch`` samples go to torch per call. By default one call takes them all, except for
    a model with torch's fbgemm / x86 add, whose scalar tail moves with the batch: it is
    run one sample at a time, the deployed call the interpreter models."""
    t0 = time.perf_counter()
    fn, probes = _probe_function(module, [tuple(p) for p in net.meta.get("torch_probes") or []])
    if batch is None:
        per_sample = any(isinstance(nd, ops.Add) and nd.rule in ("torch_fbgemm", "torch_x86") for nd in net.nodes)
        batch = 1 if per_sample else max(n, 1)
    engine = net.meta.get("engine", "fbgemm")
    x = check_inputs(net, n, seed)
    codes = net.quantize_input(x)
    values = net.evaluate_codes(codes, keep=tuple(p[0] for p in probes if p[0] != "input"))
    values["input"] = codes  # type: ignore[index]
    per: dict[str, dict[str, Any]] = {p[0]: {"tensor": p[0], "op": p[2], "compared": 0, "mismatches": 0} for p in probes}
    first_bad: tuple[int, int, str] | None = None  # (layer order, sample, tensor)
    order = {p[0]: i for i, p in enumerate(probes)}
    for start in range(0, n, batch):
        xb = x[start : start + batch]
        outs = run_torch(engine, xb, fn)
        for (name, _, _), t in zip(probes, outs):
            got = np.asarray(values[name][start : start + batch]).reshape(len(xb), -1)
            want = t.int_repr().numpy().astype(np.int64).reshape(len(xb), -1) if t.is_quantized else None
            if want is None or want.shape != got.shape:
                continue
            bad = np.nonzero((want != got).any(axis=1))[0]
            per[name]["compared"] += want.size
            per[name]["mismatches"] += int((want != got).sum())
            if len(bad) and (first_bad is None or order[name] < first_bad[0]):
                i = int(bad[0])
                j = int(np.nonzero(want[i] != got[i])[0][0])
                first_bad = (order[name], start + i, f"element {j}: torch {int(want[i, j])}, interpreter {int(got[i, j])}")
    out_name = net.output.name
    layers = list(per.values())
    report = CheckReport(str(net.meta.get("target", "?")), n, per.get(out_name, {}).get("compared", 0),
                         per.get(out_name, {}).get("mismatches", 0), time.perf_counter() - t0, layers)
    if first_bad is not None:
        p = probes[first_bad[0]]
        report.first_layer = f"{p[0]} ({p[2]})"
        report.example = f"input #{first_bad[1]}, {first_bad[2]}"
    return report


def require_agreement(report: CheckReport, source: str) -> None:
    """Refuse the model by name when the self-check found a difference."""
    if report.ok:
        return
    raise RuntimeMismatchError(
        f"{source}: the reference interpreter disagrees with torch on this machine (target {report.target}) "
        f"from layer {report.first_layer} on: {report.mismatches} of {report.outputs} output codes differ over "
        f"{report.inputs} inputs ({report.example}). bvverify refuses to verify a network other than the one that "
        "runs; `bvverify inspect MODEL --check N` prints the per-layer counts")




__all__ = ["CheckReport", "RuntimeMismatchError", "check_inputs", "require_agreement", "run_torch",
           "self_check"]
