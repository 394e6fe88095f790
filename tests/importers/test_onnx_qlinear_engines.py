"""onnxruntime's QLinearAdd / average-pool rules in every engine, against brute force.

Small integer-input IR networks: an ``Add`` with rule ``onnxruntime`` of two independent
halves of the input (or the same tensor), uint8 or int8 codes; an ``AvgPool2d`` with rule
``onnxruntime`` (the integer global kernel) or ``onnxruntime_float`` (the float kernel).
Ground truth enumerates every point of a random input code box (at most 2^12) through the
reference interpreter (itself checked against onnxruntime in ``test_onnx_qlinear_ops``);
the bit-vector and ILP engines' verdicts on a random output condition must agree, and
their counterexamples must satisfy it. A float pool whose table is not proven exact must
be refused by name (never answered), and the bounds must contain every point.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bvverify.bounds import tensor_bounds
from bvverify.engines.bv import verify_bv
from bvverify.engines.ilp import verify_ilp
from bvverify.errors import UnsupportedOpError
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork
from bvverify.properties.spec import Linear, OutputCondition, Property
from bvverify.runtimes.pooling import table_proven
from tests.strategies import Tally, enumerate_box, tight_conditions, varying_outputs

F32 = np.float32
SETTINGS = settings(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
CODES = {"u8": (0, 255), "s8": (-128, 127)}


@st.composite
def _scale(draw) -> float:
    if draw(st.booleans()):
        return float(F32(draw(st.integers(1, 15)) * 2.0 ** draw(st.integers(-8, 0))))  # dyadic: exact ties
    return float(F32(np.exp(draw(st.floats(np.log(1e-3), np.log(2.0))))))


@st.composite
def ort_add_nets(draw) -> QNetwork:
    lo, hi = CODES[draw(st.sampled_from(["u8", "s8"]))]
    n = draw(st.sampled_from([1, 3, 5, 33]))
    zp = st.integers(lo, hi)
    so = draw(_scale())
    sa, sb = (float(F32(so * np.exp(draw(st.floats(-2.5, 2.5))))) for _ in range(2))
    p = {"sa": F32(sa), "za": np.int64(draw(zp)), "sb": F32(sb), "zb": np.int64(draw(zp)), "s_out": F32(so),
         "z_out": np.int64(draw(zp))}
    if draw(st.integers(0, 3)):  # independent halves of the input, picked by 0/1 Dense layers
        eye, zeros = np.eye(n, dtype=np.int64), np.zeros((n, n), np.int64)
        nodes = [ops.Dense("a", ("input",), np.concatenate([eye, zeros], 1), np.zeros(n, np.int64), 0),
                 ops.Dense("b", ("input",), np.concatenate([zeros, eye], 1), np.zeros(n, np.int64), 0)]
        spec, srcs = ops.InputSpec((2 * n,), lo, hi, None), ("a", "b")
    else:
        nodes, spec, srcs = [], ops.InputSpec((n,), lo, hi, None), ("input", "input")
    nodes.append(ops.Add("add", srcs, "onnxruntime", p, False, lo, hi))
    return QNetwork(spec, tuple(nodes), ops.OutputSpec("add"))


@st.composite
def ort_pool_nets(draw) -> QNetwork:
    lo, hi = CODES[draw(st.sampled_from(["u8", "s8"]))]
    c = draw(st.integers(1, 3))
    xs = draw(_scale())
    ys = xs if draw(st.booleans()) else float(F32(xs * np.exp(draw(st.floats(-1.0, 1.0)))))
    z = draw(st.integers(lo, hi))
    zo = z if draw(st.booleans()) else draw(st.integers(lo, hi))
    if draw(st.booleans()):
        h, w = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        node = ops.AvgPool2d("pool", ("input",), (h, w), (1, 1), (0, 0), False, False, None, "onnxruntime", z, lo, hi,
                             scale=xs, out_scale=ys, out_zero_point=zo)
    else:
        k = draw(st.sampled_from([(2, 2), (1, 2), (3, 3)]))
        h, w = draw(st.integers(k[0], 4)), draw(st.integers(k[1], 4))
        pad = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
        node = ops.AvgPool2d("pool", ("input",), k, (draw(st.integers(1, 2)), draw(st.integers(1, 2))), pad, False,
                             draw(st.booleans()), None, "onnxruntime_float", z, lo, hi, scale=xs, out_scale=ys,
                             out_zero_point=zo)
    return QNetwork(ops.InputSpec((c, h, w), lo, hi, None), (node,), ops.OutputSpec("pool"))


def _box(draw, net: QNetwork) -> tuple[np.ndarray, np.ndarray]:
    """A code box of at most 2^12 points around a random centre (some elements fixed)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = net.input.shape
    n = int(np.prod(shape))
    centre = rng.integers(net.input.lo, net.input.hi + 1, n)
    radius = np.zeros(n, np.int64)
    points = 1
    for i in rng.permutation(n):
        r = int(rng.choice([0, 1, 2, 5, 20], p=[0.3, 0.3, 0.2, 0.1, 0.1]))
        while r and points * (2 * r + 1) > 2**12:
            r //= 2
        radius[i] = r
        points *= 2 * r + 1
    clo = np.clip(centre - radius, net.input.lo, net.input.hi)
    chi = np.clip(centre + radius, net.input.lo, net.input.hi)
    return clo.reshape(shape), chi.reshape(shape)


