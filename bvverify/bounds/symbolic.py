"""Symbolic linear bounds (DeepPoly / CROWN-style back-substitution) through the exact integer semantics.

Every tensor gets a lower and an upper linear function of the tensors it is computed
from: exact for Dense / Conv2d (when the accumulator cannot wrap), Reshape and Concat;
sound lines from the exact step table for Requantize, from the corners for Clamp; a
chosen tap below and a constant above for MaxPool2d; for AvgPool2d and Add, lines
of the exact split of ``ir.split`` (an exact integer sum, then a monotone
step table) composed with the sum's linear form; only its interval for every
other op (a fresh symbol). An accumulator's bounds come from substituting these
functions backwards down to the input box, which keeps the correlations an interval
pass loses; every bound is intersected with the interval pass's, so this is never
looser than it.

This module is the forward pass: one relaxation rule per op type (``RELAX``), the
back-substitution core is ``bounds.backsub``, the rules themselves are in
``bounds.op_relax`` and ``bounds.split_relax``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bvverify.bounds.backsub import Affine, Box, Pointwise, Relax, Select, SymbolicBounds, Taps, fresh_symbol
from bvverify.bounds.interval import propagate
from bvverify.bounds.op_relax import (
    affine_relax,
    channel_tables,
    clamp_relax,
    concat_select,
    maxpool_relax,
    requantize_relax,
    reshape_select,
)
from bvverify.bounds.split_relax import add_relax as _add_relax
from bvverify.bounds.split_relax import avgpool_relax as _avgpool_relax
from bvverify.errors import UnsupportedOpError
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork
from bvverify.ir.ranges import Interval, node_interval

_U = 2.0**-53  # unit roundoff of float64
_box = fresh_symbol  # the short name tests/bounds use

Shapes = dict[str, tuple[int, ...]]
RelaxRule = Callable[[SymbolicBounds, ops.Node, list[Interval], Interval, Shapes], tuple[Relax, Interval]]
"""``rule(state, node, ins, env, shapes) -> (relaxation, bounds)``: ``ins`` are the inputs'
symbolic bounds, ``env`` the node's interval-pass bounds, which the result never exceeds."""


def _meet(node: ops.Node, ins: list[Interval], env: Interval, shapes: Shapes) -> Interval:
    """The op's interval rule on the (tighter) symbolic input bounds, within the interval pass's."""
    lo, hi = node_interval(node, ins, shapes[node.name])
    return np.maximum(lo, env[0]), np.minimum(hi, env[1])


def _affine(state: SymbolicBounds, node: ops.Node, ins: list[Interval], env: Interval,
            shapes: Shapes) -> tuple[Relax, Interval]:
    return affine_relax(state, node, shapes[node.inputs[0]], env)


def _requantize(state: SymbolicBounds, node: ops.Node, ins: list[Interval], env: Interval,
                shapes: Shapes) -> tuple[Relax, Interval]:
    out = _meet(node, ins, env, shapes)
    return requantize_relax(node, ins[0], out), out


def _clamp(state: SymbolicBounds, node: ops.Node, ins: list[Interval], env: Interval,
           shapes: Shapes) -> tuple[Relax, Interval]:
    return clamp_relax(node, ins[0]), _meet(node, ins, env, shapes)


def _maxpool(state: SymbolicBounds, node: ops.Node, ins: list[Interval], env: Interval,
             shapes: Shapes) -> tuple[Relax, Interval]:
    out = _meet(node, ins, env, shapes)
    return maxpool_relax(node, ins[0], out, shapes[node.inputs[0]]), out


def _avgpool(state: SymbolicBounds, node: ops.Node, ins: list[Interval], env: Interval,
             shapes: Shapes) -> tuple[Relax, Interval]:
    return _avgpool_relax(state, node, _meet(node, ins, env, shapes), shapes[node.inputs[0]])


def _add(state: SymbolicBounds, node: ops.Node, ins: list[Interval], env: Interval,
         shapes: Shapes) -> tuple[Relax, Interval]:
    return _add_relax(state, node, _meet(node, ins, env, shapes))


def _lookup(state: SymbolicBounds, node: ops.Node, ins: list[Interval], env: Interval,
            shapes: Shapes) -> tuple[Relax, Interval]:
    """An arbitrary table has no useful line: a fresh symbol with its interval."""
    out = _meet(node, ins, env, shapes)
    return fresh_symbol(out), out


def _reshape(state: SymbolicBounds, node: ops.Node, ins: list[Interval], env: Interval,
             shapes: Shapes) -> tuple[Relax, Interval]:
    return reshape_select(node, ins[0]), _meet(node, ins, env, shapes)


def _concat(state: SymbolicBounds, node: ops.Node, ins: list[Interval], env: Interval,
            shapes: Shapes) -> tuple[Relax, Interval]:
    return concat_select(node, ins), _meet(node, ins, env, shapes)


RELAX: dict[type[ops.Node], RelaxRule] = {
    ops.Dense: _affine,
    ops.Conv2d: _affine,
    ops.Requantize: _requantize,
    ops.Clamp: _clamp,
    ops.MaxPool2d: _maxpool,
    ops.AvgPool2d: _avgpool,
    ops.Add: _add,
    ops.Lookup: _lookup,
    ops.Concat: _concat,
    ops.Reshape: _reshape,
}
"""Each op's relaxation rule; one entry per op type, checked by ``tests/test_op_coverage.py``."""


def symbolic_bounds(net: QNetwork, code_lo: np.ndarray, code_hi: np.ndarray) -> SymbolicBounds:
    """Bounds and relaxations of every tensor over the input code box [code_lo, code_hi]."""
    env = propagate(net, code_lo, code_hi)
    state = SymbolicBounds(("input",) + tuple(node.name for node in net.nodes))
    state.set("input", env["input"], fresh_symbol(env["input"]))
    shapes = net.shapes
    for node in net.nodes:
        rule = RELAX.get(type(node))
        if rule is None:
            raise UnsupportedOpError(f"symbolic bounds: no rule for op {node.op} ({node.name})")
        rel, bounds = rule(state, node, [state.bounds[i] for i in node.inputs], env[node.name], shapes)
        state.set(node.name, bounds, rel)
    return state


def propagate_symbolic(net: QNetwork, code_lo: np.ndarray, code_hi: np.ndarray) -> dict[str, Interval]:
    """Interval of every tensor (by name) over the input code box, from symbolic bounds;
    the same contract as ``bounds.interval.propagate`` and never looser."""
    return symbolic_bounds(net, code_lo, code_hi).bounds


def output_linear_lower(net: QNetwork, code_lo: np.ndarray, code_hi: np.ndarray, C: np.ndarray,
                        bounds: SymbolicBounds | None = None, keep: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Sound lower bounds of ``C @ y`` over the box, y the flat output codes (C: [m, n_out],
    floats or Fractions). Substituting whole rows keeps what the outputs share, which
    is what proves ``o_y - o_j > 0`` where per-output bounds overlap. ``bounds``: a
    ``symbolic_bounds`` result for the same network and box, to reuse."""
    state = bounds if bounds is not None else symbolic_bounds(net, code_lo, code_hi)
    name = net.output.name
    rows = np.asarray(C, dtype=np.float64).reshape(-1, state.mag[name].size)
    return state.lower(name, rows, _U * (np.abs(rows) @ state.mag[name]), keep)  # C's own rounding to float64


__all__ = ["RELAX", "Affine", "Box", "Pointwise", "Relax", "RelaxRule", "Select", "SymbolicBounds", "Taps",
           "channel_tables", "output_linear_lower", "propagate_symbolic", "symbolic_bounds"]
