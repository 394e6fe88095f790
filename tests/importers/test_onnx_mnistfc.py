"""The VNN-COMP 2021 mnistfc float network quantized by onnxruntime (as
scripts/bench/quantize_mnistfc_onnx.py does): imported (the float-side Flatten of its
[1, 784, 1] input moves after the input quantizer) and bit-exact to onnxruntime.
Skipped when the benchmark folder (``$BVVERIFY_BENCHMARKS`` or ``../shared/benchmarks``) is absent."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
from tests.onnx_host import skip_module_unless_ort_host  # noqa: E402

skip_module_unless_ort_host()

from bvverify.importers import load  # noqa: E402
from bvverify.importers.onnx_runtime import onnx_runtime  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
BENCH = Path(os.environ.get("BVVERIFY_BENCHMARKS") or REPO.parent / "shared" / "benchmarks")


def _script():
    spec = importlib.util.spec_from_file_location("quantize_mnistfc_onnx", REPO / "scripts/bench/quantize_mnistfc_onnx.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("fmt", ["qdq", "qoperator"])
def test_mnistfc_256x2_quantized_by_onnxruntime_is_exact(tmp_path: Path, fmt: str) -> None:
    src = BENCH / "vnncomp2021_mnistfc" / "mnist-net_256x2.onnx"
    if not src.is_file():
        pytest.skip(f"{src} absent")
    s = _script()
    images = s.load_images(BENCH, 200)
    q = tmp_path / f"m_{fmt}.onnx"
    s.quantize(src, q, images[:50], fmt, "u8")
    net = load(q)
    assert net.input.shape == (784, 1) and net.nodes[0].op == "Reshape"
    x = s.check_inputs(images, 200)
    a, b = net.evaluate(x), onnx_runtime(q, net)(x)
    assert int((a != b).sum()) == 0
    assert np.mean(np.argmax(a, axis=1) == np.argmax(b, axis=1)) == 1.0