def _engines(net: QNetwork, prop: Property) -> tuple[dict[str, str], bool]:
    """Each engine's verdict (counterexamples checked); and whether the ILP encoder refused (allowed
    only for a float pool without an exact integer-sum table: the bit-vector engine must answer)."""
    out, refused = {}, False
    for name, run in (("bv", lambda: verify_bv(net, prop, timeout=60)),
                      ("ilp", lambda: verify_ilp(net, prop, timeout=60))):
        try:
            v = run()
        except UnsupportedOpError as e:
            node = net.nodes[-1]
            assert name == "ilp" and isinstance(node, ops.AvgPool2d) and node.rule == "onnxruntime_float", e
            assert not table_proven(node, net.input.shape), e
            assert "pool" in str(e) and "float32" in str(e), e
            refused = True
            continue
        assert v.status != "unknown", (name, v.reason)
        if v.counterexample is not None:
            codes = v.counterexample.codes
            assert prop.output.holds(net.evaluate_codes(codes[None]).reshape(-1)), name
        out[name] = v.status
    return out, refused


def check(data, net: QNetwork) -> str:
    clo, chi = _box(data.draw, net)
    points = enumerate_box(clo, chi)
    flat = net.evaluate_codes(points).reshape(len(points), -1)
    for method in ("interval", "symbolic"):
        lo, hi = tensor_bounds(net, clo, chi, method)[net.output.name]
        assert np.all(flat.min(0) >= np.ravel(lo)) and np.all(flat.max(0) <= np.ravel(hi)), method
    cond = data.draw(tight_conditions(varying_outputs(flat), flat))
    truth = any(cond.holds(row) for row in flat)
    prop = Property(clo.astype(np.float64), chi.astype(np.float64), cond)
    verdicts, refused = _engines(net, prop)
    for name, status in verdicts.items():
        assert (status == "violated") == truth, f"{name} says {status}, brute force says violated={truth}"
    return verdicts["bv"] + (" float-kernel" if refused else "")


@pytest.mark.parametrize("kind, nets, examples", [("add", ort_add_nets, 40), ("pool", ort_pool_nets, 40)])
def test_engines_match_bruteforce(kind, nets, examples) -> None:
    tally = Tally(f"onnxruntime {kind}: bv / ilp vs brute force")

    @settings(SETTINGS, max_examples=examples)
    @given(nets(), st.data())
    def inner(net, data):
        tally.add(check(data, net))

    inner()
    if kind == "pool":  # the bit-vector engine's float-kernel encoding was exercised both ways
        tally.require(**{"holds float-kernel": 1, "violated float-kernel": 1})
    tally.require(holds=3, violated=3)


