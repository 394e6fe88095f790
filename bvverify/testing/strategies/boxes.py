"""Input boxes small enough to enumerate, random output conditions anchored in what the box
reaches, and the enumeration itself: the brute-force ground truth of the engine tests."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import strategies as st

from bvverify.errors import BvverifyError
from bvverify.properties.spec import Linear, OutputCondition

MAX_POINTS = 2**14  # points of a drawn box (and of any box enumerate_box accepts)


class BoxTooLargeError(BvverifyError, ValueError):
    """A box too large to enumerate (brute force is the ground truth only for small boxes)."""


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
    if n > MAX_POINTS:
        raise BoxTooLargeError(f"a box of {n} points: enumerate_box takes at most {MAX_POINTS}")
    pts = np.tile(lo, (n, 1))
    if len(vary):
        idx = np.indices(tuple(sizes)).reshape(len(vary), -1).T
        pts[:, vary] = lo[vary] + idx
    return pts.reshape((-1,) + clo.shape)
