"""Interval bounds contain every exact value, and the bounds engine never contradicts
brute force: random IR networks of every profile, avgpool and add networks, random boxes."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bvverify.bounds.interval import propagate
from bvverify.engines.bounds import verify_bounds
from bvverify.properties.boxes import code_box
from bvverify.properties.spec import Property
from tests.strategies import add_nets, avgpool_nets, boxes, conditions, enumerate_box, networks, small_code_box

SETTINGS = settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


def _sample(clo, chi, n, rng):
    pts = rng.integers(clo.ravel(), chi.ravel() + 1, size=(n, clo.size))
    pts[0], pts[1] = clo.ravel(), chi.ravel()  # the corners too
    return pts.reshape((n,) + clo.shape)


def _contains(net, clo, chi, points):
    env = propagate(net, clo, chi)
    names = tuple(n.name for n in net.nodes)
    vals = net.evaluate_codes(points, keep=names)
    for name in names:
        lo, hi = env[name]
        v = vals[name]
        assert v.shape[1:] == lo.shape, name
        bad = (v < lo[None]) | (v > hi[None])
        assert not bad.any(), f"{name}: value outside its bounds"
    return env


@SETTINGS
@given(networks(), st.data())
def test_bounds_contain_sampled_values(net, data):
    lo, hi = data.draw(boxes(net))
    prop = Property(lo, hi, None)  # type: ignore[arg-type]
    clo, chi = code_box(net, prop)
    _contains(net, clo, chi, _sample(clo, chi, 300, np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))))


@SETTINGS
@given(st.one_of(avgpool_nets(), add_nets()), st.data())
def test_bounds_contain_sampled_values_pool_add(net, data):
    clo, chi = small_code_box(data.draw, net)
    _contains(net, clo, chi, _sample(clo, chi, 300, np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))))


@SETTINGS
@given(networks(), st.data())
def test_bounds_engine_agrees_with_bruteforce(net, data):
    lo, hi = data.draw(boxes(net))
    clo, chi = code_box(net, Property(lo, hi, None))  # type: ignore[arg-type]
    points = enumerate_box(clo, chi)
    flat = net.evaluate_codes(points).reshape(len(points), -1)
    cond = data.draw(conditions(flat.shape[1], flat.min(0), flat.max(0)))
    y = net.dequantize(flat) if cond.over == "dequantized" else flat
    truth = any(cond.holds(row) for row in y)
    v = verify_bounds(net, Property(lo, hi, cond))
    if v.status == "holds":
        assert not truth, "bounds engine says holds, brute force found a violation"
    if v.status == "violated":
        assert truth and v.counterexample is not None
