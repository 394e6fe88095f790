"""Small float ONNX models built with ``onnx.helper`` and quantized with onnxruntime's own
``quantize_static``: the builders the ONNX tests share, and checks of the builders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnxruntime.quantization import (  # noqa: E402
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)

FORMATS = {"qoperator": QuantFormat.QOperator, "qdq": QuantFormat.QDQ}
ACTS = {"u8": QuantType.QUInt8, "s8": QuantType.QInt8}
METHODS = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
           "percentile": CalibrationMethod.Percentile}


def _save(nodes: list, inits: list, in_shape: list, out_name: str, out_shape: list, path: Path) -> Path:
    g = helper.make_graph(nodes, "net", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                          [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_shape)], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def float_mlp(path: Path, sizes: list[int], seed: int, matmul: bool = False, scale: float = 1.0) -> Path:
    """Gemm (+ Relu) layers, or MatMul without bias when ``matmul``."""
    rng = np.random.default_rng(seed)
    nodes, inits, x = [], [], "x"
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = (rng.normal(0, scale / np.sqrt(a), (b, a))).astype(np.float32)
        if matmul:
            inits.append(numpy_helper.from_array(np.ascontiguousarray(w.T), f"w{i}"))
            nodes.append(helper.make_node("MatMul", [x, f"w{i}"], [f"y{i}"], name=f"fc{i}"))
        else:
            inits += [numpy_helper.from_array(w, f"w{i}"),
                      numpy_helper.from_array(rng.normal(0, 0.2, b).astype(np.float32), f"b{i}")]
            nodes.append(helper.make_node("Gemm", [x, f"w{i}", f"b{i}"], [f"y{i}"], transB=1, name=f"fc{i}"))
        x = f"y{i}"
        if i < len(sizes) - 2:
            nodes.append(helper.make_node("Relu", [x], [f"r{i}"], name=f"relu{i}"))
            x = f"r{i}"
    return _save(nodes, inits, ["N", sizes[0]], x, ["N", sizes[-1]], path)


def float_cnn(path: Path, channels: int, side: int, filters: int, classes: int, seed: int, pool: bool = True) -> Path:
    """Conv (pad 1) -> Relu -> [MaxPool 2x2] -> Flatten -> Gemm."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 0.4, (filters, channels, 3, 3)).astype(np.float32)
    out_side = side // 2 if pool else side
    feats = filters * out_side * out_side
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(rng.normal(0, 0.1, filters).astype(np.float32), "b"),
             numpy_helper.from_array(rng.normal(0, 1 / np.sqrt(feats), (classes, feats)).astype(np.float32), "w2"),
             numpy_helper.from_array(rng.normal(0, 0.1, classes).astype(np.float32), "b2")]
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], name="conv"),
             helper.make_node("Relu", ["c"], ["r"], name="relu")]
    last = "r"
    if pool:
        nodes.append(helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2], name="pool"))
        last = "p"
    nodes += [helper.make_node("Flatten", [last], ["f"], axis=1, name="flatten"),
              helper.make_node("Gemm", ["f", "w2", "b2"], ["y"], transB=1, name="fc")]
    return _save(nodes, inits, ["N", channels, side, side], "y", ["N", classes], path)


class Reader(CalibrationDataReader):
    """Calibration batches of one sample each."""

    def __init__(self, samples: np.ndarray) -> None:
        self.it = iter([{"x": s[None].astype(np.float32)} for s in samples])

    def get_next(self):  # noqa: ANN201  (onnxruntime's interface)
        return next(self.it, None)


def quantize(src: Path, dst: Path, calib: np.ndarray, fmt: str = "qoperator", act: str = "u8",
             method: str = "minmax", per_channel: bool = False, weights: str = "s8") -> Path:
    quantize_static(str(src), str(dst), Reader(calib), quant_format=FORMATS[fmt], activation_type=ACTS[act],
                    weight_type=ACTS[weights], per_channel=per_channel, calibrate_method=METHODS[method])
    return dst


def probe_inputs(rng: np.random.Generator, shape: tuple[int, ...], n: int, spread: float = 1.0) -> np.ndarray:
    """Normal inputs, plus large ones that saturate the input quantizer and the layers."""
    x = rng.normal(0, spread, (n, *shape)).astype(np.float32)
    x[: n // 4] *= 8
    x[n // 4: n // 4 + 2] = np.float32(1e6) * np.sign(rng.normal(size=(2, *shape)))
    return x


def ort_codes(path: Path, x: np.ndarray) -> np.ndarray:
    from bvverify.importers import load
    from bvverify.importers.onnx_runtime import onnx_runtime

    return onnx_runtime(path, load(path))(x)


def verify_matches_enumeration(net, run, clo: np.ndarray, chi: np.ndarray, pairs) -> set[str]:
    """For each output pair (j, k): ``Y_j - Y_k >= m`` at m = the box's maximum (violated) and one past it
    (holds), decided by ``verify`` with onnxruntime as the runtime, against enumeration of every box point;
    a counterexample must replay through onnxruntime and satisfy the condition. The statuses seen."""
    from fractions import Fraction

    from bvverify import verify
    from bvverify.properties.spec import Linear, OutputCondition, Property
    from tests.strategies import enumerate_box

    flat = net.evaluate_codes(enumerate_box(clo, chi)).reshape(-1, int(np.prod(net.output_shape)))
    statuses = set()
    for j, k in pairs:
        diff = flat[:, j] - flat[:, k]
        for m in (int(diff.max()), int(diff.max()) + 1):
            cond = OutputCondition(((Linear(((j, Fraction(-1)), (k, Fraction(1))), Fraction(-m)),),), "codes")
            prop = Property(clo.astype(np.float64), chi.astype(np.float64), cond, units="codes")
            v = verify(net, prop, timeout=60, runtime=run)
            truth = bool((diff >= m).any())
            assert v.status == ("violated" if truth else "holds"), (j, k, m, v.status, v.reason)
            if v.counterexample is not None:
                assert v.counterexample.replayed_by == ["interpreter", "runtime"]
                assert cond.holds(net.evaluate_codes(v.counterexample.codes[None]).reshape(-1))
            statuses.add(v.status)
    return statuses


def test_builders_make_runnable_float_models(tmp_path: Path) -> None:
    p = float_cnn(tmp_path / "c.onnx", 2, 6, 3, 4, seed=0)
    sess = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
    y = sess.run(None, {"x": np.zeros((3, 2, 6, 6), np.float32)})[0]
    assert y.shape == (3, 4)
