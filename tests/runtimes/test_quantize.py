"""Float32 helpers and input quantizers against exact arithmetic and torch."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bvverify.runtimes.f32 import fma32
from bvverify.runtimes.quantize import dequantize, quantize

f32s = st.floats(-1e6, 1e6, width=32, allow_nan=False, allow_infinity=False)


def _rn32_exact(v: Fraction, guess: np.float32) -> bool:
    """True when guess is the round-to-nearest-even float32 of the exact value v."""
    lo = np.nextafter(guess, np.float32(-np.inf))
    hi = np.nextafter(guess, np.float32(np.inf))
    d = [abs(Fraction(float(c)) - v) for c in (lo, guess, hi)]
    if d[1] > min(d):
        return False
    if d[1] == d[0] or d[1] == d[2]:  # a tie: must be the even one
        return int(np.array(guess, dtype=np.float32).view(np.int32)) % 2 == 0
    return True


@settings(max_examples=400, deadline=None, derandomize=True)
@given(f32s, st.floats(0.0001220703125, 8192.0, width=32), st.integers(0, 255), st.booleans())
def test_fma32_is_single_rounding(x, inv, z, force_tie):
    a, b = np.float32(x), np.float32(inv)
    if force_tie:  # make a*b + z land near a float32 half-way point
        a = np.float32((np.floor(float(a) * float(b)) + 0.5) / float(b))
    got = fma32(np.array([a]), np.array([b]), np.array([np.float32(z)]))[0]
    exact = Fraction(float(a)) * Fraction(float(b)) + z
    assert _rn32_exact(exact, got)


def test_fma32_on_scalars_takes_the_slow_path_too():
    """0-d operands whose sum needs the exact path (a zero sum is 'tiny'): the same value as 1-element arrays."""
    for a, b, c in [(1.0, 2.0, -2.0), (0.0, 3.0, 0.0), (np.float32(1.5), np.float32(2.0**-126), np.float32(0.0))]:
        got = fma32(np.float32(a), np.float32(b), np.float32(c))
        assert got.shape == () and got == fma32(np.array([a]), np.array([b]), np.array([c]))[0]


torch = pytest.importorskip("torch")


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.floats(0.0000152587890625, 2.0, width=32), st.integers(0, 255), st.integers(0, 2**32 - 1))
def test_torch_fma_rule_matches_quantize_per_tensor(scale, zp, seed):
    rng = np.random.default_rng(seed)
    s = np.float32(scale)
    k = rng.integers(-300, 300, 2000)
    ties = ((k + 0.5) * np.float64(s)).astype(np.float32)           # exact-tie neighbourhoods
    near = (ties.view(np.int32) + rng.integers(-2, 3, 2000).astype(np.int32)).view(np.float32)
    wide = rng.normal(0, 300 * float(s), 2000).astype(np.float32)   # saturating values
    x = np.concatenate([ties, near, wide])
    ref = torch.quantize_per_tensor(torch.from_numpy(x), float(s), int(zp), torch.quint8).int_repr().numpy()
    got = quantize(x, float(s), int(zp), 0, 255, "torch_fma")
    bad = np.nonzero(got != ref)[0]
    assert bad.size == 0, f"x={x[bad[:3]]} got={got[bad[:3]]} torch={ref[bad[:3]]}"
    deq = torch.quantize_per_tensor(torch.from_numpy(x), float(s), int(zp), torch.quint8).dequantize().numpy()
    assert np.array_equal(dequantize(got, float(s), int(zp)), deq)


def test_rules_differ_at_ties():
    """The three rounding rules are not interchangeable (why the rule is a parameter)."""
    s = np.float32(0.1)
    x = ((np.arange(-200, 200) + 0.5) * np.float64(s)).astype(np.float32)
    outs = {r: quantize(x, float(s), 128, 0, 255, r) for r in ("torch_fma", "mul_inv", "div")}
    assert not (np.array_equal(outs["torch_fma"], outs["div"]) and np.array_equal(outs["mul_inv"], outs["div"]))
