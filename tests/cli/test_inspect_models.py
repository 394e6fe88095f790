"""``bvverify inspect`` on what users hand it: an ONNX model is described as onnxruntime runs it
(not by torch's target rules); torch.save checkpoints (legacy and zip format, state_dicts and
pickled modules) are named as such with how to export a quantized TorchScript model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.onnx_host import needs_ort_host  # noqa: E402


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bvverify", *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def onnx_models(tmp_path_factory) -> dict[str, Path]:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from tests.importers.test_onnx_models import float_mlp, quantize

    d = tmp_path_factory.mktemp("onnx")
    f = float_mlp(d / "float.onnx", [6, 5, 3], 0)
    calib = np.random.default_rng(0).normal(size=(16, 6)).astype(np.float32)
    return {fmt: quantize(f, d / f"{fmt}.onnx", calib, fmt=fmt) for fmt in ("qoperator", "qdq")}


@needs_ort_host
@pytest.mark.parametrize("fmt, ops, label", [("qoperator", ["DequantizeLinear", "QGemm", "QuantizeLinear"], "QOperator"),
                                             ("qdq", ["DequantizeLinear", "Gemm", "QuantizeLinear"], "QDQ")])
def test_onnx_model_is_described_as_onnxruntime_runs_it(onnx_models, fmt, ops, label):
    import onnx

    path = onnx_models[fmt]
    p = run("inspect", path, "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    meta, rules = doc["meta"], doc["target_rules"]
    assert meta["runtime"] == "onnxruntime" and doc["target"] == meta["target"]
    text = "\n".join(rules)
    # torch's rules (fbgemm / aten / oneDNN) describe another runtime: none of them here
    assert not any(w in text for w in ("fbgemm", "aten", "oneDNN")), rules
    assert rules[0].startswith(f"runtime profile: onnxruntime {meta['onnxruntime']} (onnx {label}, ")
    assert "requantizer profile: onnxruntime" in rules
    assert f"the target is the host it was imported on ({meta['target']})" in text
    file_ops = sorted({n.op_type for n in onnx.load(str(path)).graph.node})
    assert file_ops == ops and f"ONNX ops in the file: {', '.join(file_ops)}" in rules
    # the text form says the same, with the import's note on the host's kernels
    p = run("inspect", path)
    assert p.returncode == 0 and "fbgemm" not in p.stdout, p.stdout
    flat = " ".join(p.stdout.split())
    assert f"target: {meta['target']}" in flat and "runtime profile: onnxruntime" in flat
    assert " ".join(meta["notes"][0].split()) in flat


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    torch = pytest.importorskip("torch")
    from torch import nn

    d = tmp_path_factory.mktemp("ckpt")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).eval()
    files = {}
    for legacy in (False, True):
        tag = "legacy_" if legacy else ""
        for what, obj in (("state_dict", model.state_dict()), ("module", model)):
            files[tag + what] = d / f"{tag}{what}.pt"
            torch.save(obj, files[tag + what], _use_new_zipfile_serialization=not legacy)
    qmodel = nn.Sequential(torch.ao.quantization.QuantStub(), nn.Linear(4, 3), torch.ao.quantization.DeQuantStub()).eval()
    qmodel.qconfig = torch.ao.quantization.get_default_qconfig("fbgemm")
    torch.ao.quantization.prepare(qmodel, inplace=True)
    qmodel(torch.randn(8, 4))
    torch.ao.quantization.convert(qmodel, inplace=True)
    files["quantized_state_dict"] = d / "quantized_state_dict.pt"
    torch.save(qmodel.state_dict(), files["quantized_state_dict"])
    files["legacy_quantized_module"] = d / "legacy_quantized_module.pt"
    torch.save(qmodel, files["legacy_quantized_module"], _use_new_zipfile_serialization=False)
    return files


HOW = "torch.jit.save(torch.jit.trace(qmodel, example_input), 'model.pt')"


@pytest.mark.parametrize("name, words", [
    ("state_dict", "a torch.save checkpoint, a state_dict of 4 entries (float weights"),
    ("legacy_state_dict", "a torch.save checkpoint in the legacy format (_use_new_zipfile_serialization=False), a "
                          "state_dict of 4 entries (float weights"),
    ("module", "a torch.save checkpoint, a pickled nn.Module (torch.save(model)) of float layers: Linear, ReLU, "
               "Sequential"),
    ("legacy_module", "a torch.save checkpoint in the legacy format (_use_new_zipfile_serialization=False), a pickled "
                      "nn.Module (torch.save(model)) of float layers: Linear, ReLU, Sequential"),
    ("quantized_state_dict", "a state_dict of"),
    ("legacy_quantized_module", "a pickled nn.Module (torch.save(model)) of quantized layers"),
])
def test_checkpoints_are_named_with_the_export_recipe(checkpoints, name, words):
    p = run("inspect", checkpoints[name])
    assert p.returncode == 2 and p.stdout == "", p.stderr
    line = " ".join(p.stderr.split())
    assert line.startswith(f"bvverify: error: {checkpoints[name]}: ") and words in line, line
    assert "not a TorchScript program" in line and HOW in line and "Traceback" not in p.stderr
    if name.startswith("quantized") or "quantized_" in name:
        assert "(quantized weights" in line or "of quantized layers" in line
