"""scripts/bench/quantize_mnistfc.py: the mnistfc float networks quantized by PyTorch, imported by bvverify.

The quantization test needs the benchmark data (``$BVVERIFY_BENCHMARKS`` or ``<repo>/../shared/benchmarks``)
and the onnx package (``pip install -e '.[bench]'``); it is skipped without them. The graph-folding test
needs onnx only (it builds its own tiny graph).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "bench" / "quantize_mnistfc.py"
BENCH = Path(os.environ["BVVERIFY_BENCHMARKS"]) if "BVVERIFY_BENCHMARKS" in os.environ else ROOT / ".." / "shared" / "benchmarks"


@pytest.fixture(scope="module")
def qm() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_quantize_mnistfc", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def test_refuses_an_output_folder_inside_the_repository(qm: ModuleType) -> None:
    with pytest.raises(SystemExit, match="inside the repository"):
        qm.main(["--out", str(ROOT / "scratch-models")])


def test_quantize_one_network(qm: ModuleType, tmp_path: Path) -> None:
    if not (BENCH / qm.FOLDER).is_dir():
        pytest.skip(f"benchmark data not found at {BENCH} (set BVVERIFY_BENCHMARKS)")
    pytest.importorskip("onnx")
    import torch

    import bvverify

    (report,) = qm.main(["--benchmarks", str(BENCH), "--out", str(tmp_path), "--networks", "256x2", "--calibration", "100",
                         "--check", "50"])
    assert report["agreement_identical"] == report["agreement_images"] == 50
    assert report["float_accuracy"] > 0.95 and report["int8_accuracy"] > 0.95  # stated float accuracy: 98.08%
    assert report["layers"] == [[256, 784], [256, 256], [10, 256]]
    path = qm.model_file(tmp_path, "256x2")
    assert (tmp_path / "quantize_report.json").is_file()
    net = bvverify.load(path)
    assert net.input.shape == (784,) and net.meta["dequantized_output"] and net.meta["engine"] == "fbgemm"
    xs, _ = qm.load_images(BENCH)
    x = xs[100:105]  # images the calibration did not see
    with torch.no_grad():
        theirs = torch.jit.load(str(path))(torch.from_numpy(x)).numpy()
    assert np.array_equal(net.dequantize(net.evaluate(x)), theirs)


def test_input_normalisation_is_folded_into_the_first_layer(qm: ModuleType, tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w1, b1 = rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=4).astype(np.float32)  # MatMul layout [in, out]
    w2, b2 = rng.normal(size=(2, 4)).astype(np.float32), rng.normal(size=2).astype(np.float32)  # Gemm transB layout
    mean, std = np.float32(0.1307), np.float32(0.3081)
    inits = [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"),
                                                          (np.array(mean), "mean"), (np.array(std), "std"))]
    nodes = [helper.make_node("Flatten", ["x"], ["f"], axis=1), helper.make_node("Sub", ["f", "mean"], ["s"]),
             helper.make_node("Div", ["s", "std"], ["n"]), helper.make_node("MatMul", ["n", "w1"], ["m"]),
             helper.make_node("Add", ["b1", "m"], ["a"]), helper.make_node("Relu", ["a"], ["r"]),
             helper.make_node("Gemm", ["r", "w2", "b2"], ["y"], transB=1)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], inits)
    path = tmp_path / "tiny.onnx"
    onnx.save(helper.make_model(graph), str(path))
    layers = qm.onnx_layers(path)
    assert [layer.relu for layer in layers] == [True, False]
    x = rng.uniform(size=(5, 3))
    want = np.maximum(((x - mean) / std) @ w1 + b1, 0) @ w2.T + b2
    got = x
    for layer in layers:
        got = got @ layer.weight.T + layer.bias
        got = np.maximum(got, 0) if layer.relu else got
    assert np.allclose(got, want, atol=1e-5)
