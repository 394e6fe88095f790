"""The accumulator-overflow query: intervals, solver proofs and replayed witnesses."""

from __future__ import annotations

import numpy as np

from bvverify.engines.overflow import check_overflow
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork

N, TOP = 4, 65535  # 16-bit input codes: 2 * N * TOP * 32767 > 2^31


def _net(second_weights):
    """x -> (x, x) copies -> a 16-bit layer over the copies."""
    w1 = np.concatenate([np.eye(N, dtype=np.int64)] * 2)  # y = (x, x)
    nodes = (ops.Dense("l1.acc", ("input",), w1, np.zeros(2 * N, np.int64), 0),
             ops.Requantize("l1", ("l1.acc",), "pow2", {"shift": np.int64(0)}, 0, TOP),
             ops.Dense("l2.acc", ("l1",), second_weights(N), np.zeros(1, np.int64), 0, weight_bits=16))
    return QNetwork(ops.InputSpec((N,), 0, TOP), nodes, ops.OutputSpec("l2.acc"))


def _box():
    return np.zeros(N, np.int64), np.full(N, TOP, np.int64)


def test_correlated_inputs_cannot_overflow():
    net = _net(lambda n: np.concatenate([np.full((1, n), 32767), np.full((1, n), -32767)], axis=1))
    res = {r.node: r for r in check_overflow(net, *_box())}
    assert res["l1.acc"].status == "no" and res["l1.acc"].how == "interval"
    # the interval bound exceeds int32, but the two halves cancel exactly
    assert res["l2.acc"].acc_max > 2**31 and res["l2.acc"].status == "no" and res["l2.acc"].how == "solver"


def test_overflow_witness_replays():
    net = _net(lambda n: np.full((1, 2 * n), 32767))
    r = {r.node: r for r in check_overflow(net, *_box())}["l2.acc"]
    assert r.status == "yes" and r.witness is not None
    exact = 2 * 32767 * int(r.witness.sum())
    assert exact > 2**31 - 1
    # the interpreter's int32 accumulator wraps on the witness
    assert net.evaluate_codes(r.witness[None])[0, 0] == (exact + 2**31) % 2**32 - 2**31
