"""Two-network queries: can two deployments of a model disagree on an input region?

The two integer networks become one product network (shared input, both bodies,
outputs concatenated), so every exact engine decides the question without knowing
it is a pair. The violation condition is over the concatenation ``[a; b]`` of output
codes: a different argmax (ties to the lowest index, as everywhere), or some output
more than ``within`` codes apart. A counterexample is replayed through the product
network by the engine, then through each network's own runtime where one is attached.
"""

from __future__ import annotations

import dataclasses
import time
from fractions import Fraction

import numpy as np

from bvverify.backends.budget import Budget
from bvverify.engines.base import ReplayError, Runtime, Verdict, replay
from bvverify.engines.config import EngineOptions
from bvverify.engines.registry import verify
from bvverify.errors import BvverifyError
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork
from bvverify.properties.boxes import code_box
from bvverify.properties.spec import Linear, OutputCondition, Property


class EquivError(BvverifyError, ValueError):
    """The two networks cannot be compared as asked."""


def _renamed(node: ops.Node, prefix: str) -> ops.Node:
    inputs = tuple(i if i == "input" else prefix + i for i in node.inputs)
    return dataclasses.replace(node, name=prefix + node.name, inputs=inputs)


def pair_network(a: QNetwork, b: QNetwork) -> QNetwork:
    """One network computing ``concat(flat(a(x)), flat(b(x)))`` in output codes."""
    if a.input != b.input:
        raise EquivError(f"the two models take different inputs ({a.input} vs {b.input}); bvverify compares networks "
                         "with the same input shape, code range and input quantizer")
    nodes: list[ops.Node] = []
    outs = []
    for prefix, net in (("a:", a), ("b:", b)):
        nodes += [_renamed(n, prefix) for n in net.nodes]
        name = prefix + net.output.name
        if len(net.output_shape) != 1:
            nodes.append(ops.Reshape(prefix + "flat", (name,), (int(np.prod(net.output_shape)),)))
            name = prefix + "flat"
        outs.append(name)
    nodes.append(ops.Concat("pair", tuple(outs), 0))
    meta = {"source": f"pair({a.meta.get('source', 'a')}, {b.meta.get('source', 'b')})",
            "targets": [a.meta.get("target"), b.meta.get("target")]}
    return QNetwork(a.input, tuple(nodes), ops.OutputSpec("pair"), meta)


def _beats(i: int, j: int, offset: int) -> Linear:
    """Output ``offset + i`` wins over ``offset + j`` under the lowest-index tie rule."""
    if i < j:  # o_i >= o_j  <=>  o_j - o_i <= 0
        return Linear(((offset + j, Fraction(1)), (offset + i, Fraction(-1))), Fraction(0))
    return Linear(((offset + j, Fraction(1)), (offset + i, Fraction(-1))), Fraction(0), strict=True)  # o_i > o_j


def disagreement(n: int, within: int | None) -> OutputCondition:
    """Over ``[a; b]`` (``n`` outputs each): argmax(a) != argmax(b), or with ``within``
    some ``|a_k - b_k| > within``."""
    if within is not None:
        if within < 0:
            raise EquivError(f"--within {within}: expected a number of codes >= 0")
        clauses = []
        for k in range(n):
            clauses.append((Linear(((k, Fraction(1)), (n + k, Fraction(-1))), Fraction(-within - 1)),))  # b - a > K
            clauses.append((Linear(((n + k, Fraction(1)), (k, Fraction(-1))), Fraction(-within - 1)),))  # a - b > K
        return OutputCondition(tuple(clauses), "codes")
    clauses = []
    for i in range(n):  # argmax(a) = i and some j beats i in b
        wins = tuple(_beats(i, k, 0) for k in range(n) if k != i)
        for j in range(n):
            if j != i:
                clauses.append(wins + (_beats(j, i, n),))
    return OutputCondition(tuple(clauses), "codes")


