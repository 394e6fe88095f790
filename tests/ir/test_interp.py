"""The interpreter's integer ops against naive loop implementations and torch's float ops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bvverify.ir import interp, ops
from bvverify.ir.ranges import intervals
from tests.strategies import inputs_for, networks

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)


def naive_conv(x, w, xz, wz, stride, pad, dil, groups):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    oh = (h + 2 * pad[0] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + 2 * pad[1] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, o, oh, ow), dtype=object)
    og = o // groups
    for b in range(n):
        for oc in range(o):
            g = oc // og
            for i in range(oh):
                for j in range(ow):
                    s = 0
                    for ic in range(cg):
                        for p in range(kh):
                            for q in range(kw):
                                y = i * stride[0] - pad[0] + p * dil[0]
                                xx = j * stride[1] - pad[1] + q * dil[1]
                                v = int(x[b, g * cg + ic, y, xx]) if 0 <= y < h and 0 <= xx < wd else xz
                                s += (v - xz) * (int(w[oc, ic, p, q]) - int(wz[oc]))
                    out[b, oc, i, j] = s
    return out


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 3), st.integers(1, 2), st.integers(0, 2),
       st.integers(1, 2), st.booleans(), st.integers(0, 255))
def test_conv_matches_naive(seed, c, k, stride, pad, dil, grouped, xz):
    rng = np.random.default_rng(seed)
    groups = c if grouped else 1
    o = groups * int(rng.integers(1, 3))
    h = int(rng.integers(dil * (k - 1) + 1, 8))
    x = rng.integers(0, 256, (2, c, h, h))
    w = rng.integers(-128, 128, (o, c // groups, k, k))
    wz = rng.integers(-3, 4, o)
    node = ops.Conv2d("c", ("input",), w, wz, xz, None, (stride, stride), (pad, pad), (dil, dil), groups)
    got = interp.eval_conv2d(node, x)
    ref = naive_conv(x, w, xz, wz, (stride, stride), (pad, pad), (dil, dil), groups)
    assert np.array_equal(got, ref.astype(np.int64))


def naive_pair_dense(q, w, xz, wz):
    """Non-VNNI fbgemm: raw u8*s8 products, adjacent pairs saturated to int16."""
    n, k = q.shape
    out = np.zeros((n, w.shape[0]), dtype=np.int64)
    for b in range(n):
        for o in range(w.shape[0]):
            s = 0
            for i in range(0, k, 2):
                p = int(q[b, i]) * int(w[o, i]) + (int(q[b, i + 1]) * int(w[o, i + 1]) if i + 1 < k else 0)
                s += max(-32768, min(32767, p))
            s -= xz * int(w[o].sum()) + int(wz[o]) * int(q[b].sum()) - k * xz * int(wz[o])
            out[b, o] = s
    return out


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(1, 9), st.integers(0, 255))
def test_pair_saturation_matches_naive(seed, k, xz):
    rng = np.random.default_rng(seed)
    q = rng.choice([0, 1, 200, 255], (3, k))
    w = rng.choice([-128, -127, 0, 100, 127], (4, k))
    wz = np.zeros(4, np.int64)
    node = ops.Dense("d", ("input",), w, wz, xz, None, pair_saturation=True)
    assert np.array_equal(interp.eval_dense(node, q), naive_pair_dense(q, w, xz, wz))
    # saturation really happens in this corner: 255*127*2 > 32767
    if k >= 2 and np.any((q[:, :2] == 255).all(1)) and np.any((w[:, :2] == 127).all(1)):
        exact = interp.eval_dense(ops.Dense("d", ("input",), w, wz, xz, None), q)
        assert not np.array_equal(exact, interp.eval_dense(node, q))


def test_accumulator_wraps_to_int32():
    w = np.full((1, 4), 127, np.int64)
    node = ops.Dense("d", ("input",), w, np.zeros(1, np.int64), 0, np.array([2**31 - 10], np.int64))
    got = interp.eval_dense(node, np.full((1, 4), 255))
    assert got[0, 0] == (2**31 - 10 + 4 * 255 * 127) - 2**32


torch = pytest.importorskip("torch")


@SETTINGS
@given(st.integers(0, 2**32 - 1), st.integers(1, 3), st.integers(1, 3), st.integers(0, 1), st.integers(1, 2),
       st.booleans())
def test_maxpool_matches_torch(seed, k, stride, pad, dil, ceil):
    rng = np.random.default_rng(seed)
    if pad * 2 > k:
        pad = 0
    h = int(rng.integers(dil * (k - 1) + 1, 9))
    x = rng.integers(0, 256, (2, 2, h, h + 1))
    node = ops.MaxPool2d("p", ("input",), (k, k), (stride, stride), (pad, pad), (dil, dil), ceil)
    ref = torch.nn.functional.max_pool2d(torch.from_numpy(x).double(), k, stride, pad, dil, ceil_mode=ceil).numpy()
    assert np.array_equal(interp.eval_maxpool(node, x), ref.astype(np.int64))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(networks(), st.integers(0, 2**16))
def test_worst_case_ranges_contain_sampled_values(net, seed):
    """inspect's worst-case accumulator ranges contain every sampled accumulator."""
    x = inputs_for(net, 300, seed)
    names = tuple(n.name for n in net.nodes)
    env = net.evaluate_codes(net.quantize_input(x), keep=names)
    acc: dict = {}
    ranges = intervals(net.input, net.nodes, net.shapes, accumulators=acc)
    for node in net.nodes:
        if isinstance(node, (ops.Dense, ops.Conv2d)) and node.pair_saturation:
            continue  # the range is of the exact sum; pair saturation clips it differently
        lo, hi = acc[node.name] if node.name in acc else ranges[node.name]
        v = env[node.name]
        assert np.all(v >= np.asarray(lo, dtype=np.int64)) and np.all(v <= np.asarray(hi, dtype=np.int64)), node.name
