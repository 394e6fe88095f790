"""What the ONNX importer refuses, each by op, node name and reason (never a traceback,
never a silent float model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.importers.test_onnx_models import float_mlp, quantize

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from bvverify.errors import BvverifyError, ModelFormatError, UnsupportedOpError  # noqa: E402
from bvverify.importers import load  # noqa: E402
from bvverify.importers.onnx_runtime import onnx_runtime  # noqa: E402
from bvverify.importers.onnx_target import ort_target  # noqa: E402
from tests.onnx_host import needs_ort_host  # noqa: E402


def _graph(path: Path, nodes: list, inits: list, out_type: int = TensorProto.FLOAT, domain_ms: bool = False) -> Path:
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, 4, 4])],
                          [helper.make_tensor_value_info("y", out_type, None)], inits)
    opsets = [helper.make_opsetid("", 13)] + ([helper.make_opsetid("com.microsoft", 1)] if domain_ms else [])
    onnx.save(helper.make_model(g, opset_imports=opsets), str(path))
    return path


def _qparams() -> list:
    return [numpy_helper.from_array(np.array(0.05, np.float32), "s"), numpy_helper.from_array(np.array(128, np.uint8), "z")]


def test_float_model_says_how_to_quantize(tmp_path: Path) -> None:
    src = float_mlp(tmp_path / "float.onnx", [4, 3], seed=0)
    with pytest.raises(ModelFormatError, match="a float ONNX model .*quantize_static"):
        load(src)


def test_qlinear_add_of_a_constant_bias_refused_by_name(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["m"], name="mm"), helper.make_node("Add", ["m", "b"], ["y"], name="bias_add")],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        [numpy_helper.from_array(rng.normal(size=(4, 3)).astype(np.float32), "w"),
         numpy_helper.from_array(rng.normal(size=3).astype(np.float32), "b")])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), str(tmp_path / "f.onnx"))
    q = quantize(tmp_path / "f.onnx", tmp_path / "q.onnx", rng.normal(size=(16, 4)), "qoperator")
    with pytest.raises(UnsupportedOpError, match=r"QLinearAdd \(node bias_add.*\): adds a constant .*QGemm"):
        load(q)


def test_qlinear_average_pool_with_ceil_mode_refused(tmp_path: Path) -> None:
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="quant"),
             helper.make_node("QLinearAveragePool", ["q", "s", "z", "s", "z"], ["p"], domain="com.microsoft",
                              kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1, name="avg"),
             helper.make_node("DequantizeLinear", ["p", "s", "z"], ["y"], name="deq")]
    p = _graph(tmp_path / "avg.onnx", nodes, _qparams(), domain_ms=True)
    with pytest.raises(UnsupportedOpError, match=r"QLinearAveragePool \(node avg\): ceil_mode=1 is not supported"):
        load(p)


def test_matmul_integer_refused(tmp_path: Path) -> None:
    w = numpy_helper.from_array(np.ones((4, 2), np.int8), "w")
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="quant"),
             helper.make_node("MatMulInteger", ["q", "w"], ["m"], name="mmi"),
             helper.make_node("Cast", ["m"], ["y"], to=TensorProto.FLOAT, name="cast")]
    p = _graph(tmp_path / "mmi.onnx", nodes, _qparams() + [w])
    # a batched (3-d) MatMulInteger; the static 2-d one is modelled (tests/importers/test_onnx_integer_ops.py)
    with pytest.raises(UnsupportedOpError, match=r"MatMulInteger \(node mmi\): input of shape \(4, 4, 4\)"):
        load(p)


def test_transpose_of_activation_refused(tmp_path: Path) -> None:
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="quant"),
             helper.make_node("Transpose", ["q"], ["t"], perm=[0, 2, 3, 1], name="to_nhwc"),
             helper.make_node("DequantizeLinear", ["t", "s", "z"], ["y"], name="deq")]
    with pytest.raises(UnsupportedOpError, match=r"Transpose \(node to_nhwc\): transposes an activation"):
        load(_graph(tmp_path / "t.onnx", nodes, _qparams()))


def test_float_kernel_left_by_onnxruntime_refused(tmp_path: Path) -> None:
    """A QDQ Gemm whose QuantizeLinear is the graph output: onnxruntime keeps that Gemm in float32."""
    rng = np.random.default_rng(1)
    q = quantize(float_mlp(tmp_path / "f.onnx", [5, 6, 3], seed=1), tmp_path / "q.onnx", rng.normal(size=(16, 5)),
                 "qdq", "s8")
    m = onnx.load(str(q))
    dq = [n for n in m.graph.node if m.graph.output[0].name in n.output][0]
    m.graph.node.remove(dq)
    del m.graph.output[:]
    m.graph.output.append(helper.make_tensor_value_info(dq.input[0], TensorProto.INT8, None))
    onnx.save(m, str(tmp_path / "codes.onnx"))
    with pytest.raises(UnsupportedOpError, match=r"Gemm \(node .*\): runs in float32"):
        load(tmp_path / "codes.onnx")


def test_unreadable_and_foreign_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage that is not a model")
    with pytest.raises(BvverifyError, match="bad.onnx"):
        load(bad)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ModelFormatError, match="unrecognised model format"):
        load(text)


def test_cpu_without_vnni_refused() -> None:
    with pytest.raises(UnsupportedOpError, match="no VNNI"):
        ort_target({"avx2", "fma"})
    assert ort_target({"avx2", "avx_vnni"})[0] == "avx2"


@needs_ort_host
def test_runtime_reads_codes_back_exactly(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    q = quantize(float_mlp(tmp_path / "f.onnx", [5, 4], seed=2), tmp_path / "q.onnx", rng.normal(size=(16, 5)))
    net = load(q)
    x = rng.normal(size=(6, 5)).astype(np.float32)
    codes = onnx_runtime(q, net)(x)
    assert codes.dtype == np.int64 and codes.min() >= 0 and codes.max() <= 255
    assert np.array_equal(codes, net.evaluate(x))


@needs_ort_host
def test_detected_by_content_without_the_extension(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    q = quantize(float_mlp(tmp_path / "f.onnx", [5, 4], seed=4), tmp_path / "q.onnx", rng.normal(size=(16, 5)))
    renamed = tmp_path / "model.bin"
    renamed.write_bytes(q.read_bytes())
    net = load(renamed)
    assert net.meta["runtime"] == "onnxruntime" and net.meta["target"]
    x = rng.normal(size=(5, 5)).astype(np.float32)
    assert np.array_equal(net.evaluate(x), load(q).evaluate(x))


@needs_ort_host
def test_other_targets_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    q = quantize(float_mlp(tmp_path / "f.onnx", [5, 4], seed=5), tmp_path / "q.onnx", rng.normal(size=(16, 5)))
    assert load(q, target="host").meta["target"] == load(q).meta["target"]
    with pytest.raises(ModelFormatError, match="target avx2 is not supported"):
        load(q, target="avx2")
