"""Imported ONNX models compute onnxruntime's output codes exactly: random float models
quantized by onnxruntime's own ``quantize_static`` in both formats, int8 and uint8
activations, per-tensor and per-channel weights, three calibration methods, on normal and
saturating inputs. 0 mismatches required."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.importers.test_onnx_models import float_cnn, float_mlp, ort_codes, probe_inputs, quantize

pytest.importorskip("onnxruntime")
from tests.onnx_host import skip_module_unless_ort_host  # noqa: E402

skip_module_unless_ort_host()

from bvverify.importers import load  # noqa: E402


def _mismatches(q: Path, shape: tuple[int, ...], seed: int, n: int = 200) -> tuple[int, int, list[str]]:
    net = load(q)
    x = probe_inputs(np.random.default_rng(seed), shape, n)
    a, b = net.evaluate(x), ort_codes(q, x)
    return int((a != b).sum()), a.size, [node.op for node in net.nodes]


@pytest.mark.parametrize("fmt", ["qoperator", "qdq"])
@pytest.mark.parametrize("act", ["u8", "s8"])
@pytest.mark.parametrize("per_channel", [False, True])
def test_mlp_and_cnn_match_onnxruntime(tmp_path: Path, fmt: str, act: str, per_channel: bool) -> None:
    rng = np.random.default_rng(7)
    mlp = float_mlp(tmp_path / "mlp.onnx", [12, 20, 16, 6], seed=1)
    cnn = float_cnn(tmp_path / "cnn.onnx", 2, 6, 4, 5, seed=2)
    for src, shape, want in ((mlp, (12,), "Dense"), (cnn, (2, 6, 6), "Conv2d")):
        q = quantize(src, tmp_path / f"q_{src.stem}.onnx", rng.normal(0, 1, (24, *shape)), fmt, act, "minmax", per_channel)
        bad, total, kinds = _mismatches(q, shape, seed=3)
        assert want in kinds and "Requantize" in kinds
        assert bad == 0, f"{src.stem} {fmt} {act} per_channel={per_channel}: {bad} of {total} codes differ"


@pytest.mark.parametrize("method", ["entropy", "percentile"])
@pytest.mark.parametrize("fmt", ["qoperator", "qdq"])
def test_calibration_methods_match_onnxruntime(tmp_path: Path, method: str, fmt: str) -> None:
    rng = np.random.default_rng(11)
    src = float_mlp(tmp_path / "mlp.onnx", [10, 16, 4], seed=5)
    q = quantize(src, tmp_path / "q.onnx", rng.normal(0, 1, (40, 10)), fmt, "u8", method, per_channel=True)
    bad, total, _ = _mismatches(q, (10,), seed=4)
    assert bad == 0, f"{method} {fmt}: {bad} of {total} codes differ"


@pytest.mark.parametrize("fmt", ["qoperator", "qdq"])
def test_matmul_without_bias_and_uint8_weights(tmp_path: Path, fmt: str) -> None:
    """MatMul -> QLinearMatMul; uint8 weights have nonzero weight zero points (U8U8 kernels)."""
    rng = np.random.default_rng(5)
    src = float_mlp(tmp_path / "mm.onnx", [9, 14, 5], seed=8, matmul=True)
    for weights in ("s8", "u8"):
        q = quantize(src, tmp_path / f"q{weights}.onnx", rng.normal(0, 1, (24, 9)), fmt, "u8", "minmax",
                     per_channel=weights == "s8", weights=weights)
        bad, total, _ = _mismatches(q, (9,), seed=6)
        assert bad == 0, f"MatMul {fmt} weights {weights}: {bad} of {total} codes differ"


def test_conv_without_pool_and_saturating_weights(tmp_path: Path) -> None:
    """Large weights and inputs: pair sums of 255 * 127 would saturate int16 (vpmaddubsw) on a CPU
    without VNNI; the model's exact int32 accumulation must still match onnxruntime here."""
    rng = np.random.default_rng(9)
    src = float_cnn(tmp_path / "c.onnx", 3, 5, 6, 3, seed=4, pool=False)
    q = quantize(src, tmp_path / "q.onnx", np.abs(rng.normal(0, 1, (16, 3, 5, 5))), "qoperator", "u8", "minmax", True)
    net = load(q)
    x = np.full((4, 3, 5, 5), 1e3, np.float32)
    x[1] = -1e3
    x[2:] = probe_inputs(rng, (3, 5, 5), 2, spread=3.0)
    assert np.array_equal(net.evaluate(x), ort_codes(q, x))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**16), hidden=st.integers(1, 24), inputs=st.integers(1, 16),
       fmt=st.sampled_from(["qoperator", "qdq"]), act=st.sampled_from(["u8", "s8"]), per_channel=st.booleans())
