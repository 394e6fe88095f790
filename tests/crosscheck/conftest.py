"""Fixtures for the cross-check tests: tiny Keras-layout h5 networks and a tiny benchmarks folder
written here (the shared benchmark data is never copied into the repository)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest


def shared_benchmarks() -> Path:
    env = os.environ.get("BVVERIFY_BENCHMARKS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / ".." / "shared" / "benchmarks"


def write_h5(path: Path, sizes: list[int], seed: int, bytes_attrs: bool = False) -> Path:
    """A Keras ``save_weights``-style file of dense layers ``sizes[0] -> ... -> sizes[-1]`` (README section 2),
    weights drawn a little beyond [-1, 1) and biases beyond [-2, 2) so clipping and rounding both matter."""
    import h5py

    rng = np.random.default_rng(seed)
    names = [f"quantized_dense{'' if i == 0 else f'_{i}'}" for i in range(len(sizes) - 1)]
    enc = (lambda s: s.encode()) if bytes_attrs else (lambda s: s)
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [enc(n) for n in names + ["dropout", "flatten"]]
        for i, n in enumerate(names):
            g = f.create_group(n)
            k, b = f"{n}/kernel:0", f"{n}/bias:0"
            g.attrs["weight_names"] = [enc(k), enc(b)]
            g.create_dataset(k, data=rng.uniform(-1.1, 1.1, (sizes[i], sizes[i + 1])).astype(np.float32) * 0.3)
            g.create_dataset(b, data=rng.uniform(-2.2, 2.2, sizes[i + 1]).astype(np.float32))
        for n in ("dropout", "flatten"):
            f.create_group(n).attrs["weight_names"] = []
    return path


@pytest.fixture
def tiny_bench(tmp_path: Path) -> Path:
    """A benchmarks folder in the published layout with one tiny 784-6-10 network, 12 images (labelled with the
    network's own class, except image 11), and result files."""
    bench = tmp_path / "bench"
    (bench / "qvip22_data" / "QNNs").mkdir(parents=True)
    (bench / "qvip22_data" / "derived").mkdir()
    (bench / "aaai21_qnn_robustness" / "results").mkdir(parents=True)
    (bench / "aaai21_qnn_robustness" / "weights").mkdir()
    (bench / "eran").mkdir()
    write_h5(bench / "qvip22_data" / "QNNs" / "mnist_1blk_64_in_8_qu_6.h5", [784, 6, 10], 1)
    write_h5(bench / "aaai21_qnn_robustness" / "weights" / "mnist_mlp.h5", [784, 6, 10], 1, bytes_attrs=True)
    from bvverify.crosscheck.independent_h5 import predicted, read_mlp

    mlp = read_mlp(bench / "qvip22_data" / "QNNs" / "mnist_1blk_64_in_8_qu_6.h5")
    rng = np.random.default_rng(2)
    xs = rng.integers(0, 256, (12, 784))
    labels = [predicted(mlp.outputs(x)) for x in xs[:11]] + [(predicted(mlp.outputs(xs[11])) + 1) % 10]  # 11: misclassified
    lines = [",".join(str(v) for v in [y, *x]) for y, x in zip(labels, xs)]
    (bench / "eran" / "mnist_test_first500_int.csv").write_text("\n".join(lines) + "\n")
    h5 = "qvip22_data/QNNs/mnist_1blk_64_in_8_qu_6.h5"
    (bench / "qvip22_data" / "derived" / "qvip_results_long.csv").write_text(
        "source,dataset,network,h5_file,sample_id,radius,result,qvip_time_s,smt_time_s,num_vars\n"
        f"sec_5_2_Table_2,mnist,P1-6,{h5},0,1,Robust,0.01,0.05,\n"
        f"sec_5_2_Table_2,mnist,P1-6,{h5},1,1,Non-robust,2.5,NA,\n"
        f"sec_5_2_Table_3,mnist,P1-8,{h5},3,4,NA,NA,,\n"
        f"sec_5_2_Table_3,mnist,P1-6,UNKNOWN (not published; see README),4,4,Robust,1.0,,\n"
        f"sec_5_2_Table_3,mnist,P1-8,{h5},600,6,Robust,1.0,,\n"
        f"sec_5_1_Figure_5_with_IA,mnist,P1-6,{h5},2,1,Robust,1.0,,7055\n")
    (bench / "aaai21_qnn_robustness" / "results" / "aaai21_reported_results.csv").write_text(
        "dataset,network,sample_id,eps,status\nmnist,mnist_mlp.h5,0,1,robust\nmnist,mnist_mlp.h5,1,1,timeout\n"
        "mnist,mnist_mlp.h5,11,1,robust\n")
    return bench
