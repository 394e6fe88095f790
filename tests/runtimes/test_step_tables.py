"""Every profile's threshold table equals its reference function on every integer
of sampled accumulator intervals, including near-ties and saturation."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bvverify.ir.interp import eval_requantize
from bvverify.ir.ops import Requantize
from bvverify.runtimes import get_profile, step_table
from bvverify.runtimes.gemmlowp import quantize_multiplier

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)

scales = st.floats(1e-6, 4.0, allow_nan=False, allow_infinity=False).map(np.float32)
zero_points = st.one_of(st.sampled_from([0, 1, 127, 128, 254, 255]), st.integers(0, 255))


@st.composite
def float_profile_params(draw):
    """(profile, params, lo, hi) for the float32 profiles, per-channel or not."""
    profile = draw(st.sampled_from(["fbgemm", "qnnpack", "onnxruntime", "onednn"]))
    c = draw(st.integers(1, 3))
    s_in = draw(scales)
    sw = np.array([draw(scales) for _ in range(c)], dtype=np.float32)
    s_out = draw(scales)
    z = draw(zero_points)
    params = {"s_in": s_in, "sw": sw, "s_out": s_out, "z_out": np.int64(z)}
    if profile in ("fbgemm", "onednn"):
        params["bias"] = np.array([draw(st.floats(-50, 50, width=32)) for _ in range(c)], dtype=np.float32)
    if profile == "fbgemm":
        params["per_channel"] = np.int64(draw(st.booleans()))
    relu = draw(st.booleans())
    return profile, params, (z if relu else 0), 255


def _channel(params, ch):
    return {k: (np.asarray(v)[ch : ch + 1] if np.asarray(v).ndim else v) for k, v in params.items()}


def _node(profile, params, lo, hi):
    return Requantize("r", ("a",), profile, params, lo, hi)


def _check_table(profile, params, lo, hi, acc_lo, acc_hi):
    node = _node(profile, params, lo, hi)
    c = max(np.asarray(v).size for v in params.values())
    acc = np.arange(acc_lo, acc_hi + 1, dtype=np.int64)
    for ch in range(c):
        p = _channel(params, ch)
        chnode = _node(profile, p, lo, hi)

        def f(a, chnode=chnode):
            return eval_requantize(chnode, np.asarray(a, dtype=np.int64)[:, None])[:, 0]

        ref = f(acc)
        assert np.all(np.diff(ref) >= 0), f"{profile} not monotone on [{acc_lo}, {acc_hi}]"
        table = step_table(f, acc_lo, acc_hi)
        got = table(acc)
        bad = np.nonzero(got != ref)[0]
        assert bad.size == 0, f"{profile} ch{ch}: table differs at acc={acc[bad[:5]]}: {got[bad[:5]]} vs {ref[bad[:5]]}"
        assert table.v_lo == ref[0] and table.v_hi == ref[-1]
    del node


@SETTINGS
@given(float_profile_params(), st.integers(-(2**31), 2**31 - 1), st.integers(1, 40_000))
def test_float_profiles_random_interval(pp, start, width):
    profile, params, lo, hi = pp
    acc_lo = max(-(2**31), min(start, 2**31 - 1 - width))
    _check_table(profile, params, lo, hi, acc_lo, acc_lo + width)


@SETTINGS
@given(float_profile_params(), st.integers(-300, 300), st.integers(1, 3000))
def test_float_profiles_near_ties(pp, k, width):
    """Centre the interval on an accumulator where acc*M is (about) k + 1/2."""
    profile, params, lo, hi = pp
    s_in = np.float32(params["s_in"])
    m = float(np.float32(s_in * np.asarray(params["sw"])[0]) / np.float32(params["s_out"]))
    centre = int(round((k + 0.5) / m)) if m > 0 else 0
    centre = max(-(2**31) + width, min(2**31 - 1 - width, centre))
    _check_table(profile, params, lo, hi, centre - width, centre + width)


def test_float_profile_exact_ties():
    """M = 1/2 makes every odd accumulator an exact .5 tie: ties go to even."""
    params = {"s_in": np.float32(0.5), "sw": np.array([1.0], np.float32), "s_out": np.float32(1.0), "z_out": np.int64(0)}
    for profile in ("qnnpack", "onnxruntime"):
        f = get_profile(profile).apply
        acc = np.arange(-9, 10, dtype=np.int64)[:, None]
        assert f(acc, params)[:, 0].tolist() == np.rint(acc[:, 0] / 2).astype(int).tolist()
    _check_table("qnnpack", params, 0, 255, -1000, 1000)


@st.composite
def gemmlowp_params(draw):
    real = draw(st.floats(1e-6, 8.0))
    m, shift = quantize_multiplier(real)
    return {"multiplier": np.int64(m), "shift": np.int64(shift), "z_out": np.int64(draw(st.integers(-128, 127)))}


@SETTINGS
@given(gemmlowp_params(), st.integers(-(2**26), 2**26), st.integers(1, 20_000), st.booleans())
def test_gemmlowp_table(params, start, width, int8):
    lo, hi = (-128, 127) if int8 else (0, 255)
    mono_lo, mono_hi = get_profile("gemmlowp").monotone_range(params)
    acc_lo = max(mono_lo, min(start, mono_hi - width))
    _check_table("gemmlowp", params, lo, hi, acc_lo, min(mono_hi, acc_lo + width))


@SETTINGS
@given(st.integers(0, 12), st.integers(-(2**20), 2**20), st.integers(1, 20_000))
def test_pow2_table(k, start, width):
    params = {"shift": np.int64(k)}
    _check_table("pow2", params, -32, 31, start, start + width)


def _srdhm_py(a: int, b: int) -> int:
    if a == b == -(2**31):
        return 2**31 - 1
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    s = ab + nudge
    return int(s / (1 << 31)) if abs(s) < 2**52 else (abs(s) // (1 << 31)) * (1 if s >= 0 else -1)


def _rdbpot_py(x: int, e: int) -> int:
    mask = (1 << e) - 1
    rem = x & mask
    thr = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if rem > thr else 0)


@SETTINGS
@given(gemmlowp_params(), st.lists(st.integers(-(2**31), 2**31 - 1), min_size=1, max_size=50))
def test_gemmlowp_matches_python_ints(params, accs):
    """Independent pure-Python-int restatement of TFLite's MultiplyByQuantizedMultiplier."""
    m, shift, z = int(params["multiplier"]), int(params["shift"]), int(params["z_out"])
    left, right = max(shift, 0), max(-shift, 0)
    got = get_profile("gemmlowp").apply(np.array(accs, dtype=np.int64)[:, None], params)[:, 0]
    for a, g in zip(accs, got):
        x = ((a << left) + 2**31) % 2**32 - 2**31
        assert g == _rdbpot_py(_srdhm_py(x, m), right) + z


@SETTINGS
@given(st.integers(0, 16), st.lists(st.integers(-(2**30), 2**30), min_size=1, max_size=50))
def test_pow2_matches_floor_formula(k, accs):
    got = get_profile("pow2").apply(np.array(accs, dtype=np.int64), {"shift": np.int64(k)})
    import math
    from fractions import Fraction

    for a, g in zip(accs, got):
        assert g == math.floor(Fraction(a, 2**k) + (Fraction(1, 2) if k else 0))