def test_random_mlps_match_onnxruntime(tmp_path: Path, seed: int, hidden: int, inputs: int, fmt: str, act: str,
                                       per_channel: bool) -> None:
    rng = np.random.default_rng(seed)
    src = float_mlp(tmp_path / f"m{seed}.onnx", [inputs, hidden, 3], seed=seed, scale=float(rng.uniform(0.3, 3)))
    q = quantize(src, tmp_path / f"q{seed}.onnx", rng.normal(0, 1, (16, inputs)), fmt, act, "minmax", per_channel)
    bad, total, _ = _mismatches(q, (inputs,), seed=seed, n=100)
    assert bad == 0, f"seed {seed}: {bad} of {total} codes differ"


@pytest.mark.parametrize("fmt", ["qoperator", "qdq"])
def test_float_side_reshape_before_the_input_quantizer(tmp_path: Path, fmt: str) -> None:
    """Reshape / Flatten of the float input (as in the mnistfc networks) moves after the quantizer exactly."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(12)
    inits = [numpy_helper.from_array(np.array([0, -1], np.int64), "shape"),
             numpy_helper.from_array(rng.normal(0, 0.5, (4, 12)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.normal(0, 0.1, 4).astype(np.float32), "b")]
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["r"], name="reshape"),
             helper.make_node("Gemm", ["r", "w", "b"], ["y"], transB=1, name="fc")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), str(tmp_path / "f.onnx"))
    q = quantize(tmp_path / "f.onnx", tmp_path / "q.onnx", rng.normal(0, 1, (16, 3, 4)), fmt, "u8", "minmax", True)
    bad, total, kinds = _mismatches(q, (3, 4), seed=2)
    assert kinds[0] == "Reshape" and bad == 0, f"{bad} of {total} codes differ"


@pytest.mark.parametrize("zp_type", [np.uint8, np.int8])
def test_clip_and_relu_on_codes_are_literal(tmp_path: Path, zp_type: type) -> None:
    """Clip (and Relu, on int8) applied to code tensors clamp the codes themselves, as onnxruntime does."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    z = np.array(100 if zp_type is np.uint8 else -20, zp_type)
    inits = [numpy_helper.from_array(np.array(0.02, np.float32), "s"), numpy_helper.from_array(z, "z"),
             numpy_helper.from_array(np.array(30 if zp_type is np.uint8 else -60, zp_type), "lo"),
             numpy_helper.from_array(np.array(200 if zp_type is np.uint8 else 90, zp_type), "hi")]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="quant"),
             helper.make_node("Clip", ["q", "lo", "hi"], ["c"], name="clip")]
    last = "c"
    if zp_type is np.int8:
        nodes.append(helper.make_node("Relu", ["c"], ["r"], name="relu"))
        last = "r"
    nodes.append(helper.make_node("DequantizeLinear", [last, "s", "z"], ["y"], name="deq"))
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 7])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 7])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)]), str(tmp_path / "c.onnx"))
    bad, total, kinds = _mismatches(tmp_path / "c.onnx", (7,), seed=1, n=100)
    assert "Clamp" in kinds and bad == 0, f"{bad} of {total} codes differ"


@pytest.mark.parametrize("groups", [2, 4])
@pytest.mark.parametrize("fmt", ["qoperator", "qdq"])
def test_grouped_and_depthwise_conv_strided(tmp_path: Path, groups: int, fmt: str) -> None:
    """Grouped (2) and depthwise (4 of 4 channels) 3x3 convolutions, stride 2 and dilation 1 or 2: onnxruntime
    routes depthwise convs to their own kernels."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(groups)
    w = rng.normal(0, 0.5, (4, 4 // groups, 3, 3)).astype(np.float32)
    w2 = rng.normal(0, 0.3, (3, 4 * 3 * 3)).astype(np.float32)
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(rng.normal(0, 0.1, 4).astype(np.float32), "b"),
             numpy_helper.from_array(w2, "w2"), numpy_helper.from_array(np.zeros(3, np.float32), "b2")]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], strides=[2, 2], group=groups,
                              dilations=[groups // 2, groups // 2], name="conv"),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("Flatten", ["r"], ["f"], axis=1, name="flat"),
             helper.make_node("Gemm", ["f", "w2", "b2"], ["y"], transB=1, name="fc")]
    side = 6 if groups == 2 else 7
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, side, side])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), str(tmp_path / "f.onnx"))
    q = quantize(tmp_path / "f.onnx", tmp_path / "q.onnx", rng.normal(0, 1, (16, 4, side, side)), fmt, "u8", "minmax",
                 True)
    bad, total, kinds = _mismatches(q, (4, side, side), seed=1)
    assert "Conv2d" in kinds and bad == 0, f"groups {groups} {fmt}: {bad} of {total} codes differ"