def test_float_pool_on_a_tie_bv_exact_ilp_refuses() -> None:
    """Equal scales, a 2x2 window: a sum of 2 (mod 4) lies on an output tie, decided by the taps'
    float rounding, so no integer-sum table is exact: the ILP encoder refuses by name, the bit-vector
    engine encodes the float kernel (its answers checked against enumeration), the interpreter runs it."""
    s = float(F32(0.0123))
    node = ops.AvgPool2d("pool", ("input",), (2, 2), (2, 2), (0, 0), False, False, None, "onnxruntime_float", 7, 0, 255,
                         scale=s, out_scale=s, out_zero_point=7)
    net = QNetwork(ops.InputSpec((1, 2, 2), 0, 255, None), (node,), ops.OutputSpec("pool"))
    assert not table_proven(node, (1, 2, 2))
    rng = np.random.default_rng(5)
    decided_on_a_tie = 0
    for _ in range(24):
        centre = rng.integers(20, 230, (1, 2, 2))
        clo, chi = centre - rng.integers(0, 3, (1, 2, 2)), centre + rng.integers(0, 3, (1, 2, 2))
        pts = enumerate_box(clo, chi)
        flat = net.evaluate_codes(pts).reshape(len(pts), -1)[:, 0]
        sums = pts.reshape(len(pts), -1).sum(1) - 4 * 7
        tie = sums % 4 == 2
        # off the ties the code is the rounded mean; on them the taps' rounding decides
        assert np.array_equal(flat[~tie], np.rint(sums[~tie] / 4).astype(np.int64) + 7)
        decided_on_a_tie += bool(tie[flat == flat.max()].all())  # the largest code only from a tie rounding up
        for m in (int(flat.max()), int(flat.max()) + 1):
            cond = OutputCondition(((Linear(((0, Fraction(-1)),), Fraction(-m)),),), "codes")  # y >= m
            prop = Property(clo.astype(np.float64), chi.astype(np.float64), cond)
            v = verify_bv(net, prop, timeout=60)
            assert v.status == ("violated" if (flat >= m).any() else "holds"), (m, v.status)
            if v.counterexample is not None:
                assert net.evaluate_codes(v.counterexample.codes[None]).ravel()[0] >= m
            if tie.any():  # a reachable sum on a tie: no exact table for the ILP encoder
                with pytest.raises(UnsupportedOpError, match="pool.*float32.*--engine bv"):
                    verify_ilp(net, prop, timeout=30)
            else:  # the table holds on this box's sums
                assert verify_ilp(net, prop, timeout=30).status == v.status
    assert decided_on_a_tie >= 2


def test_proven_tables_equal_the_float_kernel() -> None:
    """Where ``runtimes.ort_pool`` proves a float pool's integer-sum table, that table gives the float
    kernel's code on every input (random windows of random nodes, extreme and zero-point codes mixed in)."""
    from bvverify.runtimes.pooling import avgpool_code_fn, avgpool_plan

    rng = np.random.default_rng(8)
    proven = 0
    for _ in range(60):
        lo, hi = CODES[str(rng.choice(["u8", "s8"]))]
        xs = float(F32(np.exp(rng.uniform(-6, 1))))
        ys = float(F32(xs * np.exp(rng.uniform(-1.0, 1.0))))
        z, zo = int(rng.integers(lo, hi + 1)), int(rng.integers(lo, hi + 1))
        k = (int(rng.integers(1, 4)), int(rng.integers(2, 4)))
        node = ops.AvgPool2d("pool", ("input",), k, (1, 1), (k[0] // 2, k[1] // 2), False, bool(rng.integers(0, 2)),
                             None, "onnxruntime_float", z, lo, hi, scale=xs, out_scale=ys, out_zero_point=zo)
        shape = (2, 4, 4)
        if not table_proven(node, shape):
            continue
        proven += 1
        x = rng.integers(lo, hi + 1, (3000, *shape))
        x[:500] = rng.choice([lo, hi, z], (500, *shape))
        want = QNetwork(ops.InputSpec(shape, lo, hi, None), (node,), ops.OutputSpec("pool")).evaluate_codes(x)
        _, wins = avgpool_plan(node, shape)
        for win in wins:
            acc = x[:, :, win.h0:win.h1, win.w0:win.w1].sum((2, 3)) - win.size * z
            got = avgpool_code_fn(node, "ort_float", win.n)(acc)
            assert np.array_equal(got, want[:, :, win.oy, win.ox]), (xs, ys, z, zo, k, win)
    assert proven >= 15
