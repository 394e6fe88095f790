"""The independent numpy implementation (written from the benchmarks README) against the package's
importer and interpreter on random inputs: two implementations that agree, so a contradiction
confirmed by one and found by the other is not an artefact of either."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import bvverify
from bvverify.crosscheck.independent_h5 import bits_of, check_witness, predicted, read_mlp, round_away
from tests.crosscheck.conftest import shared_benchmarks, write_h5


@pytest.mark.parametrize("q", [4, 6, 8, 10])
@pytest.mark.parametrize("sizes", [[784, 5, 10], [784, 7, 4, 10]])
def test_matches_the_interpreter_on_random_networks(tmp_path: Path, q: int, sizes: list[int]) -> None:
    f = write_h5(tmp_path / f"net_in_8_qu_{q}.h5", sizes, seed=q + len(sizes))
    mlp, net = read_mlp(f), bvverify.load(f)
    x = np.random.default_rng(q).integers(0, 256, (300, 784))
    ours = np.stack([mlp.outputs(v) for v in x])
    assert np.array_equal(ours, net.evaluate(x))
    assert len(set(map(tuple, ours.tolist()))) > 10  # the inputs reach many different outputs


def test_rounding_and_decision_rules() -> None:
    s = np.array([0.5, -0.5, 1.49, -1.5, 2.5000001, 0.0], dtype=np.float32)
    assert round_away(s).tolist() == [1, -1, 1, -2, 3, 0]
    assert predicted(np.array([3, 5, 5, 1])) == 1
    assert bits_of(Path("a/mnist_1blk_64_in_8_qu_10.h5")) == (10, 8) and bits_of(Path("mnist_mlp.h5")) == (6, 8)


def test_check_witness_ball_and_class(tmp_path: Path) -> None:
    mlp = read_mlp(write_h5(tmp_path / "n_in_8_qu_6.h5", [784, 6, 10], 3))
    x = np.random.default_rng(0).integers(0, 256, 784)
    y = predicted(mlp.outputs(x))
    assert not check_witness(mlp, x, x, y, 1).violates  # the clean input keeps its class
    far = x.copy()
    far[0] = (far[0] + 2) % 256
    assert not check_witness(mlp, x, far, y, 1).in_ball


BENCH = shared_benchmarks()


@pytest.mark.skipif(not (BENCH / "qvip22_data").is_dir(), reason="shared benchmark data absent")
@pytest.mark.parametrize("rel", ["qvip22_data/QNNs/mnist_1blk_64_in_8_qu_8.h5", "qvip22_data/QNNs/mnist_1blk_64_in_8_qu_10.h5",
                                 "qvip22_data/QNNs/mnist_2blk_64_32_in_8_qu_6.h5", "aaai21_qnn_robustness/weights/mnist_mlp.h5"])
def test_matches_the_interpreter_on_published_networks(rel: str) -> None:
    mlp, net = read_mlp(BENCH / rel), bvverify.load(BENCH / rel)
    x = np.random.default_rng(1).integers(0, 256, (200, 784))
    assert np.array_equal(np.stack([mlp.outputs(v) for v in x]), net.evaluate(x))
