"""Verdicts and counterexample replay, shared by every engine.

A ``violated`` verdict exists only with a counterexample that the reference
interpreter (and the real runtime, when one is attached) has replayed and
confirmed; a failed replay is an internal error, never a verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bvverify.errors import InternalError
from bvverify.ir.graph import QNetwork
from bvverify.properties.boxes import code_box, float_region, floats_for_codes
from bvverify.properties.spec import Property

STATUSES = ("holds", "violated", "unknown")
Runtime = Callable[[np.ndarray], np.ndarray]  # model-domain inputs [N, ...] -> output codes [N, ...] of the real runtime


class ReplayError(InternalError):
    """A solver's counterexample did not replay: a bug in bvverify, reported loudly."""


class VerdictError(InternalError, ValueError):
    """A verdict built with a status that does not exist: an engine bug."""


@dataclass
class Counterexample:
    input: np.ndarray  # model-domain input: float32 inside the box, or integer codes
    codes: np.ndarray  # input codes
    output: np.ndarray  # output codes
    dequantized: np.ndarray | None
    replayed_by: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    status: str
    engine: str
    seconds: float
    reason: str = ""
    counterexample: Counterexample | None = None
    stats: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise VerdictError(f"unknown verdict status {self.status!r}")
        if self.status == "violated" and (self.counterexample is None or not self.counterexample.replayed_by):
            raise ReplayError("a 'violated' verdict needs a replayed counterexample")


def replay(net: QNetwork, prop: Property, codes: np.ndarray, runtime: Runtime | None = None,
           prefer: np.ndarray | None = None) -> Counterexample:
    """Confirm a candidate counterexample (input codes) end to end, or raise ReplayError."""
    codes = np.asarray(codes, dtype=np.int64).reshape(net.input.shape)
    out = net.evaluate_codes(codes[None])[0]
    deq = net.dequantize(out) if net.output.scale is not None else None
    y = (deq if prop.output.over == "dequantized" and deq is not None else out).ravel()
    if not prop.output.holds(y):
        raise ReplayError("the solver's counterexample does not violate the property in the "
                          f"reference interpreter (output {out.ravel().tolist()})")
    clo, chi = code_box(net, prop)
    if np.any(codes < clo) or np.any(codes > chi):
        raise ReplayError("counterexample codes lie outside the input box")
    flo, fhi = float_region(net, prop)
    x = floats_for_codes(net, codes, flo, fhi, prefer)
    if np.any(x < flo) or np.any(x > fhi):
        raise ReplayError("counterexample input lies outside the input box")
    again = net.evaluate(x[None] if not net.integer_input else x.astype(np.int64)[None])[0]
    if not np.array_equal(again, out):
        raise ReplayError("the counterexample's float input does not reproduce its codes")
    cex = Counterexample(x if not net.integer_input else codes, codes, out, deq, ["interpreter"])
    if runtime is not None:
        got = np.asarray(runtime(x[None]))[0]
        if not np.array_equal(np.asarray(got).ravel(), out.ravel()):
            raise ReplayError(f"the runtime disagrees with the reference interpreter on the counterexample: "
                              f"runtime codes {np.asarray(got).ravel().tolist()} vs interpreter {out.ravel().tolist()}")
        cex.replayed_by.append("runtime")
    return cex
