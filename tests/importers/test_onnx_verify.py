"""End to end: ``bvverify verify`` on an imported ONNX model with the auto engine decides, and a
violated verdict's counterexample is replayed by onnxruntime itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.importers.test_onnx_models import float_mlp, quantize

pytest.importorskip("onnxruntime")
from tests.onnx_host import skip_module_unless_ort_host  # noqa: E402

skip_module_unless_ort_host()

from bvverify import read_vnnlib, verify  # noqa: E402
from bvverify.importers import load  # noqa: E402
from bvverify.importers.onnx_runtime import onnx_runtime  # noqa: E402


def _vnnlib(path: Path, x0: np.ndarray, eps: float, a: int, b: int) -> Path:
    """The box ``x0 +- eps``; violated iff some input in it has ``Y_a >= Y_b``."""
    lines = [f"(declare-const X_{i} Real)" for i in range(x0.size)] + ["(declare-const Y_0 Real)",
                                                                       "(declare-const Y_1 Real)",
                                                                       "(declare-const Y_2 Real)"]
    for i, v in enumerate(x0.ravel()):
        lines += [f"(assert (>= X_{i} {v - eps:.9f}))", f"(assert (<= X_{i} {v + eps:.9f}))"]
    lines.append(f"(assert (>= Y_{a} Y_{b}))")
    path.write_text("\n".join(lines) + "\n")
    return path


def _verify(model: Path, prop: Path) -> dict:
    p = subprocess.run([sys.executable, "-m", "bvverify", "verify", str(model), str(prop), "--json", "--timeout", "30"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode in (0, 1), (p.returncode, p.stdout, p.stderr)
    return json.loads(p.stdout)


def test_verify_onnx_model_replays_through_onnxruntime(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    q = quantize(float_mlp(tmp_path / "f.onnx", [6, 12, 3], seed=3), tmp_path / "q.onnx", rng.normal(size=(32, 6)),
                 "qdq", "s8", per_channel=True)
    net = load(q)
    x0 = np.round(rng.normal(size=6), 3).astype(np.float32)
    y = net.dequantize(net.evaluate(x0[None]))[0]
    top, low = int(np.argmax(y)), int(np.argmin(y))
    if y[top] == y[low]:
        pytest.skip("degenerate random model: all outputs equal")
    # a wide box: the least output can be pushed up to the largest somewhere (found, replayed)
    bad = _verify(q, _vnnlib(tmp_path / "bad.vnnlib", x0, 50.0, low, top))
    # a tiny box: the largest output stays above the least (proved; the library call, with onnxruntime attached)
    good = verify(net, read_vnnlib(_vnnlib(tmp_path / "good.vnnlib", x0, 1e-3, low, top), 6, 3), timeout=30,
                  runtime=onnx_runtime(q, net))
    assert good.status == "holds", good.reason
    assert bad["status"] == "violated", bad
    assert bad["counterexample"]["replayed_by"] == ["interpreter", "runtime"]
    x = np.asarray(bad["counterexample"]["input"], np.float32).reshape(1, 6)
    out = net.dequantize(net.evaluate(x))[0]
    assert out[low] >= out[top]
