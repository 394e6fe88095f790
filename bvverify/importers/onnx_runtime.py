"""onnxruntime itself as the real runtime of an imported ONNX model (counterexample replay
and the tests' comparisons): the model file as it is, run with default session options
(the graph optimizations every user gets), one sample at a time, returning output *codes*.

A quantized model's output is usually ``DequantizeLinear(codes)``: its float32 values
``RN(s * (q - z))`` are strictly increasing in ``q``, so the codes are recovered exactly
(and checked). The graph is not cut before that DequantizeLinear: measured, onnxruntime
then runs the last Gemm of an int8 QDQ model in float32 instead of as QGemm, so the codes
of the cut graph are not the codes of the model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bvverify.errors import InternalError, ModelFormatError
from bvverify.ir.graph import QNetwork
from bvverify.runtimes.quantize import dequantize


def float_to_codes(y: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """The codes ``q`` with ``RN(s * (q - z)) == y`` exactly, or an InternalError."""
    y32 = np.asarray(y, dtype=np.float32)
    q = np.rint(y32.astype(np.float64) / np.float64(np.float32(scale))).astype(np.int64) + int(zero_point)
    if not np.array_equal(dequantize(q, scale, zero_point), y32):
        raise InternalError("onnxruntime's output is not a dequantized code of the model's output quantizer")
    return q


def file_output_qparams(path: Path) -> tuple[float, int] | None:
    """(scale, zero point) of the file's final DequantizeLinear, read from the file itself (not from the
    imported network, so a wrong import cannot hide behind its own zero point); None without one."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    last = [n for n in graph.node if graph.output[0].name in n.output]
    if not last or last[0].op_type != "DequantizeLinear":
        return None
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    dq = last[0]
    scale = inits.get(dq.input[1])
    zp = inits.get(dq.input[2]) if len(dq.input) > 2 and dq.input[2] else np.zeros(1, np.uint8)
    if scale is None or zp is None or scale.size != 1 or zp.size != 1:
        raise ModelFormatError(f"{path}: the output DequantizeLinear needs constant per-tensor scale and zero point")
    return float(np.float32(scale.ravel()[0])), int(zp.ravel()[0])


def onnx_runtime(path: str | Path, net: QNetwork):
    """``x [N, *input_shape] -> output codes [N, *output_shape]`` computed by onnxruntime."""
    import onnxruntime as ort

    p = Path(path)
    try:
        so = ort.SessionOptions()
        so.log_severity_level = 3
        sess = ort.InferenceSession(str(p), so, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001  (onnxruntime's own exception types)
        raise ModelFormatError(f"{p}: onnxruntime cannot run this model: {str(e).splitlines()[0]}") from None
    inp = sess.get_inputs()[0]
    dtype = {"tensor(float)": np.float32, "tensor(uint8)": np.uint8, "tensor(int8)": np.int8}.get(inp.type)
    if dtype is None:
        raise ModelFormatError(f"{p}: input type {inp.type} is not float, int8 or uint8")

    qparams = file_output_qparams(p)

    def run(x: np.ndarray) -> np.ndarray:
        xs = np.asarray(x).reshape((-1, *net.input.shape)).astype(dtype)
        ys = np.concatenate([np.asarray(sess.run(None, {inp.name: xs[i:i + 1]})[0]) for i in range(len(xs))])
        if ys.dtype.kind == "f":
            if qparams is None:
                raise ModelFormatError(f"{p}: onnxruntime returns floats but the graph output is not a DequantizeLinear")
            ys = float_to_codes(ys, *qparams)
        return ys.astype(np.int64).reshape((len(xs), *net.output_shape))

    return run
