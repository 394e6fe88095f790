"""One ``verify`` call of the 2.0 standard: the query, its networks, a time limit -> the answer.

The answer's first line is ``sat``, ``unsat``, ``unknown`` or ``timed-out``; after ``sat`` comes
the satisfying assignment in the 2.0 command-line format (every declared tensor, in declaration
order: ``name type [dims]`` then one value a line, row-major). ``sat`` is printed only for a
counterexample the engines replayed through the reference interpreter (and a TorchScript
model's torch runtime) *and* that satisfies every assertion of the query when evaluated exactly
on the printed values; anything less is a bug (InternalError), never an answer. ``unsat`` comes
from an exact engine (or from input constraints that no input satisfies). A VNN-LIB 1 file is
read by the VNN-LIB 1 reader and answered the same way (its witness in the VNN-COMP format).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bvverify.engines.base import Verdict
from bvverify.engines.config import EngineOptions
from bvverify.engines.results import is_timeout
from bvverify.errors import InternalError
from bvverify.properties.vnnlib2 import is_vnnlib2, parse_vnnlib2, read_query_text
from bvverify.properties.vnnlib2_convert import Plan, Vnnlib2Unsupported, dequantizes, plan_query
from bvverify.vnnlib_standard.models import NetworkOptionError, is_onnx, load_network, match_networks

MARGIN = 0.3  # seconds kept back from --timeout for printing and exiting


@dataclass
class Outcome:
    """The answer: its first line ``word``, the assignment ``lines`` after it, the reason of an
    ``unknown`` (printed on stderr) and whether it is a refusal (outside the sound domain)."""

    word: str
    lines: list[str] = field(default_factory=list)
    reason: str = ""
    refused: bool = False
    verdict: Verdict | None = None
    notes: list[str] = field(default_factory=list)


def _word(v: Verdict) -> str:
    if v.status == "holds":
        return "unsat"
    if v.status == "violated":
        return "sat"
    return "timed-out" if v.stats.get("timed_out") or is_timeout(v.reason) else "unknown"


def _runtime(path_text: str, net):
    """The runtime of a TorchScript (torch) or ONNX (onnxruntime) model, for replay (None for other formats)."""
    from bvverify.bundled import resolve_model
    from bvverify.importers.torch import is_torchscript, torch_runtime

    path = resolve_model(path_text)
    if path.suffix in (".pt", ".pth") or is_torchscript(path):
        return torch_runtime(path, net.meta.get("engine") or "fbgemm", net)
    if path.is_file() and is_onnx(path):
        from bvverify.importers.onnx_runtime import onnx_runtime

        return onnx_runtime(path, net)
    return None


def run_verify(query: str | Path, networks: dict[str, str], timeout: float, engine: str = "auto",
               solver: str | None = None, seed: int = 0, started: float | None = None) -> Outcome:
    """Answer one query. ``networks``: declared name -> model file (or bundled name); ``timeout``
    counts from ``started`` (``time.monotonic()`` at process start; default now)."""
    deadline = (started if started is not None else time.monotonic()) + timeout - MARGIN
    text = read_query_text(query)
    if not is_vnnlib2(text):
        return _run_v1(query, networks, deadline, engine, solver, seed)
    try:
        q = parse_vnnlib2(text, str(query))
    except Vnnlib2Unsupported as e:
        return Outcome("unknown", reason=str(e), refused=True)
    files = match_networks(q, networks)
    try:
        nets = {d.name: load_network(files[d.name], d, q.source) for d in q.networks}
        plan = plan_query(q, nets)
    except Vnnlib2Unsupported as e:
        return Outcome("unknown", reason=str(e), refused=True)
    if plan.prop is None:
        return Outcome("unsat", reason=plan.empty, notes=q.notes)
    left = deadline - time.monotonic()
    if left <= 0.05:
        return Outcome("timed-out", reason=f"the {timeout:g} s limit was spent loading the query and its networks")
    if len(plan.sides) == 1:
        from bvverify.engines.registry import verify

        side = plan.sides[0]
        options = EngineOptions(engine, solver=solver, seed=seed)
        v = verify(side.net, plan.prop, options, left, _runtime(files[side.decl.name], side.net))
    else:
        from bvverify.engines.equiv import verify_equiv

        a, b = plan.sides
        options = EngineOptions(engine if engine in ("ilp", "bv") else "ilp", solver=solver, seed=seed)
        runtimes = (_runtime(files[a.decl.name], a.net), _runtime(files[b.decl.name], b.net))
        v = verify_equiv(a.net, b.net, plan.prop, options, left, runtimes)
    out = _answer(plan, v)
    out.notes = q.notes
    return out


def _answer(plan: Plan, v: Verdict) -> Outcome:
    word = _word(v)
    if word != "sat":
        return Outcome(word, reason=v.reason, verdict=v)
    c = v.counterexample
    if c is None:
        raise InternalError("a sat verdict without a counterexample")
    values = plan.values(c.codes, c.input, c.output, c.dequantized)
    if not plan.query.holds(values):
        raise InternalError(f"{plan.query.source}: the replayed counterexample does not satisfy the query's assertions "
                            "when evaluated exactly on the values to be printed")
    return Outcome("sat", plan.assignment(values), verdict=v)


def _run_v1(query: str | Path, networks: dict[str, str], deadline: float, engine: str, solver: str | None,
            seed: int) -> Outcome:
    """A VNN-LIB 1 file: one network under any name, variables X_i / Y_j."""
    from bvverify.bundled import resolve_model
    from bvverify.engines.registry import verify
    from bvverify.importers import load
    from bvverify.properties.vnnlib import read_vnnlib

    if len(networks) != 1:
        raise NetworkOptionError(f"{query}: a VNN-LIB 1 file describes one network: give exactly one --network NAME=FILE "
                                 f"(got {len(networks)})")
    path_text = next(iter(networks.values()))
    path = resolve_model(path_text)
    from bvverify.vnnlib_standard.models import onnx_interface

    if path.is_file() and is_onnx(path):
        _, _, ops = onnx_interface(path)
        from bvverify.vnnlib_standard.models import QUANT_OPS

        if not ops & QUANT_OPS:
            return Outcome("unknown", reason=f"{path}: a float ONNX network: outside bvverify's sound domain "
                                             "(quantized networks as their runtime computes them)", refused=True)
    net = load(path)
    over = "dequantized" if dequantizes(net) else "codes"
    prop = read_vnnlib(query, int(np.prod(net.input.shape)), int(np.prod(net.output_shape)), over)
    left = deadline - time.monotonic()
    if left <= 0.05:
        return Outcome("timed-out", reason="the time limit was spent loading the query and its network")
    v = verify(net, prop, EngineOptions(engine, solver=solver, seed=seed), left, _runtime(path_text, net))
    word = _word(v)
    if word != "sat":
        return Outcome(word, reason=v.reason, verdict=v)
    c = v.counterexample
    xs = np.asarray(c.input).ravel()
    ys = np.asarray(c.dequantized if over == "dequantized" else c.output).ravel()
    items = [f"(X_{i} {int(a) if net.integer_input else repr(float(a))})" for i, a in enumerate(xs)]
    items += [f"(Y_{j} {repr(float(b)) if over == 'dequantized' else int(b)})" for j, b in enumerate(ys)]
    return Outcome("sat", ["(" + "\n ".join(items) + ")"], verdict=v)


__all__ = ["Outcome", "run_verify"]