def equiv_property(a: QNetwork, b: QNetwork, lo: np.ndarray, hi: np.ndarray, within: int | None, codes: bool,
                   name: str = "") -> Property:
    """The pair query over the box [lo, hi] (input codes when ``codes``, else model units)."""
    if within is not None and (a.output.scale, a.output.zero_point) != (b.output.scale, b.output.zero_point):
        raise EquivError("--within counts output codes, but the two models quantize their outputs differently "
                         f"(scale/zero point {a.output.scale}/{a.output.zero_point} vs "
                         f"{b.output.scale}/{b.output.zero_point}); compare argmax instead")
    n = int(np.prod(a.output_shape))
    if int(np.prod(b.output_shape)) != n:
        raise EquivError(f"the models have {n} and {int(np.prod(b.output_shape))} outputs")
    return Property(np.asarray(lo, np.float64), np.asarray(hi, np.float64), disagreement(n, within), name,
                    units="codes" if codes else "model")


def _same_node(x: ops.Node, y: ops.Node, ignore: tuple[str, ...] = ()) -> bool:
    """Field-by-field equality of two IR nodes (arrays by value), ``ignore`` excepted."""
    if type(x) is not type(y):
        return False
    for f in dataclasses.fields(x):
        if f.name in ignore:
            continue
        u, v = getattr(x, f.name), getattr(y, f.name)
        if isinstance(u, dict) or isinstance(v, dict):
            if set(u) != set(v) or any(not np.array_equal(np.asarray(u[k]), np.asarray(v[k])) for k in u):
                return False
        elif isinstance(u, np.ndarray) or isinstance(v, np.ndarray):
            if u is None or v is None or not np.array_equal(np.asarray(u), np.asarray(v)):
                return False
        elif u != v:
            return False
    return True


