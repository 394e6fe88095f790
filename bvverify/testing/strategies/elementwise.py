"""Elementwise IR networks and the boxes and conditions that probe them.

:func:`avgpool_nets`: an AvgPool2d over the input (every kernel path: NCHW, channels-last
vector / scalar channel classes, qnnpack's full-window form; padding, ceil mode,
count_include_pad, divisor_override). :func:`add_nets`: an Add of two operand branches
(independent halves of the input selected by 0/1 Dense layers, or the same tensor / a clamp of
it; fbgemm / x86 vector and scalar-tail positions, qnnpack fixed point, relu, channels-last).
:func:`small_code_box` draws code boxes of at most 2^12 points aimed at those paths, and
:func:`tight_conditions` output conditions whose bounds sit at what the box attains.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import strategies as st

from bvverify.errors import UnsupportedOpError
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork
from bvverify.properties.spec import Linear, OutputCondition
from bvverify.runtimes.elementwise import add_vector_mask, qnnpack_multipliers
from bvverify.testing.strategies.boxes import allocate_radii
from bvverify.testing.strategies.ir import zero_points

SMALL_BOX_POINTS = 2**12
F32 = np.float32


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


def small_code_box(draw, net):
    """A random code box of at most SMALL_BOX_POINTS points; for add nets the varying
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
                            SMALL_BOX_POINTS)
    clo = np.clip(centre - radius, net.input.lo, net.input.hi)
    chi = np.clip(centre + radius, net.input.lo, net.input.hi)
    return clo.reshape(shape), chi.reshape(shape)


def node_shape(net, node):
    return net.shapes[node.name]


@st.composite
def tight_conditions(draw, outs, flat):
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
