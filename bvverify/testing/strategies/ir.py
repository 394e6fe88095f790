"""Hypothesis strategies for random integer networks built directly in the IR
(every op and requantizer profile, weights of 2..16 bits, zero points at the edges)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from bvverify.ir import ops
from bvverify.ir.graph import QNetwork
from bvverify.runtimes.gemmlowp import quantize_multiplier

zero_points = st.one_of(st.sampled_from([0, 1, 128, 254, 255]), st.integers(0, 255))


@st.composite
def requant(draw, name, src, channels):
    """A random Requantize node over `channels` channels."""
    profile = draw(st.sampled_from(["fbgemm", "qnnpack", "onnxruntime", "onednn", "gemmlowp", "pow2",
                                    "onnxruntime_integer"]))
    per_ch = draw(st.booleans())
    n = channels if per_ch else 1
    z = draw(zero_points)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if profile == "pow2":
        params = {"shift": np.int64(draw(st.integers(0, 10)))}
        lo, hi = draw(st.sampled_from([(0, 15), (0, 255), (-32, 31), (-128, 127)]))
    elif profile == "gemmlowp":
        pairs = [quantize_multiplier(float(v)) for v in rng.uniform(1e-4, 0.05, n)]
        params = {"multiplier": np.array([p[0] for p in pairs], np.int64), "shift": np.array([p[1] for p in pairs], np.int64),
                  "z_out": np.int64(z)}
        lo, hi = (z if draw(st.booleans()) else 0), 255
    elif profile == "onnxruntime_integer":  # MatMulInteger / ConvInteger -> Cast -> Mul -> Add -> [Relu] -> QuantizeLinear
        relu = draw(st.booleans())
        params = {"mul": (rng.uniform(0.002, 0.05) * rng.uniform(0.001, 0.05, n)).astype(np.float32),
                  "bias": rng.normal(0, 0.5, n).astype(np.float32),
                  "clip_lo": np.full(n, 0.0 if relu else -np.inf, np.float32), "clip_hi": np.full(n, np.inf, np.float32),
                  "s_out": np.float32(rng.uniform(0.01, 0.3)), "z_out": np.int64(z)}
        lo, hi = (z if draw(st.booleans()) else 0), 255
    else:
        params = {"s_in": np.float32(rng.uniform(0.002, 0.05)), "sw": rng.uniform(0.001, 0.05, n).astype(np.float32),
                  "s_out": np.float32(rng.uniform(0.01, 0.3)), "z_out": np.int64(z)}
        if profile in ("fbgemm", "onednn"):
            params["bias"] = rng.normal(0, 0.5, n).astype(np.float32)
        if profile == "fbgemm":
            params["per_channel"] = np.int64(per_ch)
        lo, hi = (z if draw(st.booleans()) else 0), 255
    return ops.Requantize(name, (src,), profile, params, lo, hi)


@st.composite
def dense_block(draw, name, src, width_in, x_zero, bits):
    out = draw(st.integers(1, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    half = 2 ** (bits - 1)
    w = rng.integers(-half, half, (out, width_in))
    wz = rng.integers(-min(half, 4), min(half, 4), out) if draw(st.booleans()) else np.zeros(out, np.int64)
    bias = rng.integers(-5000, 5000, out) if draw(st.booleans()) else None
    d = ops.Dense(name + ".acc", (src,), w, wz, x_zero, bias, weight_bits=bits,
                  pair_saturation=draw(st.booleans()) if bits <= 8 else False)
    r = draw(requant(name, name + ".acc", out))
    return [d, r], out


@st.composite
def networks(draw, conv: bool | None = None):
    """A random QNetwork: optional conv/pool front end, then dense layers."""
    bits = draw(st.sampled_from([2, 4, 8, 8, 12, 16]))
    x_zero = draw(zero_points)
    integer_input = draw(st.booleans())
    quant = None if integer_input else ops.InputQuantizer(draw(st.floats(0.003, 0.1)), x_zero,
                                                           draw(st.sampled_from(["torch_fma", "mul_inv", "div"])))
    use_conv = draw(st.booleans()) if conv is None else conv
    nodes: list[ops.Node] = []
    if use_conv:
        c = draw(st.integers(1, 3))
        h = draw(st.integers(3, 7))
        spec = ops.InputSpec((c, h, h), 0, 255, quant)
        groups = draw(st.sampled_from([g for g in (1, c) if c % g == 0]))
        o = groups * draw(st.integers(1, 3))
        k = draw(st.integers(1, 3))
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        half = 2 ** (bits - 1)
        w = rng.integers(-half, half, (o, c // groups, k, k))
        pad = draw(st.integers(0, 1))
        dil = draw(st.integers(1, 2))
        if dil * (k - 1) + 1 > h + 2 * pad:
            dil = 1
        nodes.append(ops.Conv2d("conv.acc", ("input",), w, np.zeros(o, np.int64), x_zero, None,
                                (draw(st.integers(1, 2)),) * 2, (pad, pad), (dil, dil), groups, weight_bits=bits,
                                pair_saturation=draw(st.booleans()) if bits <= 8 else False))
        nodes.append(draw(requant("conv", "conv.acc", o)))
        probe = QNetwork(spec, tuple(nodes), ops.OutputSpec("conv"))
        shape = probe.shapes["conv"]
        src = "conv"
        if draw(st.booleans()) and min(shape[1:]) >= 2:
            nodes.append(ops.MaxPool2d("pool", (src,), (2, 2), (draw(st.integers(1, 2)),) * 2, (draw(st.integers(0, 1)),) * 2,
                                       (1, 1), draw(st.booleans())))
            src = "pool"
            shape = QNetwork(spec, tuple(nodes), ops.OutputSpec(src)).shapes[src]
        nodes.append(ops.Reshape("flat", (src,), (int(np.prod(shape)),)))
        width, src = int(np.prod(shape)), "flat"
        zin = int(nodes[1].params.get("z_out", 0)) if nodes[1].profile != "pow2" else 0
        lo_prev, hi_prev = nodes[1].lo, nodes[1].hi
    else:
        width = draw(st.integers(1, 12))
        spec = ops.InputSpec((width,), 0, 255, quant)
        src, zin = "input", x_zero
        lo_prev, hi_prev = 0, 255
    for i in range(draw(st.integers(1, 3))):
        zin = min(max(zin, lo_prev), hi_prev)
        block, width = draw(dense_block(f"fc{i}", src, width, zin, bits))
        nodes += block
        src = block[-1].name
        r = block[-1]
        zin = int(r.params.get("z_out", 0)) if r.profile != "pow2" else max(r.lo, 0)
        lo_prev, hi_prev = r.lo, r.hi
    return QNetwork(spec, tuple(nodes), ops.OutputSpec(src, 0.1, 0))


def inputs_for(net: QNetwork, n: int, seed: int) -> np.ndarray:
    """Random inputs, a share of them saturating (codes at both ends)."""
    rng = np.random.default_rng(seed)
    shape = (n,) + tuple(net.input.shape)
    if net.integer_input:
        x = rng.integers(net.input.lo, net.input.hi + 1, shape)
        x[: n // 4] = rng.choice([net.input.lo, net.input.hi], (n // 4,) + shape[1:])
        return x
    q = net.input.quantizer
    span = 300 * q.scale
    return rng.uniform(-span, span, shape).astype(np.float32)


def tiny_net(integer_input: bool = False) -> QNetwork:
    """A fixed 2-input, 3-output network (outputs x0, x1, x0 + x1) for end-to-end tests."""
    q = None if integer_input else ops.InputQuantizer(0.1, 10, "torch_fma")
    w = np.array([[1, 0], [0, 1], [1, 1]])
    nodes = (ops.Dense("acc", ("input",), w, np.zeros(3, np.int64), 10 if q else 0),
             ops.Requantize("out", ("acc",), "pow2", {"shift": np.int64(0)}, 0, 255))
    return QNetwork(ops.InputSpec((2,), 0, 255, q), nodes, ops.OutputSpec("out", 0.5, 0))
