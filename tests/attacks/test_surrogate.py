"""The attack surrogate: its forward pass is the reference interpreter bit for bit, on generated
networks of every profile and op, and its straight-through gradients are finite and useful."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bvverify
from bvverify.attacks.surrogate import SURROGATE, Surrogate, lookup_slope, one_thread, requant_slope
from bvverify.bundled import resolve_model, test_images
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork
from bvverify.runtimes.fbgemm import derived
from tests.attacks.graphs import mixed_nets
from tests.strategies import Tally, add_nets, avgpool_nets, networks, requant

SETTINGS = settings(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


def random_codes(net: QNetwork, n: int, seed: int) -> np.ndarray:
    """Random codes of the input range, a quarter of them at its two ends (saturating paths)."""
    rng = np.random.default_rng(seed)
    shape = (n,) + tuple(net.input.shape)
    codes = rng.integers(net.input.lo, net.input.hi + 1, shape)
    codes[: n // 4] = rng.choice([net.input.lo, net.input.hi], (n // 4,) + shape[1:])
    return codes


def check_forward(net: QNetwork, n: int = 24, seed: int = 0) -> torch.Tensor:
    """Surrogate output == interpreter output on random codes; returns the input gradient of a sum."""
    codes = random_codes(net, n, seed)
    z = torch.from_numpy(codes.astype(np.float64)).requires_grad_(True)
    out = Surrogate(net)(z)
    assert out.dtype == torch.float64
    want = np.asarray(net.evaluate_codes(codes))
    got = out.detach().numpy()
    assert np.array_equal(got, np.round(got)) and np.array_equal(got.astype(np.int64), want)
    weights = torch.from_numpy(np.random.default_rng(seed).normal(size=got.shape))
    with one_thread():
        (grad,) = torch.autograd.grad((out * weights).sum(), z)
    assert torch.isfinite(grad).all()
    return grad


def forward_suite(nets, n: int, what: str, moving: float) -> None:
    """``check_forward`` on ``n`` drawn networks; at least a share ``moving`` of them get a nonzero
    gradient on random codes (random weights saturate many networks: measured shares in the callers)."""
    tally = Tally(f"surrogate {what}")

    @settings(SETTINGS, max_examples=n)
    @given(nets, st.integers(0, 2**16))
    def run(net: QNetwork, seed: int) -> None:
        grad = check_forward(net, seed=seed)
        tally.add(*(["moving"] if bool((grad != 0).any()) else []))

    run()
    tally.require(shares={"moving": moving})


def test_forward_is_the_interpreter_on_generated_networks() -> None:
    """Every requantizer profile, 2..16-bit weights, int16 pair saturation, conv / maxpool / reshape
    (50 of 100 with a gradient measured)."""
    forward_suite(networks(), 100, "IR networks", 0.3)


def test_forward_is_the_interpreter_on_avgpool_and_add() -> None:
    """Every AvgPool2d kernel path (NCHW, NHWC vector / scalar channels, qnnpack) and Add rule
    (40 of 40 and 33 of 40 with a gradient measured)."""
    forward_suite(avgpool_nets(), 40, "avgpool", 0.6)
    forward_suite(add_nets(), 40, "add", 0.5)


def test_forward_is_the_interpreter_on_every_op_chained() -> None:
    """Lookup, Concat, Clamp, max (edge padding, floor) or avg pooling and Add in one graph
    (19 of 60 with a gradient measured: random tables and clamps saturate)."""
    forward_suite(mixed_nets(), 60, "every op chained", 0.2)


@pytest.mark.parametrize("name", ["digits-mlp", "digits-cnn"])
def test_bundled_models_forward_and_gradient(name: str) -> None:
    """On the test images: exact outputs, and a nonzero finite gradient of every logit's margin."""
    net = bvverify.load(resolve_model(name))
    x, y = test_images()
    codes = net.quantize_input(x.reshape((len(x),) + tuple(net.input.shape)))
    z = torch.from_numpy(codes.astype(np.float64)).requires_grad_(True)
    out = Surrogate(net)(z)
    assert np.array_equal(out.detach().numpy().astype(np.int64), net.evaluate_codes(codes))
    rows = torch.arange(len(y))
    margin = out[rows, torch.from_numpy(y)] - out.sum(dim=1) / out.shape[1]
    (grad,) = torch.autograd.grad(margin.sum(), z)
    assert torch.isfinite(grad).all()
    assert (grad.reshape(len(y), -1).abs().sum(dim=1) > 0).all()  # every image gets a direction


def test_every_op_has_a_rule() -> None:
    assert set(SURROGATE) == set(ops.NODE_TYPES.values())
    assert not [t for t, fn in SURROGATE.items() if getattr(fn, "refuses", None)]


@settings(SETTINGS, max_examples=60)
@given(requant("r", "acc", 3))
def test_requant_slope_is_the_profile_scale(node: ops.Requantize) -> None:
    """The measured slope is the profile's own multiplier (fbgemm's M, a pow2 shift, gemmlowp's Q31)."""
    slope = requant_slope(node, 3)
    p = node.params
    if node.profile == "fbgemm":
        want = np.broadcast_to(derived(p)[0].astype(np.float64), (3,))
    elif node.profile == "pow2":
        want = np.full(3, 2.0 ** -int(p["shift"]))
    elif node.profile == "gemmlowp":
        want = np.broadcast_to(p["multiplier"] * 2.0 ** (p["shift"].astype(np.float64) - 31), (3,))
    elif node.profile == "onnxruntime_integer":  # MatMulInteger's float chain: the Mul constant over the output scale
        want = np.broadcast_to(p["mul"].astype(np.float64) / np.float32(p["s_out"]), (3,))
    else:
        want = np.broadcast_to(np.float32(p["s_in"]) * p["sw"].astype(np.float64) / np.float32(p["s_out"]), (3,))
    assert np.allclose(slope, want, rtol=1e-3, atol=1e-9), (node.profile, slope, want)


def test_lookup_slope_follows_a_step_table() -> None:
    table = np.repeat(np.arange(10), 3)  # one code up every 3 codes: slope 1/3
    assert np.allclose(lookup_slope(table)[3:-3], 1 / 3, atol=0.1)
    assert np.all(lookup_slope(table[::-1]) <= 0)


def test_straight_through_rounding_and_saturation() -> None:
    """The input is rounded forward and passed straight through backward; a requantizer saturated
    at its clamp gives no gradient, one inside its band gives its slope."""
    spec = ops.InputSpec((2,), 0, 255)
    nodes = (ops.Dense("acc", ("input",), np.array([[1, 0], [0, 1]]), np.zeros(2, np.int64), 0),
             ops.Requantize("out", ("acc",), "pow2", {"shift": np.int64(1)}, 0, 50))
    net = QNetwork(spec, nodes, ops.OutputSpec("out"))
    z = torch.tensor([[10.4, 200.0]], dtype=torch.float64, requires_grad=True)
    out = Surrogate(net)(z)
    assert out.detach().tolist() == [[5.0, 50.0]]
    (grad,) = torch.autograd.grad(out.sum(), z)
    assert grad.tolist() == [[0.5, 0.0]]
