"""Symbolic bounds are sound for the exact semantics and never looser than intervals.

Relaxation lines are checked in exact rationals against every integer of their band
(requantizers of every profile, arbitrary step tables, clamps); propagated bounds
against sampled exact values of random IR networks (also max pooling with either
padding rule and a floor, clamps, concats and fan-out); linear output bounds and the
bounds engine against brute force over the whole box."""

from __future__ import annotations

import os
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bvverify
from bvverify.bounds.interval import propagate
from bvverify.bounds.relax import band_relaxations, clamp_relaxations, step_relaxation
from bvverify.bounds.symbolic import channel_tables, output_linear_lower, propagate_symbolic
from bvverify.bundled import resolve_model, test_images
from bvverify.engines.bounds import METHODS, verify_bounds
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork
from bvverify.ir.interp import eval_requantize
from bvverify.properties.boxes import code_box
from bvverify.properties.robustness import load_data, robustness_property
from bvverify.properties.spec import Property
from bvverify.runtimes.base import StepTable, get_profile, step_table
from tests.strategies import (
    add_nets,
    avgpool_nets,
    boxes,
    conditions,
    dense_block,
    enumerate_box,
    networks,
    requant,
    small_code_box,
    zero_points,
)

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
BENCH = Path(os.environ.get("BVVERIFY_BENCHMARKS") or Path(__file__).resolve().parents[2] / ".." / "shared" / "benchmarks")


def _assert_lines(lines, e: int, xs, fx) -> None:
    """Exact rational check of band e's lines at the integers xs with values fx."""
    a_lo, b_lo, a_hi, b_hi = (Fraction(float(v[e])) for v in lines)
    assert a_lo >= 0 and a_hi >= 0
    for x, f in zip(np.asarray(xs).tolist(), np.asarray(fx).tolist()):
        assert a_lo * x + b_lo <= f <= a_hi * x + b_hi, f"band {e}: line misses f({x}) = {f}"


def _channel_fn(node: ops.Requantize, c: int):
    params = {k: (np.asarray(v)[c : c + 1] if np.asarray(v).ndim and np.asarray(v).size > 1 else v)
              for k, v in node.params.items()}
    one = ops.Requantize(node.name, node.inputs, node.profile, params, node.lo, node.hi)
    return lambda a: eval_requantize(one, np.asarray(a, dtype=np.int64)[:, None])[:, 0]


@SETTINGS
@given(st.data())
def test_requantizer_lines_hold_on_every_integer(data):
    """Every profile: tables for all channels at once equal step_table's; lines hold on
    sub-bands that start or end at a threshold (near-ties) or lie in a saturated end."""
    node = data.draw(requant("r", "acc", 3))
    mono_lo, mono_hi = get_profile(node.profile).monotone_range(node.params)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    span = 2 ** data.draw(st.integers(4, 24))
    lo = np.maximum(rng.integers(-span, span, 3), mono_lo)
    hi = np.minimum(lo + rng.integers(0, 2 * span, 3), mono_hi)
    tables = channel_tables(node, lo, hi)
    which, b_lo, b_hi = [], [], []
    for c, table in enumerate(tables):
        ref = step_table(_channel_fn(node, c), int(lo[c]), int(hi[c]))
        assert (table.v_lo, table.acc_lo, table.acc_hi) == (ref.v_lo, ref.acc_lo, ref.acc_hi)
        assert np.array_equal(table.thresholds, ref.thresholds)
        for _ in range(4):
            anchors = table.thresholds if table.thresholds.size and rng.random() < 0.8 else np.array([lo[c], hi[c]])
            a = int(np.clip(rng.choice(anchors) + rng.integers(-1, 2), lo[c], hi[c]))
            b = int(np.clip(a + rng.integers(0, 300), lo[c], hi[c]))
            which.append(c)
            b_lo.append(a)
            b_hi.append(b)
    lines = band_relaxations(tables, np.array(which), np.array(b_lo), np.array(b_hi))
    for e, (c, a, b) in enumerate(zip(which, b_lo, b_hi)):
        xs = np.arange(a, b + 1)
        _assert_lines(lines, e, xs, _channel_fn(node, c)(xs))
    whole = step_relaxation(tables[0])  # the whole band: at its ends, every step's corners, and samples
    t = tables[0].thresholds
    xs = np.unique(np.clip(np.concatenate([[lo[0], hi[0]], t, t - 1, rng.integers(lo[0], hi[0] + 1, 50)]), lo[0], hi[0]))
    _assert_lines([np.array([v]) for v in whole], 0, xs, _channel_fn(node, 0)(xs))


