"""The LP branch-and-bound back-end: its certificates are checked exactly, and its answers match
enumeration on small integer models (with and without conditional rows and a guiding objective)."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bvverify.backends import Budget, get
from bvverify.backends.lpbab import Matrix, farkas_holds, satisfies
from bvverify.encoders.intmodel import IntModel, Lin, big_m_rows


def test_a_true_farkas_ray_passes_and_a_wrong_one_does_not() -> None:
    # x + y >= 3 and x + y <= 1 over [0, 2]^2: empty; the ray (1, -1) proves it
    rows = [({0: 1, 1: 1}, 3, None), ({0: 1, 1: 1}, None, 1)]
    for check in (lambda r, y: farkas_holds(r, y, [0, 0], [2, 2]), lambda r, y: Matrix(r, 2).farkas_holds(y, [0, 0], [2, 2])):
        assert check(rows, np.array([1.0, -1.0]))
        assert check(rows, np.array([0.5, -0.5 + 1e-13]))  # float noise in a ray is fine
        assert not check(rows, np.array([-1.0, 1.0]))  # the wrong sign proves nothing
        assert not check(rows, np.array([0.0, 0.0]))
        # 3 <= x + y <= 3 has points in the box: no ray may pass
        feasible = [({0: 1, 1: 1}, 3, None), ({0: 1, 1: 1}, None, 3)]
        for ray in ([1.0, -1.0], [1.0, 0.0], [0.0, -1.0], [2.0, -1.0], [1.0, -2.0]):
            assert not check(feasible, np.array(ray))


def test_the_numpy_check_keeps_huge_coefficients_exact() -> None:
    """Coefficients past 2^53 are not exact in float64: the matrix falls back to Python integers. Here
    x - 2^60 y in [1, 1] with x in [0, 2^61], y in [0, 1]: x = 1 + 2^60 y works (y = 0, x = 1)."""
    big = 2**60
    rows = [({0: 1, 1: -big}, 1, 1)]
    lo, hi = [0, 0], [2**61, 1]
    m = Matrix(rows, 2)
    assert not m.fits
    for ray in ([1.0], [-1.0]):
        assert not m.farkas_holds(np.array(ray), lo, hi)
    assert Matrix([({0: 1, 1: -big}, 2**61 + 1, None)], 2).farkas_holds(np.array([1.0]), lo, hi)  # x - 2^60 y > 2^61


@st.composite
def models(draw: st.DrawFn) -> IntModel:
    """2-4 small integer variables (one may be a binary), 1-4 rows, perhaps one conditional on the
    binary, perhaps an objective: small enough to enumerate."""
    m = IntModel()
    n = draw(st.integers(2, 4))
    for i in range(n):
        lo = draw(st.integers(-3, 2))
        m.new_var(lo, lo + draw(st.integers(0, 4)), f"x{i}")
    z = next(iter(m.new_bool("z").terms)) if draw(st.booleans()) else None
    for _ in range(draw(st.integers(1, 4))):
        terms = {v: c for v in range(n) if (c := draw(st.integers(-5, 5)))}
        if not terms:
            continue
        lin = Lin(terms, draw(st.integers(-4, 4)))
        lo = draw(st.one_of(st.none(), st.integers(-12, 12)))
        hi = draw(st.one_of(st.none(), st.integers(-12, 12)))
        when = (z, draw(st.integers(0, 1))) if z is not None and draw(st.booleans()) else None
        m.add(lin, lo, hi, when)
    if draw(st.booleans()):
        m.objective = Lin({v: draw(st.integers(-3, 3)) for v in range(n)})
    return m


def enumerate_feasible(m: IntModel) -> bool:
    return any(satisfies(m, list(x)) for x in itertools.product(*(range(a, b + 1) for a, b in zip(m.lo, m.hi))))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models())
def test_lpbab_matches_enumeration(m: IntModel) -> None:
    res = get("lpbab").solve(m, Budget(20.0))
    expect = enumerate_feasible(m)
    if res.status == "feasible":
        assert satisfies(m, res.solution)  # a solution is exact, whatever the LP said
    assert res.status == ("feasible" if expect else "infeasible"), res.reason


@settings(max_examples=100, deadline=None)
@given(models(), st.lists(st.floats(-4, 4, allow_nan=False), min_size=8, max_size=8))
def test_no_ray_proves_a_feasible_model_empty(m: IntModel, ray: list[float]) -> None:
    rows = big_m_rows(m)
    if not rows or not enumerate_feasible(m):
        return
    y = np.array(ray[: len(rows)] + [0.0] * max(0, len(rows) - 8))
    assert not farkas_holds(rows, y, m.lo, m.hi)
    assert not Matrix(rows, m.n_vars).farkas_holds(y, m.lo, m.hi)
