"""Shared pieces of the bvverify.testing tests: the bundled digits MLP, its images, and
networks edited on purpose (a changed weight, an accumulator that can overflow)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import bvverify
from bvverify.bundled import resolve_model, test_images
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork

# measured on the bundled digits-mlp (bvverify robust digits-mlp --index 0-3 --eps 1): 0, 1, 2 hold, 3 is violated
ROBUST = [0, 1, 2]
NOT_ROBUST = 3
HARD = (2, 6)  # sample 2 at eps 6 codes: unknown after 30 s of auto (CP-SAT times out), so surely at 0.5 s


@pytest.fixture(scope="session")
def mlp() -> QNetwork:
    return bvverify.load(resolve_model("digits-mlp"))


@pytest.fixture(scope="session")
def digits() -> tuple[np.ndarray, np.ndarray]:
    return test_images()


def bumped(net: QNetwork, node: str = "fc3.acc", at: tuple[int, int] = (0, 0), by: int = 3) -> QNetwork:
    """``net`` with one weight of ``node`` changed by ``by``: a retrained / re-quantized model."""
    nodes = []
    for n in net.nodes:
        if n.name == node:
            w = n.weight.copy()
            w[at] += by
            n = dataclasses.replace(n, weight=w)
        nodes.append(n)
    return QNetwork(net.input, tuple(nodes), net.output, dict(net.meta))


def overflowing_net() -> QNetwork:
    """Two integer inputs into one accumulator with a bias near int32's top: inputs above 4 in
    total overflow it (2^31 - 1 - 4 + 5 > 2^31 - 1); inputs in [0, 2] cannot."""
    bias = np.array([2**31 - 1 - 4], np.int64)
    nodes = (ops.Dense("acc", ("input",), np.array([[1, 1]]), np.zeros(1, np.int64), 0, bias),
             ops.Requantize("out", ("acc",), "pow2", {"shift": np.int64(24)}, 0, 255))
    return QNetwork(ops.InputSpec((2,), 0, 255, None), nodes, ops.OutputSpec("out"))