@st.composite
def step_tables(draw):
    """Arbitrary monotone step tables: repeated thresholds (jumps of several codes), empty, constant."""
    lo = draw(st.integers(-(2**31), 2**31 - 400))
    hi = lo + draw(st.integers(0, 300))
    ts = draw(st.lists(st.integers(lo + 1, hi), max_size=40)) if hi > lo else []
    return StepTable(lo, hi, draw(st.integers(-300, 300)), np.sort(np.array(ts, dtype=np.int64)))


@SETTINGS
@given(step_tables())
def test_step_lines_hold_on_any_table(table):
    xs = np.arange(table.acc_lo, table.acc_hi + 1)
    _assert_lines([np.array([v]) for v in step_relaxation(table)], 0, xs, table(xs))


@SETTINGS
@given(st.lists(st.tuples(st.integers(-400, 400), st.integers(0, 300)), min_size=1, max_size=5),
       st.integers(-300, 300), st.integers(0, 300))
def test_clamp_lines_hold(bands, lo, width):
    x_lo = np.array([b[0] for b in bands])
    x_hi = x_lo + np.array([b[1] for b in bands])
    lines = clamp_relaxations(x_lo, x_hi, lo, lo + width)
    for e in range(len(bands)):
        xs = np.arange(x_lo[e], x_hi[e] + 1)
        _assert_lines(lines, e, xs, np.clip(xs, lo, lo + width))


