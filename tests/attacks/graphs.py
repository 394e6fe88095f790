"""Networks that chain the ops the shared generators keep apart (Lookup, Concat, Clamp, both
poolings, Add) behind a conv, so the surrogate and the attack see every op in one graph."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from bvverify.errors import UnsupportedOpError
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork
from bvverify.runtimes.elementwise import qnnpack_multipliers
from tests.strategies import requant, zero_points


@st.composite
def add_params(draw, lo: int, hi: int) -> tuple[str, dict]:
    """An add rule and its float32 scales / zero points (qnnpack only where torch accepts the ratios)."""
    rule = draw(st.sampled_from(["torch_fbgemm", "torch_x86", "torch_qnnpack"]))
    so = draw(st.floats(0.01, 0.2))
    p = {"sa": np.float32(so * draw(st.floats(0.2, 3.0))), "za": np.int64(draw(st.integers(lo, hi))),
         "sb": np.float32(so * draw(st.floats(0.2, 3.0))), "zb": np.int64(draw(st.integers(lo, hi))),
         "s_out": np.float32(so), "z_out": np.int64(draw(zero_points))}
    if rule == "torch_qnnpack":
        try:
            qnnpack_multipliers(p)
        except UnsupportedOpError:
            rule = "torch_fbgemm"
    return rule, p


@st.composite
def mixed_nets(draw) -> QNetwork:
    """conv -> requantize -> (lookup | clamp) -> concat -> max or avg pool -> add(pool, clamp(pool))
    -> lookup -> flatten -> dense -> requantize, integer input codes."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    c, h = draw(st.integers(1, 2)), draw(st.integers(3, 5))
    spec = ops.InputSpec((c, h, h), 0, 255, None)
    o = draw(st.integers(1, 3))
    nodes: list[ops.Node] = [ops.Conv2d("conv.acc", ("input",), rng.integers(-128, 128, (o, c, 3, 3)),
                                        np.zeros(o, np.int64), int(draw(zero_points)), None, (1, 1), (1, 1))]
    r = draw(requant("conv", "conv.acc", o))
    nodes.append(r)
    table = rng.integers(0, 256, r.hi - r.lo + 1)
    table = np.sort(table) if draw(st.booleans()) else table  # monotone (a requantizing table) or not
    nodes.append(ops.Lookup("lut", ("conv",), table, r.lo))
    a = draw(st.integers(0, 200))
    nodes.append(ops.Clamp("clamp", ("conv",), a, a + draw(st.integers(0, 55))))
    nodes.append(ops.Concat("cat", ("lut", "clamp"), 0))
    k = draw(st.integers(1, 2))
    stride, pad, ceil = draw(st.integers(1, 2)), draw(st.integers(0, k // 2)), draw(st.booleans())
    if draw(st.booleans()):
        nodes.append(ops.MaxPool2d("pool", ("cat",), (k, k), (stride, stride), (pad, pad), (1, 1), ceil,
                                   draw(st.sampled_from(["ignore", "edge"])), draw(st.sampled_from([-(2**31), 0, 40]))))
        lo, hi = min(0, 40), 255
    else:
        z = int(draw(zero_points))
        lo, hi = draw(st.sampled_from([(0, 255), (z, 255)]))
        rule = draw(st.sampled_from(["fbgemm", "qnnpack"]))
        if rule == "qnnpack" and not ceil and k == 1:
            ceil = True
        nodes.append(ops.AvgPool2d("pool", ("cat",), (k, k), (stride, stride), (pad, pad), ceil, draw(st.booleans()),
                                   draw(st.one_of(st.none(), st.integers(1, 6))), rule, z, lo, hi,
                                   draw(st.booleans()), float(np.float32(draw(st.floats(0.01, 0.5)))),
                                   draw(st.sampled_from([16, 8]))))
    nodes.append(ops.Clamp("pool.clamp", ("pool",), 20, 230))
    rule, p = draw(add_params(0, 255))
    nodes.append(ops.Add("add", ("pool", "pool.clamp"), rule, p, draw(st.booleans()), 0, 255,
                         draw(st.booleans()), draw(st.sampled_from([64, 32]))))
    lut = np.sort(rng.integers(0, 256, 256))
    nodes.append(ops.Lookup("add.lut", ("add",), lut, 0))
    shape = QNetwork(spec, tuple(nodes), ops.OutputSpec("add.lut")).shapes["add.lut"]
    width = int(np.prod(shape))
    nodes.append(ops.Reshape("flat", ("add.lut",), (width,)))
    out = draw(st.integers(2, 4))
    nodes.append(ops.Dense("fc.acc", ("flat",), rng.integers(-128, 128, (out, width)), np.zeros(out, np.int64),
                           int(lut[draw(st.integers(0, 255))]), rng.integers(-5000, 5000, out),
                           pair_saturation=draw(st.booleans())))
    nodes.append(draw(requant("fc", "fc.acc", out)))
    return QNetwork(spec, tuple(nodes), ops.OutputSpec("fc", 0.1, 3))
