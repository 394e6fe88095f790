"""Clause margins: over codes "margin <= 0" is exactly "the clause holds" (strict atoms, rational
coefficients included); the torch margins agree with the numpy ones."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bvverify.attacks.margin import clause_margins, compile_condition
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork
from bvverify.properties.robustness import untargeted
from bvverify.properties.spec import Linear, OutputCondition, Property
from tests.strategies import conditions

SETTINGS = settings(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), max_examples=150)


def identity_net(n_out: int, scale: float | None = None) -> QNetwork:
    """Output codes = input codes (so any output vector can be posed directly)."""
    spec = ops.InputSpec((n_out,), 0, 255)
    node = ops.Clamp("out", ("input",), 0, 255)
    return QNetwork(spec, (node,), ops.OutputSpec("out", scale, 7))


def prop_of(net: QNetwork, cond: OutputCondition) -> Property:
    n = int(np.prod(net.input.shape))
    return Property(np.zeros(n), np.full(n, 255.0), cond, units="codes")


@settings(SETTINGS)
@given(st.integers(2, 5), st.data())
def test_codes_margin_sign_is_exact(n_out: int, data) -> None:
    net = identity_net(n_out)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    y = rng.integers(0, 256, (64, n_out))
    y[32:] = y[0] + rng.integers(-2, 3, (32, n_out)).clip(-y[0], 255 - y[0])  # near the drawn boundaries
    cond = data.draw(conditions(n_out, y.min(0), y.max(0)))
    cond = OutputCondition(cond.clauses, "codes")
    m = clause_margins(net, prop_of(net, cond), y)
    for row, mr in zip(y, m):
        assert [bool(v <= 0) for v in mr] == [all(a.holds(row) for a in clause) for clause in cond.clauses]


def test_strict_atoms_and_fractions_on_the_lattice() -> None:
    net = identity_net(2)
    cond = OutputCondition(((Linear(((0, Fraction(1, 3)), (1, Fraction(-1, 2))), Fraction(1, 7), strict=True),),
                            (Linear(((0, Fraction(1)),), Fraction(10), strict=True),
                             Linear(((1, Fraction(-1)),), Fraction(-5)))), "codes")
    y = np.array([[0, 0], [1, 0], [9, 5], [10, 5], [9, 4], [3, 2]])
    m = clause_margins(net, prop_of(net, cond), y)
    want = [[all(a.holds(r) for a in c) for c in cond.clauses] for r in y]
    assert (m <= 0).tolist() == want
    assert m[1, 0] == pytest.approx(1 / 3)  # 6 lhs = 2 Y_0 - 3 Y_1 < 6/7 is 2 Y_0 - 3 Y_1 <= 0: (2 - 0) / 6
    rob = untargeted(3, 1)  # o_1 - o_0 <= 0 ; o_1 - o_2 < 0, i.e. <= -1 on codes
    m = clause_margins(identity_net(3), prop_of(identity_net(3), rob), np.array([[5, 5, 5], [4, 5, 6]]))
    assert m.tolist() == [[0.0, 1.0], [1.0, 0.0]]


@settings(SETTINGS, max_examples=60)
@given(st.integers(2, 5), st.booleans(), st.data())
def test_torch_margins_match_numpy(n_out: int, deq: bool, data) -> None:
    net = identity_net(n_out, 0.25 if deq else None)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    y = rng.integers(0, 256, (16, n_out))
    cond = data.draw(conditions(n_out, y.min(0), y.max(0)))
    cond = OutputCondition(cond.clauses, "dequantized" if deq else "codes")
    mg = compile_condition(net, cond)
    atoms = mg.torch_atoms(torch.from_numpy(y.astype(np.float64))).numpy()
    assert np.allclose(atoms, mg.atoms(y), atol=1e-9)
    clause = rng.integers(0, mg.n_clauses, 16)
    loss = mg.torch_loss(torch.from_numpy(y.astype(np.float64)), clause).numpy()
    own = mg.clauses(y)[np.arange(16), clause]
    assert np.all(loss >= own - 1e-9)  # the clause margin plus unmet atoms' excess
    if deq:  # dequantized margins use the runtime's float32 outputs and are judged exactly near 0
        for row, mr, sl in zip(y, mg.clauses(y), mg.slack(y)):
            d = net.dequantize(row)
            for k, clause_atoms in enumerate(cond.clauses):
                if abs(mr[k]) > sl[k]:
                    assert (mr[k] <= 0) == all(a.holds(d) for a in clause_atoms)
