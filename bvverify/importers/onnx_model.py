"""ONNX int8 / uint8 models as onnxruntime runs them.

The file is first passed through onnxruntime's own graph optimizer (level
``ORT_ENABLE_EXTENDED``, the CPU provider): that is where onnxruntime recognises
``DequantizeLinear -> Gemm / MatMul / Conv -> QuantizeLinear`` groups of the QDQ
form and replaces them by its integer kernels (QGemm, QLinearMatMul, QLinearConv).
Importing the optimized graph models exactly the kernels onnxruntime runs: a QDQ
group it leaves in float32 stays a float op and is refused by name, never guessed.
QOperator files go through the same step (it changes nothing in them but constant
folding). The walk itself is in :mod:`bvverify.importers.onnx_qoperator`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bvverify.errors import ModelFormatError, UnsupportedOpError
from bvverify.ir.graph import QNetwork

#: Ops whose presence makes a graph quantized (anything else is a float model).
QUANT_OPS = frozenset({"QuantizeLinear", "DequantizeLinear", "QLinearMatMul", "QLinearConv", "QGemm", "QLinearAdd",
                       "QLinearAveragePool", "QLinearGlobalAveragePool", "MatMulInteger", "ConvInteger",
                       "DynamicQuantizeLinear"})

HOW_TO_QUANTIZE = ("quantize it first with onnxruntime.quantization.quantize_static(model_in, model_out, "
                   "calibration_data_reader, quant_format=QuantFormat.QDQ or QOperator, activation_type=QuantType.QUInt8 "
                   "or QInt8, weight_type=QuantType.QInt8) and load the quantized file (see docs/onnx.md)")


def is_onnx(path: Path) -> bool:
    """An ``.onnx`` file name, or a file that parses as an ONNX ModelProto with a graph."""
    if path.suffix.lower() == ".onnx":
        return True
    try:
        import onnx
    except ImportError:
        return False
    try:
        m = onnx.load(str(path), load_external_data=False)
    except Exception:  # noqa: BLE001  (any parse failure means: not ONNX)
        return False
    return bool(m.graph.node) and bool(m.opset_import)


def _modules() -> tuple[Any, Any]:
    try:
        import onnx
        import onnxruntime
    except ImportError as e:
        raise ModelFormatError(f"reading ONNX models needs the onnx and onnxruntime packages ({e.name} is missing): "
                               "pip install 'bvverify[onnx]'") from None
    return onnx, onnxruntime


def read_model(path: Path) -> Any:
    """The ModelProto of ``path``, or a ModelFormatError naming the file."""
    onnx, _ = _modules()
    try:
        return onnx.load(str(path))
    except Exception as e:  # noqa: BLE001  (protobuf / IO errors of every kind)
        raise ModelFormatError(f"{path}: not a readable ONNX file ({type(e).__name__}: {e})") from None


def optimized(path: Path) -> Any:
    """The graph onnxruntime runs: the file after ORT's basic and extended rewrites."""
    onnx, ort = _modules()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "optimized.onnx"
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        so.optimized_model_filepath = str(out)
        so.log_severity_level = 3
        try:
            ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001  (onnxruntime raises its own exception types)
            raise ModelFormatError(f"{path}: onnxruntime cannot load this model: {str(e).splitlines()[0]}") from None
        return onnx.load(str(out))


def output_code_range(model: Any) -> tuple[int, int] | None:
    """The code range of the graph output as the file writes it (the codes behind a final
    DequantizeLinear, or an int8 / uint8 output itself); None when neither."""
    from onnx import TensorProto

    out = model.graph.output[0]
    elem = out.type.tensor_type.elem_type
    ranges = {TensorProto.UINT8: (0, 255), TensorProto.INT8: (-128, 127)}
    if elem in ranges:
        return ranges[elem]
    last = [n for n in model.graph.node if out.name in n.output]
    if not last or last[0].op_type != "DequantizeLinear":
        return None
    if len(last[0].input) < 3 or not last[0].input[2]:
        return ranges[TensorProto.UINT8]
    inits = {i.name: i.data_type for i in model.graph.initializer}
    return ranges.get(inits.get(last[0].input[2], TensorProto.UINT8))


def load_onnx(path: str | Path, target: str | None = None) -> QNetwork:
    """Import an int8 / uint8 ONNX file (QOperator or QDQ form) exactly as onnxruntime computes it on
    this host (``target``: only ``host`` or this host's own name; onnxruntime has no switch to run
    another CPU's kernels, so no other target can be measured or replayed)."""
    from bvverify.importers.onnx_qoperator import Walk
    from bvverify.importers.onnx_target import ort_target

    p = Path(path)
    raw = read_model(p)
    kinds = {n.op_type for n in raw.graph.node}
    if not kinds & QUANT_OPS:
        raise ModelFormatError(f"{p}: a float ONNX model (ops: {', '.join(sorted(kinds)) or 'none'}); bvverify verifies "
                               f"quantized networks as they run: {HOW_TO_QUANTIZE}")
    dynamic = [n for n in raw.graph.node if n.op_type == "DynamicQuantizeLinear"]
    if dynamic:  # before onnxruntime's optimizer fuses it away (into DynamicQuantizeMatMul, ...)
        from bvverify.importers.onnx_qoperator import DYNAMIC

        raise UnsupportedOpError(f"{p}: DynamicQuantizeLinear (node {dynamic[0].name or '<unnamed>'}): not supported: "
                                 f"{DYNAMIC}")
    if len(raw.graph.output) != 1:
        raise ModelFormatError(f"{p}: the graph has {len(raw.graph.output)} outputs; bvverify takes one output tensor")
    model = optimized(p)
    net = Walk(str(p), model).run(output_code_range(raw))
    host_target, note = ort_target()
    if target is not None and target.strip().lower() not in ("", "host", host_target):
        raise ModelFormatError(f"{p}: an ONNX model is imported for onnxruntime on this host ({host_target}); "
                               f"target {target} is not supported (drop --target)")
    net.meta.update(source="onnx", format="onnx " + ("QDQ" if "QuantizeLinear" in kinds and not kinds & {
        "QLinearMatMul", "QLinearConv", "QGemm", "QLinearAdd", "QLinearAveragePool",
        "QLinearGlobalAveragePool", "MatMulInteger", "ConvInteger"} else "QOperator"), runtime="onnxruntime", target=host_target,
        onnxruntime=_modules()[1].__version__, notes=[note])
    return net
