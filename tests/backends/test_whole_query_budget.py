"""``timeout`` is one budget for the whole engine call: bounds, encoding and every solve.

A query handed a nearly spent :class:`Budget` comes back ``unknown`` about when the budget
ends, not after a fresh solver allowance (``verify_bv`` used to start z3's clock only after
bounds and lowering, and overshot a 20 s limit by 2.9 s)."""

from __future__ import annotations

import time

import numpy as np
import pytest

import bvverify
from bvverify.backends.budget import Budget
from bvverify.bundled import resolve_model, test_images
from bvverify.engines.bv import verify_bv
from bvverify.engines.ilp import verify_ilp
from bvverify.engines.overflow import check_overflow
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork
from bvverify.properties.robustness import robustness_property

MARGIN = 1.0  # seconds a query may run past its budget (z3 checks its clock only now and then)


@pytest.fixture(scope="module")
def hard():
    """A float ball on the bundled MLP that neither z3 nor CP-SAT decides in seconds."""
    net = bvverify.load(resolve_model("digits-mlp"))
    x, y = test_images()
    return net, robustness_property(net, x[0], int(y[0]), 0.1, unit="float", clip=(0.0, 1.0))


def nearly_spent(left: float) -> Budget:
    return Budget(10.0, start=time.perf_counter() - (10.0 - left))


def run(engine: str, net, prop, timeout):
    if engine == "bv":
        return verify_bv(net, prop, timeout=timeout)
    return verify_ilp(net, prop, solver=engine, timeout=timeout)


@pytest.mark.parametrize("engine", ["bv", "cpsat", "highs"])
def test_nearly_spent_budget(hard, engine):
    budget = nearly_spent(0.2)
    v = run(engine, *hard, budget)
    assert v.status == "unknown" and ("time limit" in v.reason or "timeout" in v.reason), v.reason
    assert budget.elapsed() - budget.seconds < MARGIN, f"{budget.elapsed() - budget.seconds:.2f} s over"


@pytest.mark.parametrize("engine", ["bv", "cpsat"])
def test_spent_budget_returns_at_once(hard, engine):
    t0 = time.perf_counter()
    v = run(engine, *hard, nearly_spent(0.0))
    assert v.status == "unknown" and v.reason == "time limit reached"
    assert time.perf_counter() - t0 < 0.1


@pytest.mark.parametrize("engine", ["bv", "cpsat"])
def test_small_timeout_covers_the_whole_call(hard, engine):
    t0 = time.perf_counter()
    v = run(engine, *hard, 0.6)
    assert v.status == "unknown"
    assert time.perf_counter() - t0 < 0.6 + MARGIN


def test_overflow_layers_after_the_budget_are_unknown():
    """A layer the intervals cannot settle is not lowered once the budget is spent."""
    n, top = 4, 65535
    w1 = np.concatenate([np.eye(n, dtype=np.int64)] * 2)
    nodes = (ops.Dense("l1.acc", ("input",), w1, np.zeros(2 * n, np.int64), 0),
             ops.Requantize("l1", ("l1.acc",), "pow2", {"shift": np.int64(0)}, 0, top),
             ops.Dense("l2.acc", ("l1",), np.full((1, 2 * n), 32767), np.zeros(1, np.int64), 0, weight_bits=16))
    net = QNetwork(ops.InputSpec((n,), 0, top), nodes, ops.OutputSpec("l2.acc"))
    lo, hi = np.zeros(n, np.int64), np.full(n, top, np.int64)
    res = {r.node: r for r in check_overflow(net, lo, hi, nearly_spent(0.0))}
    assert res["l1.acc"].status == "no" and res["l1.acc"].how == "interval"
    assert res["l2.acc"].status == "unknown" and res["l2.acc"].how == "time limit reached"
    assert {r.node: r.status for r in check_overflow(net, lo, hi, 30.0)}["l2.acc"] == "yes"


def wide_net(n: int = 160, seed: int = 0) -> QNetwork:
    """Two wide pow2 layers over a full input box: seconds of encoding before any solver runs."""
    rng = np.random.default_rng(seed)
    nodes = []
    prev = "input"
    for k, m in enumerate((n, n, 10)):
        w = rng.integers(-127, 128, size=(m, n))
        nodes.append(ops.Dense(f"l{k}.acc", (prev,), w, np.zeros(m, np.int64), 0))
        nodes.append(ops.Requantize(f"l{k}", (f"l{k}.acc",), "pow2", {"shift": np.int64(8)}, 0, 255))
        prev = f"l{k}"
    return QNetwork(ops.InputSpec((n,), 0, 255), tuple(nodes), ops.OutputSpec(prev))


def test_encoding_checks_the_clock():
    """The lowering itself stops when the caller's clock says so (it used to run to the end:
    124 s of encoding under a 20 s limit on a 1,536-neuron network)."""
    from bvverify.encoders.ilp import EncodingSpent, IlpLowering

    net = wide_net(40)
    lo, hi = np.zeros(40, np.int64), np.full(40, 255, np.int64)
    calls = []
    with pytest.raises(EncodingSpent, match="while encoding"):
        IlpLowering(net, lo, hi, expired=lambda: calls.append(1) or len(calls) > 2).run()
    assert len(calls) == 3
    IlpLowering(net, lo, hi, expired=lambda: False).run()  # a clock that never runs out changes nothing


@pytest.mark.parametrize("engine", ["cpsat", "auto"])
def test_a_large_encoding_keeps_the_limit(engine, monkeypatch):
    """Without the clock checks this query spends about 5 s encoding and translating for CP-SAT."""
    from bvverify.engines import auto

    net = wide_net()
    x = np.full(160, 128, np.int64)
    prop = robustness_property(net, x, int(np.argmax(net.evaluate_codes(x[None])[0])), 255)
    monkeypatch.setattr(auto._Run, "attack", lambda *a, **k: None)  # straight to the exact phase (a full box)
    t0 = time.perf_counter()
    v = auto.verify_auto(net, prop, timeout=1.0) if engine == "auto" else verify_ilp(net, prop, solver="cpsat",
                                                                                          timeout=1.0)
    assert v.status == "unknown" and "time limit" in v.reason, v.reason
    assert time.perf_counter() - t0 < 1.0 + MARGIN, f"{time.perf_counter() - t0:.2f} s for a 1 s limit"
