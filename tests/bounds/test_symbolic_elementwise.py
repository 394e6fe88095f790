"""Symbolic relaxations of AvgPool2d and Add (lines of their exact step tables, composed with
the exact integer sum) are sound and tighten what follows.

The generated single-op networks of ``test_bv_elementwise`` get a front (a requantized conv /
dense layer feeding the op, so its inputs are correlated) and a tail (a dense layer reading the
op's output, optionally next to the op's own inputs): the relaxation lines only matter where
they are substituted through. Ground truth enumerates every point of the input box."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bvverify.bounds import symbolic
from bvverify.bounds.interval import propagate
from bvverify.bounds.relax import points_relaxations
from bvverify.bounds.symbolic import Box, Taps, output_linear_lower, propagate_symbolic, symbolic_bounds
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork
from tests.strategies import add_nets, avgpool_nets, enumerate_box, requant, small_code_box, zero_points

SETTINGS = settings(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


def _op(net: QNetwork) -> ops.AvgPool2d | ops.Add:
    return next(n for n in net.nodes if isinstance(n, (ops.AvgPool2d, ops.Add)))


@st.composite
def fronts(draw, base: QNetwork) -> QNetwork:
    """The base net's op fed by a requantized layer of the input (and, for Add, the input itself:
    a residual connection), over an input of the op's shape."""
    op = _op(base)
    shape = base.shapes[op.inputs[0]]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    spec = ops.InputSpec(shape, 0, 255, None)
    if isinstance(op, ops.AvgPool2d):
        c = shape[0]
        k = draw(st.sampled_from([1, 3]))
        w = rng.integers(-3, 4, (c, c, k, k))
        nodes: list[ops.Node] = [ops.Conv2d("pre.acc", ("input",), w, np.zeros(c, np.int64), draw(zero_points), None,
                                            (1, 1), (k // 2, k // 2))]
        nodes.append(draw(requant("pre", "pre.acc", c)))
        nodes.append(replace(op, inputs=("pre",)))
    else:
        n = int(np.prod(shape))
        w = rng.integers(-3, 4, (n, n)) + 4 * np.eye(n, dtype=np.int64)
        nodes = [ops.Reshape("pre.in", ("input",), (n,)),
                 ops.Dense("pre.acc", ("pre.in",), w, np.zeros(n, np.int64), draw(zero_points), None)]
        nodes.append(draw(requant("pre.q", "pre.acc", 1)))
        nodes.append(ops.Reshape("pre", ("pre.q",), shape))
        pair = ("pre", "input") if draw(st.booleans()) else ("input", "pre")
        nodes.append(replace(op, inputs=pair))
    return QNetwork(spec, tuple(nodes), ops.OutputSpec(op.name))


@st.composite
def tails(draw, core: QNetwork) -> QNetwork:
    """A dense layer (mixed signs) reading the op's output, or the output next to the op's inputs."""
    op = _op(core)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = core.shapes[op.name]
    n = int(np.prod(shape))
    nodes = list(core.nodes) + [ops.Reshape("t.flat", (op.name,), (n,))]
    src, width = "t.flat", n
    if draw(st.booleans()):
        parts = ["t.flat"]
        for i, name in enumerate(dict.fromkeys(op.inputs)):
            m = int(np.prod(core.shapes[name]))
            nodes.append(ops.Reshape(f"t.in{i}", (name,), (m,)))
            parts.append(f"t.in{i}")
            width += m
        nodes.append(ops.Concat("t.cat", tuple(parts), 0))
        src = "t.cat"
    o = draw(st.integers(1, 4))
    w = rng.integers(-6, 7, (o, width))
    x_zero = int(np.clip(draw(zero_points), op.lo, op.hi))  # inside the output's (hence the concat's) code range
    nodes.append(ops.Dense("t.acc", (src,), w, np.zeros(o, np.int64), x_zero, None))
    nodes.append(draw(requant("t", "t.acc", o)))
    return QNetwork(core.input, tuple(nodes), ops.OutputSpec("t", 0.1, 0))


@st.composite
def chains(draw):
    """(net, code box): a generated AvgPool2d / Add net, maybe with a front, maybe with a tail."""
    base = draw(st.one_of(avgpool_nets(), add_nets()))
    core = draw(fronts(base)) if draw(st.booleans()) else base
    clo, chi = small_code_box(draw, core)
    net = draw(tails(core)) if draw(st.integers(0, 3)) else core
    return net, clo, chi


def _check_contains(net, clo, chi):
    sym, box = propagate_symbolic(net, clo, chi), propagate(net, clo, chi)
    names = tuple(n.name for n in net.nodes)
    vals = net.evaluate_codes(enumerate_box(clo, chi), keep=names)
    for name in names:
        lo, hi = sym[name]
        assert lo.dtype == np.int64 and hi.dtype == np.int64 and lo.shape == net.shapes[name], name
        assert not ((vals[name] < lo[None]) | (vals[name] > hi[None])).any(), f"{name}: value outside its bounds"
        assert np.all(lo >= box[name][0]) and np.all(hi <= box[name][1]), f"{name}: looser than intervals"


@settings(SETTINGS, max_examples=60)
@given(chains())
def test_every_value_within_symbolic_bounds(case):
    _check_contains(*case)


@settings(SETTINGS, max_examples=40)
@given(chains(), st.data())
def test_output_linear_lower_is_sound(case, data):
    """Random rows C (and output differences): min over the whole box of C @ y >= the bound."""
    net, clo, chi = case
    flat = net.evaluate_codes(enumerate_box(clo, chi)).reshape(-1, int(np.prod(net.output_shape)))
    n = flat.shape[1]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    num = rng.integers(-7, 8, (4, n))
    num[0] = 0
    num[0, rng.integers(n)] += 6
    num[0, rng.integers(n)] -= 6
    C = np.array([[Fraction(int(v), 6) for v in row] for row in num], dtype=object)
    bound = output_linear_lower(net, clo, chi, C)
    least = (flat @ num.T).min(axis=0)
    for b, m in zip(bound, least):
        assert Fraction(float(b)) * 6 <= int(m), "linear lower bound above the true minimum"


def _dyadic(*arrays: np.ndarray) -> tuple[list[np.ndarray], int]:
    """Float arrays as exact integer (object) arrays in a common unit 2^e: x = ints * 2^e."""
    parts = []
    for a in arrays:
        f, e = np.frexp(np.asarray(a, dtype=np.float64))
        parts.append((np.ldexp(f, 53).astype(np.int64), e.astype(np.int64) - 53))
    nonzero = [e[m != 0] for m, e in parts if np.any(m != 0)]
    unit = int(min(v.min() for v in nonzero)) if nonzero else 0
    return [np.vectorize(lambda m, e: int(m) << int(e - unit) if m else 0, otypes=[object])(m, e) for m, e in parts], unit


@settings(SETTINGS, max_examples=60)
@given(chains(), st.data())
def test_op_lines_hold_exactly(case, data):
    """The op's lines (as stored, floats read as exact rationals) hold at box points, exactly."""
    net, clo, chi = case
    op = _op(net)
    state = symbolic_bounds(net, clo, chi)
    rel = state.relax[op.name]
    assert isinstance(rel, (Taps, Box))
    if isinstance(rel, Box):
        return
    points = enumerate_box(clo, chi)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    pick = np.unique(np.concatenate([[0, len(points) - 1], rng.integers(0, len(points), 30)]))
    vals = net.evaluate_codes(points[pick], keep=tuple(dict.fromkeys(op.inputs + (op.name,))))
    (c_lo, b_lo, c_hi, b_hi), unit = _dyadic(rel.c_lo, rel.b_lo, rel.c_hi, rel.b_hi)
    scale_y = Fraction(2) ** -unit
    for r in range(len(pick)):
        xs = np.stack([vals[k][r].ravel()[rel.src[:, j]] for j, k in enumerate(rel.inputs)], axis=1).astype(object)
        y = vals[op.name][r].ravel()
        low = (c_lo * xs).sum(axis=1) + b_lo
        high = (c_hi * xs).sum(axis=1) + b_hi
        for e in range(len(y)):
            yy = int(y[e]) * scale_y  # y in the unit 2^unit
            assert low[e] <= yy <= high[e], f"{op.name}[{e}]: line misses {int(y[e])}"


@settings(SETTINGS, max_examples=60)
@given(st.lists(st.tuples(st.integers(-300, 300), st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=40)),
                min_size=1, max_size=6), st.booleans())
def test_points_lines_hold(bands, monotone):
    """Lines of arbitrary (or monotone, the Add operands' case) integer tables, checked exactly at every point."""
    length = np.array([len(v) for _, v in bands])
    values = np.zeros((len(bands), int(length.max())), np.int64)
    for r, (_, v) in enumerate(bands):
        values[r, : len(v)] = np.sort(v) if monotone else v
    x_lo = np.array([b[0] for b in bands])
    lines = points_relaxations(x_lo, values, length)
    for e in range(len(bands)):
        a_lo, b_lo, a_hi, b_hi = (Fraction(float(v[e])) for v in lines)
        assert a_lo >= 0 and a_hi >= 0
        for k in range(length[e]):
            x, f = int(x_lo[e]) + k, int(values[e, k])
            assert a_lo * x + b_lo <= f <= a_hi * x + b_hi


# ---- tighter: against the interval pass and against the op as a fresh symbol -----------------------


def _boxed(monkeypatch):
    """symbolic bounds with AvgPool2d / Add back to fresh symbols (their interval only)."""
    monkeypatch.setattr(symbolic, "_avgpool_relax", lambda state, node, out, in_shape: (symbolic._box(out), out))
    monkeypatch.setattr(symbolic, "_add_relax", lambda state, node, out: (symbolic._box(out), out))


def _total_width(bounds: dict, names) -> int:
    return sum(int((bounds[k][1] - bounds[k][0]).sum()) for k in names)


def _pool_net() -> QNetwork:
    """out = acc of 2*pool - (x0 + x1) over pairs: nearly constant, unless the pool is a fresh symbol."""
    c, w = 2, 6
    spec = ops.InputSpec((c, 1, w), 0, 255, None)
    pool = ops.AvgPool2d("pool", ("input",), (1, 2), (1, 2), rule="fbgemm", zero_point=0)
    n_out, n_in = c * w // 2, c * w
    eye = np.eye(n_out, dtype=np.int64)
    wt = np.concatenate([2 * eye, -np.kron(eye, np.ones((1, 2), np.int64))], 1)
    nodes = (pool, ops.Reshape("pf", ("pool",), (n_out,)), ops.Reshape("xf", ("input",), (n_in,)),
             ops.Concat("cat", ("pf", "xf"), 0), ops.Dense("d", ("cat",), wt, np.zeros(n_out, np.int64), 0, None))
    return QNetwork(spec, nodes, ops.OutputSpec("d"))


def _add_net(rule: str) -> QNetwork:
    """out = add(a, b) compared with a + b by a dense layer (qnnpack: affine operand terms; fbgemm: not)."""
    n = 5
    spec = ops.InputSpec((2 * n,), 0, 255, None)
    p = {"sa": np.float32(0.02), "za": np.int64(3), "sb": np.float32(0.03), "zb": np.int64(10),
         "s_out": np.float32(0.05), "z_out": np.int64(20)}
    eye, zeros = np.eye(n, dtype=np.int64), np.zeros((n, n), np.int64)
    wt = np.concatenate([5 * eye, -2 * eye, -3 * eye], 1)
    nodes = (ops.Dense("a", ("input",), np.concatenate([eye, zeros], 1), np.zeros(n, np.int64), 0),
             ops.Dense("b", ("input",), np.concatenate([zeros, eye], 1), np.zeros(n, np.int64), 0),
             ops.Add("add", ("a", "b"), rule, p), ops.Concat("cat", ("add", "a", "b"), 0),
             ops.Dense("d", ("cat",), wt, np.zeros(n, np.int64), 0, None))
    return QNetwork(spec, nodes, ops.OutputSpec("d"))


def test_relaxations_tighten_what_follows(monkeypatch):
    """On nets that compare the op with its inputs, the relaxed op leaves the follower much
    tighter than the interval pass and than the op as a fresh symbol; every value still inside."""
    cases = [(_pool_net(), "d"), (_add_net("torch_qnnpack"), "d"), (_add_net("torch_fbgemm"), "d")]
    rng = np.random.default_rng(0)
    with_lines = []
    for net, name in cases:
        n = int(np.prod(net.input.shape))
        clo = rng.integers(0, 200, n).reshape(net.input.shape)
        chi = clo + rng.integers(0, 40, n).reshape(net.input.shape)
        sym = propagate_symbolic(net, clo, chi)
        pts = np.concatenate([clo[None], chi[None], rng.integers(clo, chi + 1, (300,) + clo.shape)])
        vals = net.evaluate_codes(pts, keep=(name,))[name]
        assert np.all(vals >= sym[name][0]) and np.all(vals <= sym[name][1])
        with_lines.append((net, clo, chi, _total_width(sym, [name]), _total_width(propagate(net, clo, chi), [name])))
    _boxed(monkeypatch)
    for net, clo, chi, width, interval_width in with_lines:
        boxed = _total_width(propagate_symbolic(net, clo, chi), ["d"])
        assert 4 * width < boxed <= interval_width, (width, boxed, interval_width)