def _pair_sums_fit_int16(node: ops.Dense | ops.Conv2d, lo: np.ndarray, hi: np.ndarray) -> bool:
    """Whether no adjacent pair sum of raw u8 codes times raw weights (in the kernel's K order:
    (kh, kw, channel) per group) can leave int16 for inputs in [lo, hi]: then int16 pair
    saturation changes nothing and the layer is exact on every target."""
    w = np.asarray(node.weight, dtype=np.int64)
    if isinstance(node, ops.Dense):
        xl, xh = np.asarray(lo, np.int64).reshape(-1), np.asarray(hi, np.int64).reshape(-1)
        rows, xls, xhs = w, xl[None, :], xh[None, :]
    else:  # a channel's interval over every position; padded taps hold x_zero
        c = np.asarray(lo).shape[0]
        cl = np.asarray(lo, np.int64).reshape(c, -1).min(axis=1)
        ch = np.asarray(hi, np.int64).reshape(c, -1).max(axis=1)
        if any(node.padding):
            cl, ch = np.minimum(cl, node.x_zero), np.maximum(ch, node.x_zero)
        o, cg, kh, kw = w.shape
        og = o // node.groups
        rows = w.transpose(0, 2, 3, 1).reshape(o, kh * kw * cg)
        chans = (np.arange(o)[:, None] // og) * cg + np.tile(np.arange(cg), kh * kw)[None, :]
        xls, xhs = cl[chans], ch[chans]
    if rows.shape[1] % 2:
        rows = np.pad(rows, ((0, 0), (0, 1)))
        xls, xhs = np.pad(np.broadcast_to(xls, rows.shape[:1] + xls.shape[1:]), ((0, 0), (0, 1))), \
            np.pad(np.broadcast_to(xhs, rows.shape[:1] + xhs.shape[1:]), ((0, 0), (0, 1)))
    p1, p2 = rows * xls, rows * xhs
    pmin, pmax = np.minimum(p1, p2), np.maximum(p1, p2)
    smin, smax = pmin[:, 0::2] + pmin[:, 1::2], pmax[:, 0::2] + pmax[:, 1::2]
    return bool(smin.min() >= -(2**15) and smax.max() <= 2**15 - 1)


def same_integers_on_box(a: QNetwork, b: QNetwork, clo: np.ndarray, chi: np.ndarray) -> bool:
    """Whether ``a`` and ``b`` compute the same integers on the code box for a structural
    reason: node for node identical except int16 pair saturation, on layers whose pair sums
    cannot leave int16 there (the same model on two targets, near most inputs)."""
    if a.input != b.input or a.output != b.output or len(a.nodes) != len(b.nodes):
        return False
    differ = []
    for x, y in zip(a.nodes, b.nodes):
        if not _same_node(x, y, ("pair_saturation",)):
            return False
        if getattr(x, "pair_saturation", False) != getattr(y, "pair_saturation", False):
            differ.append(x)
    if not differ:
        return True
    from bvverify.bounds import tensor_bounds

    env = tensor_bounds(a, clo, chi, "interval")
    return all(_pair_sums_fit_int16(n, *env[n.inputs[0]]) for n in differ)


def _sampled_violation(pair: QNetwork, prop: Property, samples: int, seed: int = 0) -> np.ndarray | None:
    """Input codes of the first sampled point whose pair output satisfies the condition."""
    if samples <= 0:
        return None
    clo, chi = code_box(pair, prop)
    rng = np.random.default_rng(seed)
    pts = rng.integers(clo, chi + 1, size=(samples,) + clo.shape)
    pts[0], pts[-1] = clo, chi
    out = pair.evaluate_codes(pts).reshape(samples, -1)
    hits = np.zeros(samples, dtype=bool)
    for clause in prop.output.clauses:  # integer coefficients: exact in int64, screened here, confirmed below
        ok = np.ones(samples, dtype=bool)
        for atom in clause:
            lhs = sum(int(c) * out[:, j] for j, c in atom.terms)
            ok &= (lhs < int(atom.rhs)) if atom.strict else (lhs <= int(atom.rhs))
        hits |= ok
    for i in np.nonzero(hits)[0]:
        if prop.output.holds(out[i]):
            return pts[i]
    return None


def verify_equiv(a: QNetwork, b: QNetwork, prop: Property, options: EngineOptions | None = None,
                 timeout: Budget | float | None = None,
                 runtimes: tuple[Runtime | None, Runtime | None] = (None, None),
                 prefer: np.ndarray | None = None, samples: int = 2000, seed: int = 0) -> Verdict:
    """Decide whether ``a`` and ``b`` can disagree on ``prop``'s box. ``holds``: they cannot.

    ``samples`` random points of the code box (its two extreme corners first) are run
    through both networks before any solver: two deployments that differ usually differ
    somewhere cheap to find. Only an exact disagreement counts, and it is replayed. The
    exact engine (``options``: ilp or bv) gets what is left of the one budget."""
    options = options or EngineOptions("ilp")
    if options.engine not in ("ilp", "bv"):
        raise EquivError(f"engine {options.engine!r}: equiv runs on the exact engines ilp and bv")
    budget = Budget.of(timeout)
    pair = pair_network(a, b)
    t0 = time.perf_counter()
    clo, chi = code_box(pair, prop)
    if same_integers_on_box(a, b, clo, chi):
        return Verdict("holds", "equiv/structure", time.perf_counter() - t0,
                       reason="the networks differ only in int16 pair saturation, and no pair sum can leave int16 on "
                              "this box: they compute the same integers", stats={"phase": "structure"})
    hit = _sampled_violation(pair, prop, samples, seed)
    if hit is not None:
        cex = replay(pair, prop, hit, None, prefer)
        v = Verdict("violated", "sampling", time.perf_counter() - t0, counterexample=cex, stats={"samples": samples})
    else:
        v = verify(pair, prop, options, budget, None, prefer)
    v.engine = f"equiv/{v.engine}"
    cex = v.counterexample
    if cex is not None:
        n = int(np.prod(a.output_shape))
        flat = np.asarray(cex.output).ravel()
        for side, net, rt, want in (("a", a, runtimes[0], flat[:n]), ("b", b, runtimes[1], flat[n:])):
            x = cex.input[None] if not net.integer_input else np.asarray(cex.codes)[None]
            if not np.array_equal(net.evaluate(x)[0].ravel(), want):
                raise ReplayError(f"model {side} alone does not reproduce the pair's output codes")
            if rt is not None:
                got = np.asarray(rt(np.asarray(cex.input, np.float32)[None]))[0].ravel()
                if not np.array_equal(got, want):
                    raise ReplayError(f"the runtime of model {side} disagrees with the interpreter on the counterexample: "
                                      f"{got.tolist()} vs {want.tolist()}")
                cex.replayed_by.append(f"runtime {side}")
    v.seconds = max(v.seconds, time.perf_counter() - t0)
    return v


__all__ = ["EquivError", "disagreement", "equiv_property", "pair_network", "verify_equiv"]
