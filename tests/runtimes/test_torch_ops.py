"""Quantized add, average pooling and cat requantization against torch's kernels
directly (batch 1, one thread), over random qparams including ties and saturation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bvverify.errors import UnsupportedOpError
from bvverify.ir import ops
from bvverify.runtimes.elementwise import add, requant_table
from bvverify.runtimes.pooling import avgpool2d

torch = pytest.importorskip("torch")
torch.set_num_threads(1)
F32 = np.float32
SETTINGS = settings(max_examples=50, deadline=None, derandomize=True)


@st.composite
def scales(draw):
    kind = draw(st.integers(0, 4))
    if kind == 0:  # dyadic: exact .5 ties inside the float computations
        return F32(draw(st.integers(1, 15)) * 2.0 ** draw(st.integers(-10, 1)))
    if kind == 1:
        return F32(1.0 / draw(st.integers(1, 300)))
    if kind == 2:
        return F32(draw(st.integers(1, 2000)) / 1000.0)
    return F32(np.exp(draw(st.floats(np.log(1e-4), np.log(10.0)))))


zps = st.one_of(st.sampled_from([0, 1, 128, 254, 255]), st.integers(0, 255))


def codes(rng, shape, z):
    q = rng.integers(0, 256, shape)
    q[..., ::3] = np.clip(z + rng.integers(-2, 3, q[..., ::3].shape), 0, 255)  # near the zero point
    q[..., 1::5] = rng.choice([0, 255], q[..., 1::5].shape)  # saturated
    return q


def qt(q, s, z, channels_last=False):
    t = torch._make_per_tensor_quantized_tensor(torch.tensor(q, dtype=torch.uint8), float(s), int(z))
    return t.contiguous(memory_format=torch.channels_last) if channels_last else t


@SETTINGS
@given(scales(), zps, scales(), zps, scales(), zps, st.booleans(), st.sampled_from(["fbgemm", "x86", "qnnpack"]),
       st.integers(0, 2**32 - 1), st.booleans())
def test_add_matches_torch(sa, za, sb, zb, so, zo, relu, engine, seed, image):
    rng = np.random.default_rng(seed)
    shape = (1, int(rng.integers(1, 9)), int(rng.integers(1, 7)), int(rng.integers(1, 7))) if image \
        else (1, int(rng.integers(1, 300)))
    channels_last = image and bool(rng.integers(2))
    a, b = codes(rng, shape, za), codes(rng, shape, zb)
    params = {"sa": sa, "za": np.int64(za), "sb": sb, "zb": np.int64(zb), "s_out": so, "z_out": np.int64(zo)}
    node = ops.Add("add", ("a", "b"), "torch_" + engine, params, relu, channels_last=channels_last)
    torch.backends.quantized.engine = engine
    fn = torch.ops.quantized.add_relu if relu else torch.ops.quantized.add
    try:
        ref = fn(qt(a, sa, za, channels_last), qt(b, sb, zb, channels_last), float(so), int(zo)).int_repr().numpy()
    except RuntimeError:
        with pytest.raises(UnsupportedOpError):
            add(node, a, b)
        return
    got = add(node, a, b)
    bad = np.nonzero(got != ref)
    assert bad[0].size == 0, f"{bad[0].size} mismatches: a={a[bad][:3]} b={b[bad][:3]} got={got[bad][:3]} torch={ref[bad][:3]}"


@SETTINGS
@given(scales(), zps, st.sampled_from(["fbgemm", "x86", "qnnpack"]), st.integers(0, 2**32 - 1))
def test_avgpool_matches_torch(s, z, engine, seed):
    rng = np.random.default_rng(seed)
    c = int(rng.choice([1, 2, 5, 16, 19]))
    h, w = int(rng.integers(2, 9)), int(rng.integers(2, 9))
    kh, kw = int(rng.integers(1, min(h, 4) + 1)), int(rng.integers(1, min(w, 4) + 1))
    sh, sw = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    ph, pw = int(rng.integers(0, kh // 2 + 1)), int(rng.integers(0, kw // 2 + 1))
    ceil, cip = bool(rng.integers(2)), bool(rng.integers(2))
    div = int(rng.integers(1, 10)) if rng.random() < 0.2 else None
    channels_last = bool(rng.integers(2))
    x = codes(rng, (1, c, h, w), z)
    node = ops.AvgPool2d("p", ("x",), (kh, kw), (sh, sw), (ph, pw), ceil, cip, div,
                         "qnnpack" if engine == "qnnpack" else "fbgemm", z, 0, 255, channels_last, float(s))
    torch.backends.quantized.engine = engine
    try:
        ref = torch.nn.functional.avg_pool2d(qt(x, s, z, channels_last), (kh, kw), (sh, sw), (ph, pw), ceil, cip,
                                             div).int_repr().numpy()
    except RuntimeError:
        with pytest.raises(UnsupportedOpError):
            avgpool2d(node, x)
        return
    got = avgpool2d(node, x)
    assert got.shape == ref.shape
    bad = np.nonzero(got != ref)
    assert bad[0].size == 0, f"{bad[0].size} mismatches of {ref.size}: got={got[bad][:5]} torch={ref[bad][:5]}"


@SETTINGS
@given(scales(), zps, scales(), zps, st.integers(0, 2**32 - 1))
def test_cat_requant_matches_torch(s_in, z_in, s_out, z_out, seed):
    """General path: a 3-channel NCHW input concatenated along channels with another."""
    rng = np.random.default_rng(seed)
    q = rng.integers(0, 256, (1, 3, 4, 5))
    other = qt(rng.integers(0, 256, (1, 2, 4, 5)), s_out, z_out)
    ref = torch.ops.quantized.cat([qt(q, s_in, z_in), other], 1, float(s_out), int(z_out)).int_repr().numpy()[:, :3]
    table = requant_table(0, 255, float(s_in), z_in, float(s_out), z_out, scalar_path=False)
    assert np.array_equal(table[q], ref)
