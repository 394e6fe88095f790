"""The exact bit-vector lowering of AvgPool2d and Add against brute force.

Random small integer-input IR networks: an AvgPool2d over the input (every kernel
path: NCHW, channels-last vector / scalar channel classes, qnnpack's full-window
form; padding, ceil mode, count_include_pad, divisor_override), and an Add of two
operand branches (independent halves of the input selected by 0/1 Dense layers,
or the same tensor / a clamp of it; fbgemm / x86 vector and scalar-tail positions,
qnnpack fixed point, relu, channels-last). Ground truth enumerates every point of
a random input code box (at most 2^12) through the reference interpreter; the
engine's verdict on a random output condition over the codes must agree.
A direct check substitutes random box points into the lowered terms.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import z3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bvverify.encoders.bv import Lowering
from bvverify.engines.bv import verify_bv
from bvverify.errors import UnsupportedOpError
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork
from bvverify.ir.split import checked_table
from bvverify.properties.spec import Linear, OutputCondition, Property
from bvverify.runtimes.elementwise import add_vector_mask, qnnpack_multipliers
from tests.engines.test_bv_bruteforce import allocate_radii, enumerate_box

MAX_POINTS = 2**12
F32 = np.float32
COUNTS = {"cases": 0, "holds": 0, "violated": 0}
zero_points = st.one_of(st.sampled_from([0, 1, 128, 254, 255]), st.integers(0, 255))


@st.composite
def scales(draw):
    kind = draw(st.integers(0, 3))
    if kind == 0:  # dyadic: exact ties inside the float computations
        return float(F32(draw(st.integers(1, 15)) * 2.0 ** draw(st.integers(-10, 1))))
    if kind == 1:
        return float(F32(1.0 / draw(st.integers(1, 300))))
    if kind == 2:
        return float(F32(draw(st.integers(1, 2000)) / 1000.0))
    return float(F32(np.exp(draw(st.floats(np.log(1e-3), np.log(4.0))))))


@st.composite
def avgpool_nets(draw):
    c = draw(st.sampled_from([1, 2, 3, 16, 17, 17]))  # 17 channels: both NHWC channel classes
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    if draw(st.booleans()):  # divisors 2, 4: exact .5 ties
        kh, kw = draw(st.sampled_from([(1, 2), (2, 1), (2, 2)]))
        h, w = max(h, kh), max(w, kw)
    else:
        kh, kw = draw(st.integers(1, h)), draw(st.integers(1, w))
    ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
    rule = draw(st.sampled_from(["fbgemm", "qnnpack"]))
    ceil = draw(st.booleans())
    if rule == "qnnpack" and not ceil and kh * kw == 1:
        ceil = True  # torch refuses a 1x1 qnnpack pool
    z = draw(st.one_of(zero_points, st.sampled_from([3, 127, 129])))  # odd: vector / scalar ties differ
    lo, hi = draw(st.sampled_from([(0, 255), (0, 255), (z, 255), (3, 250)]))
    in_lo, in_hi = draw(st.sampled_from([(0, 255), (0, 255), (0, 255), (-40, 300)]))
    node = ops.AvgPool2d("pool", ("input",), (kh, kw), (draw(st.integers(1, 3)), draw(st.integers(1, 3))), (ph, pw),
                         ceil, draw(st.booleans()), draw(st.one_of(st.none(), st.integers(1, 12))), rule, z, lo, hi,
                         draw(st.booleans()), draw(scales()), draw(st.sampled_from([16, 8])))  # AVX-512 / AVX2 blocks
    return QNetwork(ops.InputSpec((c, h, w), in_lo, in_hi, None), (node,), ops.OutputSpec("pool"))


@st.composite
def add_nets(draw):
    if draw(st.booleans()):
        shape = (draw(st.sampled_from([1, 2, 7, 63, 64, 65, 70, 100, 129])),)
    else:
        shape = draw(st.sampled_from([(1, 1, 1), (2, 3, 4), (3, 2, 2), (5, 4, 4), (4, 4, 5), (3, 5, 5), (17, 2, 2)]))
    n = int(np.prod(shape))
    rule = draw(st.sampled_from(["torch_fbgemm", "torch_x86", "torch_qnnpack"]))
    so = draw(scales())
    kind = draw(st.integers(0, 3))
    if kind == 0:  # dyadic ratios: exact .5 ties, where the vector and scalar paths round differently
        so = float(2.0 ** draw(st.integers(-8, 0)))
        sa, sb = (so * draw(st.sampled_from([0.5, 0.25, 0.75, 1.5, 1.25, 2.5, 0.375])) for _ in range(2))
    elif kind == 1:
        sa, sb = draw(scales()), draw(scales())
    else:  # operand scales within a factor ~20 of the output's: outputs move
        sa, sb = (float(F32(so * np.exp(draw(st.floats(-3.0, 3.0))))) for _ in range(2))
    p = {"sa": F32(sa), "za": np.int64(draw(zero_points)), "sb": F32(sb),
         "zb": np.int64(draw(zero_points)), "s_out": F32(so), "z_out": np.int64(draw(zero_points))}
    if rule == "torch_qnnpack":
        try:
            qnnpack_multipliers(p)
        except UnsupportedOpError:
            rule = "torch_fbgemm"
    zo = int(p["z_out"])
    lo, hi = draw(st.sampled_from([(0, 255), (0, 255), (zo, 255), (2, 240)]))
    branches = draw(st.sampled_from(["halves", "halves", "halves", "same", "clamp"]))
    nodes: list[ops.Node] = []
    if branches == "halves":
        spec = ops.InputSpec((2 * n,), 0, 255, None)
        eye = np.eye(n, dtype=np.int64)
        zeros = np.zeros((n, n), np.int64)
        nodes.append(ops.Dense("a.flat", ("input",), np.concatenate([eye, zeros], 1), np.zeros(n, np.int64), 0))
        nodes.append(ops.Dense("b.flat", ("input",), np.concatenate([zeros, eye], 1), np.zeros(n, np.int64), 0))
        nodes.append(ops.Reshape("a", ("a.flat",), shape))
        nodes.append(ops.Reshape("b", ("b.flat",), shape))
        srcs = ("a", "b")
    else:
        spec = ops.InputSpec(shape, 0, 255, None)
        if branches == "same":
            srcs = ("input", "input")
        else:
            nodes.append(ops.Clamp("b", ("input",), 30, 200))
            srcs = ("input", "b")
    nodes.append(ops.Add("add", srcs, rule, p, draw(st.booleans()), lo, hi,
                         channels_last=len(shape) == 3 and draw(st.booleans()),
                         vec_block=draw(st.sampled_from([64, 32]))))  # AVX-512 / AVX2 vector blocks
    net = QNetwork(spec, tuple(nodes), ops.OutputSpec("add"))
    net.meta["independent"] = branches == "halves"
    return net


def code_box(draw, net):
    """A random code box of at most MAX_POINTS points; for add nets the varying
    elements are drawn so both vector and scalar-tail positions get hit."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = tuple(net.input.shape)
    n = int(np.prod(shape))
    centre = rng.integers(net.input.lo, net.input.hi + 1, n)
    node = net.nodes[-1]
    mode = draw(st.integers(0, 3))
    if mode == 1:  # saturated ends
        ends = rng.random(n) < 0.5
        centre[ends] = rng.choice([net.input.lo, net.input.hi], int(ends.sum()))
    elif mode == 2 and isinstance(node, ops.AvgPool2d):  # around the zero point
        centre = np.clip(int(node.zero_point) + rng.integers(-3, 4, n), net.input.lo, net.input.hi)
    elif mode >= 2 and isinstance(node, ops.Add) and net.meta.get("independent"):
        p, m = node.params, n // 2
        za, zb, zo = int(p["za"]), int(p["zb"]), int(p["z_out"])
        if mode == 2:  # both operands near their zero points
            centre[:m] = za + rng.integers(-3, 4, m)
            centre[m:] = zb + rng.integers(-3, 4, m)
        else:  # operands whose sum lands mid-range in the output codes
            lo, hi = max(node.lo, 0), min(node.hi, 255)
            margin = min(5, (hi - lo) // 2)
            want = rng.integers(lo + margin, hi - margin + 1, m)
            real = float(p["s_out"]) * (want - zo) - float(p["sa"]) * (centre[:m] - za)
            centre[m:] = np.clip(np.rint(zb + real / float(p["sb"])), -(10**6), 10**6).astype(np.int64)
        centre = np.clip(centre, net.input.lo, net.input.hi)
    order = rng.permutation(n)
    if isinstance(node, ops.AvgPool2d) and rng.random() < 0.5:  # the last channel first (NHWC scalar class)
        per = n // shape[0]
        order = np.concatenate([order[order >= n - per], order[order < n - per]])
    if isinstance(node, ops.Add) and net.meta.get("independent"):
        # vary both operands at the same positions, a share of them on the scalar tail
        m = n // 2
        pos = rng.permutation(m)
        if rng.random() < 0.5:
            mask = add_vector_mask(node, node_shape(net, node)).ravel()
            pos = np.concatenate([rng.permutation(np.nonzero(~mask)[0]), rng.permutation(np.nonzero(mask)[0])])
            pos = pos[np.argsort(rng.random(len(pos)) < 0.5, kind="stable")]
        order = np.stack([pos, pos + m], 1).ravel()
    radius = allocate_radii(n, order, lambda: int(rng.choice([0, 1, 2, 3, 7, 20], p=[0.3, 0.25, 0.15, 0.1, 0.15, 0.05])),
                            MAX_POINTS)
    clo = np.clip(centre - radius, net.input.lo, net.input.hi)
    chi = np.clip(centre + radius, net.input.lo, net.input.hi)
    return clo.reshape(shape), chi.reshape(shape)


def node_shape(net, node):
    return net.shapes[node.name]


@st.composite
def conditions(draw, outs, flat):
    """Random DNF over the outputs ``outs``; each atom's bound sits at (or half a step
    off) the exact minimum its left-hand side reaches over the box, or mid-way."""
    clauses = []
    for _ in range(draw(st.integers(1, 2))):
        atoms = []
        for _ in range(draw(st.integers(1, 3))):
            k = draw(st.integers(1, min(3, len(outs))))
            js = draw(st.lists(st.sampled_from([int(j) for j in outs]), min_size=k, max_size=k, unique=True))
            cs = [Fraction(draw(st.integers(-3, 3)), draw(st.sampled_from([1, 1, 2, 3]))) for _ in js]
            ints = flat[:, js] @ np.array([int(c * 6) for c in cs], dtype=np.int64)  # 6 * the left-hand side
            lo, hi = Fraction(int(ints.min()), 6), Fraction(int(ints.max()), 6)
            # a tight bound (the coefficients' signs make "at least" and "at most" both appear)
            base = lo if draw(st.integers(0, 3)) else (lo + hi) / 2
            rhs = base + Fraction(draw(st.integers(-2, 2)), 2)
            atoms.append(Linear(tuple(zip(js, cs)), rhs, draw(st.booleans())))
        clauses.append(tuple(atoms))
    return OutputCondition(tuple(clauses), "codes")


def varying_outputs(flat: np.ndarray) -> np.ndarray:
    """Indices of outputs that vary over the box (more interesting conditions), or all."""
    v = np.nonzero(flat.min(0) != flat.max(0))[0]
    return v if len(v) else np.arange(flat.shape[1])


def check_case(data, net):
    clo, chi = code_box(data.draw, net)
    points = enumerate_box(clo, chi)
    flat = net.evaluate_codes(points).reshape(len(points), -1)
    outs = varying_outputs(flat) if data.draw(st.booleans()) else np.arange(flat.shape[1])
    if data.draw(st.integers(0, 2)):
        cond = data.draw(conditions(outs, flat))
    else:  # "the outputs at `outs` are exactly y": y from a box point, maybe nudged off by one
        y = flat[data.draw(st.integers(0, len(flat) - 1)), outs].astype(np.int64)
        if data.draw(st.booleans()):
            y[data.draw(st.integers(0, len(outs) - 1))] += data.draw(st.sampled_from([-1, 1]))
        atoms = [Linear(((int(j), Fraction(s)),), Fraction(s * int(v))) for j, v in zip(outs, y) for s in (1, -1)]
        cond = OutputCondition((tuple(atoms),), "codes")
    truth = any(cond.holds(row) for row in flat)
    prop = Property(clo.astype(np.float64), chi.astype(np.float64), cond)
    verdict = verify_bv(net, prop, timeout=60)
    assert verdict.status != "unknown", verdict.reason
    assert (verdict.status == "violated") == truth, f"bv says {verdict.status}, brute force says violated={truth}"
    if verdict.counterexample is not None:
        codes = verdict.counterexample.codes
        assert np.all(codes >= clo) and np.all(codes <= chi)
        assert cond.holds(net.evaluate_codes(codes[None]).reshape(-1))
    COUNTS["cases"] += 1
    COUNTS[verdict.status] += 1


def check_terms(data, net, n_points=48):
    """Every lowered output term equals the interpreter on (up to ``n_points``) box points; the
    intervals contain every value and are attained when the operands are independent."""
    clo, chi = code_box(data.draw, net)
    enc = Lowering(net, clo, chi, step_mode="sum").run()
    points = enumerate_box(clo, chi)
    ref = net.evaluate_codes(points).reshape(len(points), -1)
    lo, hi = enc.output.lo.ravel(), enc.output.hi.ravel()
    assert np.all(ref.min(0) >= lo.astype(np.int64)) and np.all(ref.max(0) <= hi.astype(np.int64))
    if net.meta.get("independent", True):
        assert np.array_equal(ref.min(0), lo.astype(np.int64)) and np.array_equal(ref.max(0), hi.astype(np.int64))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    variables = [(i, t) for i, t in enumerate(enc.inputs.ravel()) if not z3.is_bv_value(t)]
    terms = enc.output.terms.ravel()
    for j, t in enumerate(terms):
        if z3.is_bv_value(t):
            assert np.all(ref[:, j] == t.as_signed_long()), j
    live = [(j, t) for j, t in enumerate(terms) if not z3.is_bv_value(t)]
    for k in rng.choice(len(points), min(n_points, len(points)), replace=False):
        pt = points[k].ravel()
        subs = [(t, z3.BitVecVal(int(pt[i]) % (1 << t.size()), t.size())) for i, t in variables]
        for j, t in live:
            v = z3.simplify(z3.substitute(t, *subs))
            assert z3.is_bv_value(v), v
            assert v.as_signed_long() == ref[k, j], (j, pt, v.as_signed_long(), ref[k, j])


SETTINGS = settings(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@settings(SETTINGS, max_examples=90)
@given(avgpool_nets(), st.data())
def test_avgpool_bv_matches_bruteforce(net, data):
    check_case(data, net)


@settings(SETTINGS, max_examples=110)
@given(add_nets(), st.data())
def test_add_bv_matches_bruteforce(net, data):
    check_case(data, net)


@settings(SETTINGS, max_examples=30)
@given(st.one_of(avgpool_nets(), add_nets()), st.data())
def test_lowered_terms_match_interpreter(net, data):
    check_terms(data, net)


def test_add_vector_wrap_refused():
    """An absurd scale ratio: the vector quantizer's int32 zero-point add wraps (255 -> 0)."""
    n = 64
    p = {"sa": F32(1000.0), "za": np.int64(0), "sb": F32(1000.0), "zb": np.int64(0), "s_out": F32(1e-4),
         "z_out": np.int64(200)}
    net = QNetwork(ops.InputSpec((n,), 0, 255, None), (ops.Add("add", ("input", "input"), "torch_fbgemm", p),),
                   ops.OutputSpec("add"))
    x = np.zeros((256, n), np.int64)
    x[:, 0] = np.arange(256)
    assert np.any(np.diff(net.evaluate_codes(x)[:, 0]) < 0)  # the runtime really is non-monotone here
    lo = np.zeros(n)
    hi = np.zeros(n)
    hi[0] = 255
    prop = Property(lo, hi, OutputCondition(((Linear(((0, Fraction(1)),), Fraction(300)),),), "codes"))
    with pytest.raises(UnsupportedOpError, match="monotone"):
        verify_bv(net, prop, timeout=60)


def test_checked_table_refuses_non_monotone():
    with pytest.raises(UnsupportedOpError, match="not monotone"):
        checked_table(lambda a: np.where(np.asarray(a) > 5, 0, np.asarray(a)), 0, 10, lambda: True, "f")
    t = checked_table(lambda a: np.asarray(a) // 3, -7, 20, lambda: False, "g")
    assert np.array_equal(t(np.arange(-7, 21)), np.arange(-7, 21) // 3)


def teardown_module(module):
    print(f"\nbv (avgpool / add) vs brute force: {COUNTS}")