@st.composite
def mixed_nets(draw):
    """Conv, requantize, max pool (either padding rule, any floor), flatten read twice
    (clamp, and a dense branch whose accumulator may wrap), concat with the clamp taken twice, dense."""
    bits = draw(st.sampled_from([4, 8]))
    c, h = draw(st.integers(1, 2)), draw(st.integers(3, 5))
    spec = ops.InputSpec((c, h, h), 0, 255, None)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    o, k = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    w = rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1), (o, c, k, k))
    nodes: list[ops.Node] = [ops.Conv2d("conv.acc", ("input",), w, np.zeros(o, np.int64), draw(zero_points), None,
                                        (1, 1), (draw(st.integers(0, 1)),) * 2, weight_bits=bits)]
    r = draw(requant("conv", "conv.acc", o))
    nodes.append(r)
    shape = QNetwork(spec, tuple(nodes), ops.OutputSpec("conv")).shapes["conv"]
    kern = (2, 2) if min(shape[1:]) >= 2 else (1, 1)
    nodes.append(ops.MaxPool2d("pool", ("conv",), kern, (draw(st.integers(1, 2)),) * 2, (draw(st.integers(0, kern[0] // 2)),) * 2,
                               (1, 1), draw(st.booleans()), draw(st.sampled_from(["ignore", "edge"])),
                               draw(st.sampled_from([-(2**31), r.lo, (r.lo + r.hi) // 2]))))
    n = int(np.prod(QNetwork(spec, tuple(nodes), ops.OutputSpec("pool")).shapes["pool"]))
    nodes.append(ops.Reshape("flat", ("pool",), (n,)))
    c_lo, c_hi = sorted(draw(st.integers(r.lo, r.hi)) for _ in range(2))
    nodes.append(ops.Clamp("clamp", ("flat",), c_lo, c_hi))
    side, width = draw(dense_block("side", "flat", n, r.lo, bits))
    nodes += [replace(side[0], acc_bits=draw(st.sampled_from([16, 32]))), side[1]]  # 16 bits: it can wrap
    nodes.append(ops.Concat("cat", ("clamp", "side", "clamp"), 0))
    out, _ = draw(dense_block("out", "cat", 2 * n + width, c_lo, bits))
    return QNetwork(spec, tuple(nodes + out), ops.OutputSpec("out", 0.1, 0))


def _sample(clo, chi, n, rng):
    pts = rng.integers(clo.ravel(), chi.ravel() + 1, size=(n, clo.size))
    pts[0], pts[1] = clo.ravel(), chi.ravel()  # the corners too
    return pts.reshape((n,) + clo.shape)


def _contains_and_tighter(net, clo, chi, points):
    """Every sampled value of every tensor lies in the symbolic bounds, which lie inside the interval bounds."""
    sym = propagate_symbolic(net, clo, chi)
    box = propagate(net, clo, chi)
    names = tuple(n.name for n in net.nodes)
    vals = net.evaluate_codes(points, keep=names)
    for name in names:
        lo, hi = sym[name]
        assert lo.dtype == np.int64 and hi.dtype == np.int64 and lo.shape == net.shapes[name], name
        assert not ((vals[name] < lo[None]) | (vals[name] > hi[None])).any(), f"{name}: value outside its bounds"
        assert np.all(lo >= box[name][0]) and np.all(hi <= box[name][1]), f"{name}: looser than intervals"


@SETTINGS
@given(st.one_of(networks(), mixed_nets()), st.data())
def test_symbolic_contains_sampled_values(net, data):
    lo, hi = data.draw(boxes(net))
    clo, chi = code_box(net, Property(lo, hi, None))  # type: ignore[arg-type]
    _contains_and_tighter(net, clo, chi, _sample(clo, chi, 300, np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))))


@settings(SETTINGS, max_examples=30)
@given(st.one_of(avgpool_nets(), add_nets()), st.data())
def test_symbolic_contains_sampled_values_pool_add(net, data):
    clo, chi = small_code_box(data.draw, net)
    _contains_and_tighter(net, clo, chi, _sample(clo, chi, 300, np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))))


@SETTINGS
@given(st.one_of(networks(), mixed_nets()), st.data())
def test_output_linear_lower_is_sound(net, data):
    """For random rational rows C (and output differences), min over the whole box of C @ y >= the bound."""
    lo, hi = data.draw(boxes(net))
    clo, chi = code_box(net, Property(lo, hi, None))  # type: ignore[arg-type]
    flat = net.evaluate_codes(enumerate_box(clo, chi)).reshape(-1, int(np.prod(net.output_shape)))
    n = flat.shape[1]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    num = rng.integers(-7, 8, (4, n))
    num[0] = 0
    num[0, rng.integers(n)] += 6
    num[0, rng.integers(n)] -= 6  # o_i - o_j (or 0)
    C = np.array([[Fraction(int(v), 6) for v in row] for row in num], dtype=object)
    bound = output_linear_lower(net, clo, chi, C)
    least = (flat @ num.T).min(axis=0)  # 6 * min C @ y, exact integers
    for b, m in zip(bound, least):
        assert Fraction(float(b)) * 6 <= int(m), "linear lower bound above the true minimum"


@settings(SETTINGS, max_examples=40)
@given(st.one_of(networks(), mixed_nets()), st.data())
def test_bounds_engine_agrees_with_bruteforce(net, data):
    lo, hi = data.draw(boxes(net))
    clo, chi = code_box(net, Property(lo, hi, None))  # type: ignore[arg-type]
    flat = net.evaluate_codes(enumerate_box(clo, chi)).reshape(-1, int(np.prod(net.output_shape)))
    cond = data.draw(conditions(flat.shape[1], flat.min(0), flat.max(0)))
    y = net.dequantize(flat) if cond.over == "dequantized" else flat
    truth = any(cond.holds(row) for row in y)
    method = data.draw(st.sampled_from(METHODS))
    v = verify_bounds(net, Property(lo, hi, cond), method=method)
    assert v.engine == "bounds" and v.stats["method"] == method
    if v.status == "holds":
        assert not truth, "bounds engine says holds, brute force found a violation"
    if v.status == "violated":
        assert truth and v.counterexample is not None


def _holds(net, xs, labels, eps, method):
    return sum(verify_bounds(net, robustness_property(net, x.reshape(net.input.shape), int(y), eps), method=method).status
               == "holds" for x, y in zip(xs, labels))


def _tighter_somewhere(net, xs, labels, eps):
    """Never looser on any tensor, strictly tighter on some, and more robustness queries proved."""
    tighter = False
    for x in xs:
        prop = robustness_property(net, x.reshape(net.input.shape), 0, eps)
        clo, chi = code_box(net, prop)
        sym, box = propagate_symbolic(net, clo, chi), propagate(net, clo, chi)
        for name, (lo, hi) in sym.items():
            assert np.all(lo >= box[name][0]) and np.all(hi <= box[name][1]), name
            tighter |= bool(np.any(lo > box[name][0]) or np.any(hi < box[name][1]))
    assert tighter
    assert _holds(net, xs, labels, eps, "symbolic") > _holds(net, xs, labels, eps, "interval")


def test_symbolic_tighter_on_digits_mlp():
    net = bvverify.load(resolve_model("digits-mlp"))
    xs, labels = test_images()
    _tighter_somewhere(net, xs[:8], labels[:8], 2)


def test_symbolic_tighter_on_aaai_mnist():
    path = BENCH / "aaai21_qnn_robustness" / "weights" / "mnist_mlp.h5"
    data = BENCH / "eran" / "mnist_test_first500_int.csv"
    if not (path.is_file() and data.is_file()):
        pytest.skip(f"benchmark data not found at {BENCH} (set BVVERIFY_BENCHMARKS)")
    net = bvverify.load(path)
    xs, labels = load_data(data, 784)
    _tighter_somewhere(net, xs[:8], labels[:8], 3)
