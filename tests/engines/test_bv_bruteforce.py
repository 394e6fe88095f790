"""The bit-vector engine against brute force: random networks (every requantizer
profile, fixed point and float, 2-16 bit weights, zero points at the edges, pair
saturation, conv / pooling), random input boxes of at most 2^14 points, random
output conditions. Ground truth enumerates the whole box through the reference
interpreter. Counterexamples are replayed by the engine itself."""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bvverify.engines.bv import verify_bv
from bvverify.errors import UnsupportedOpError
from bvverify.properties.boxes import codes_of_box
from bvverify.properties.spec import Linear, OutputCondition, Property
from tests.ir_strategies import networks

MAX_POINTS = 2**14
COUNTS = {"cases": 0, "holds": 0, "violated": 0}


def allocate_radii(n: int, order, draw_radius, max_points: int) -> np.ndarray:
    """Per-element radii, visited in ``order``, as long as the box keeps at most ``max_points`` points."""
    radius = np.zeros(n, np.int64)
    budget = np.log2(max_points)
    for i in order:
        r = draw_radius()
        cost = np.log2(2 * r + 1)
        if cost <= budget:
            radius[i] = r
            budget -= cost
    return radius


@st.composite
def boxes(draw, net):
    """A float (or code) box whose code box has at most MAX_POINTS points."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = tuple(net.input.shape)
    n = int(np.prod(shape))
    centre = rng.integers(net.input.lo, net.input.hi + 1, n)
    if draw(st.booleans()):  # push towards saturation at the ends of the code range
        ends = rng.random(n) < 0.5
        centre[ends] = rng.choice([net.input.lo, net.input.hi], int(ends.sum()))
    radius = allocate_radii(n, rng.permutation(n), lambda: int(rng.integers(0, 4)), MAX_POINTS)
    clo = np.clip(centre - radius, net.input.lo, net.input.hi)
    chi = np.clip(centre + radius, net.input.lo, net.input.hi)
    if net.integer_input:
        return clo.reshape(shape).astype(np.float64), chi.reshape(shape).astype(np.float64)
    q = net.input.quantizer
    s = np.float32(q.scale)
    # float bounds strictly inside the code cells of clo / chi (monotone quantizer)
    lo = (clo - q.zero_point).astype(np.float64) * float(s) - 0.25 * float(s)
    hi = (chi - q.zero_point).astype(np.float64) * float(s) + 0.25 * float(s)
    return lo.reshape(shape), hi.reshape(shape)


@st.composite
def conditions(draw, n_out, lo, hi):
    """Random DNF over outputs, anchored near values the box actually reaches."""
    clauses = []
    for _ in range(draw(st.integers(1, 3))):
        atoms = []
        for _ in range(draw(st.integers(1, 3))):
            k = draw(st.integers(1, min(3, n_out)))
            js = draw(st.lists(st.integers(0, n_out - 1), min_size=k, max_size=k, unique=True))
            cs = [Fraction(draw(st.integers(-3, 3)), draw(st.sampled_from([1, 1, 2, 3]))) for _ in js]
            mid = sum(c * Fraction(int(lo[j] + hi[j]), 2) for c, j in zip(cs, js))
            rhs = mid + Fraction(draw(st.integers(-6, 6)), draw(st.sampled_from([1, 2])))
            atoms.append(Linear(tuple(zip(js, cs)), rhs, draw(st.booleans())))
        clauses.append(tuple(atoms))
    return OutputCondition(tuple(clauses), draw(st.sampled_from(["codes", "dequantized"])))


def enumerate_box(clo, chi):
    """Every integer point of the box [clo, chi] (only the non-degenerate axes vary)."""
    lo, hi = clo.ravel(), chi.ravel()
    vary = np.nonzero(hi > lo)[0]
    sizes = hi[vary] - lo[vary] + 1
    n = int(np.prod(sizes)) if len(vary) else 1
    assert n <= MAX_POINTS
    pts = np.tile(lo, (n, 1))
    if len(vary):
        idx = np.indices(tuple(sizes)).reshape(len(vary), -1).T
        pts[:, vary] = lo[vary] + idx
    return pts.reshape((-1,) + clo.shape)


def check_case(data, net):
    lo, hi = data.draw(boxes(net))
    clo, chi = codes_of_box(net, lo, hi)
    points = enumerate_box(clo, chi)
    out = net.evaluate_codes(points)
    flat = out.reshape(len(points), -1)
    cond = data.draw(conditions(flat.shape[1], flat.min(0), flat.max(0)))
    y = net.dequantize(flat) if cond.over == "dequantized" else flat
    truth = any(cond.holds(row) for row in y)
    prop = Property(lo, hi, cond)
    verdict = verify_bv(net, prop, timeout=120)
    assert verdict.status != "unknown", verdict.reason
    assert (verdict.status == "violated") == truth, f"bv says {verdict.status}, brute force says violated={truth}"
    if verdict.counterexample is not None:
        cex_codes = verdict.counterexample.codes
        assert np.all(cex_codes >= clo) and np.all(cex_codes <= chi)
    COUNTS["cases"] += 1
    COUNTS[verdict.status] += 1


def _run(data, net):
    try:
        check_case(data, net)
    except UnsupportedOpError as e:  # pragma: no cover - the generator only builds lowered ops
        pytest.fail(str(e))


N_DEFAULT = int(os.environ.get("BVVERIFY_BV_CASES", "320"))


@settings(max_examples=N_DEFAULT, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(networks(), st.data())
def test_bv_matches_bruteforce(net, data):
    _run(data, net)


@pytest.mark.slow
@settings(max_examples=3200, deadline=None, derandomize=False, suppress_health_check=list(HealthCheck))
@given(networks(), st.data())
def test_bv_matches_bruteforce_slow(net, data):
    _run(data, net)


def teardown_module(module):
    print(f"\nbv vs brute force: {COUNTS}")
