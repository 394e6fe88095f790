"""The command line: JSON output, eval results equal the API, bad input gives one line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import bvverify
from bvverify.bundled import resolve_model, test_images


def run(*args, ok=(0,)):
    p = subprocess.run([sys.executable, "-m", "bvverify", *map(str, args)], capture_output=True, text=True, timeout=300)
    assert p.returncode in ok, (p.returncode, p.stdout, p.stderr)
    return p


def test_inspect_json():
    doc = json.loads(run("inspect", "digits-cnn", "--json").stdout)
    ops = [layer["op"] for layer in doc["layers"]]
    assert ops[:3] == ["Conv2d", "Requantize", "MaxPool2d"]
    conv = doc["layers"][0]
    assert conv["accumulator"]["can_overflow"] is False and conv["accumulator"]["acc_min"] < 0
    assert doc["layers"][1]["profile"] == "fbgemm"
    assert doc["input"]["quantizer"]["rule"] == "torch_fma"


def test_inspect_table():
    p = run("inspect", "digits-mlp")
    assert "Requantize" in p.stdout and "worst case" in p.stdout


def test_eval_matches_api(tmp_path):
    x, y = test_images()
    np.save(tmp_path / "x.npy", x.reshape(-1, 64))
    out = tmp_path / "o.npy"
    doc = json.loads(run("eval", "digits-mlp", tmp_path / "x.npy", "--out", out, "--json").stdout)
    net = bvverify.load(resolve_model("digits-mlp"))
    codes = net.evaluate(x.reshape(-1, 64))
    assert np.array_equal(np.load(out), codes)
    assert doc["argmax"] == codes.argmax(1).tolist() and doc["n"] == len(x)
    run("eval", "digits-mlp", tmp_path / "x.npy", "--out", out, "--dequantize")
    assert np.array_equal(np.load(out), net.dequantize(codes))


def test_eval_bundled_default_inputs():
    p = run("eval", "digits-cnn")
    assert "accuracy against bundled labels" in p.stdout


def _bad(*args, words):
    p = run(*args, ok=(2,))
    assert "Traceback" not in p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and words in lines[0], p.stderr
    return lines[0]


def test_bad_inputs(tmp_path):
    _bad("inspect", tmp_path / "missing.bvq", words="no such file")
    (tmp_path / "junk.pt").write_bytes(b"PK\x03\x04garbage")
    _bad("inspect", tmp_path / "junk.pt", words="junk.pt")
    (tmp_path / "text.h5").write_text("hello")
    _bad("inspect", tmp_path / "text.h5", words="unrecognised model format")
    np.save(tmp_path / "wrong.npy", np.zeros((3, 65), np.float32))
    _bad("eval", "digits-mlp", tmp_path / "wrong.npy", words="samples have 65 values, the model takes 64")
    np.save(tmp_path / "nan.npy", np.full((2, 64), np.nan, np.float32))
    _bad("eval", "digits-mlp", tmp_path / "nan.npy", words="NaN")
    (tmp_path / "notnpy.npy").write_text("not numpy")
    _bad("eval", "digits-mlp", tmp_path / "notnpy.npy", words="notnpy.npy: unreadable")
    _bad("eval", "digits-mlp", tmp_path / "wrong.npy", "--input-shape", "a,b", words="--input-shape")


torch = pytest.importorskip("torch")


def test_torchscript_cli(tmp_path):
    """A TorchScript file of a converted model: eval equals torch; missing shape is a clear error."""
    import torch.ao.quantization as tq
    from torch import nn

    torch.backends.quantized.engine = "fbgemm"
    m = nn.Sequential(tq.QuantStub(), nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 6 * 6, 3), tq.DeQuantStub())
    m.eval()
    m.qconfig = tq.get_default_qconfig("fbgemm")
    tq.prepare(m, inplace=True)
    m(torch.rand(16, 1, 8, 8))
    tq.convert(m, inplace=True)
    path = tmp_path / "m.pt"
    torch.jit.save(torch.jit.trace(m, torch.rand(1, 1, 8, 8)), str(path))
    x = np.random.default_rng(0).uniform(-0.2, 1.2, (50, 1, 8, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    run("eval", path, tmp_path / "x.npy", "--input-shape", "1,8,8", "--qengine", "fbgemm", "--dequantize",
        "--out", tmp_path / "o.npy")
    assert np.array_equal(np.load(tmp_path / "o.npy"), m(torch.from_numpy(x)).numpy())
    _bad("inspect", path, words="input shape")


def test_overflow_command():
    doc = json.loads(run("overflow", "digits-cnn", "--json").stdout)
    assert [d["overflow"] for d in doc["layers"]] == ["no", "no", "no"]
    assert all(d["how"] == "interval" for d in doc["layers"])


def test_bundled_native_eval_equals_torch(tmp_path):
    """The bundled native files carry the avx512-vnni arithmetic: `bvverify eval` on them equals torch
    wherever torch can run that target (here, or in a fresh process). The TorchScript twins,
    imported for the host, equal torch in this process on any CPU."""
    from bvverify.bundled import MODELS_DIR
    from bvverify.importers import load
    from bvverify.importers.torch import torch_runtime
    from bvverify.importers.torch_check import load_module, pinned

    x = np.random.default_rng(3).uniform(-0.2, 1.2, (500, 1, 8, 8)).astype(np.float32)
    compared = 0
    for name, shape in (("digits_mlp", (500, 64)), ("digits_cnn", (500, 1, 8, 8))):
        xs = x.reshape(shape)
        np.save(tmp_path / "x.npy", xs)
        pt = MODELS_DIR / f"{name}.pt"
        with pinned("fbgemm"):
            want = load_module(pt, "fbgemm")(torch.from_numpy(xs)).numpy()
        run("eval", pt, tmp_path / "x.npy", "--qengine", "fbgemm", "--input-shape", ",".join(map(str, shape[1:])),
            "--dequantize", "--out", tmp_path / "o.npy")
        assert np.array_equal(np.load(tmp_path / "o.npy"), want)
        native = load(MODELS_DIR / f"{name}.bvq")
        assert native.meta["target"] == "avx512-vnni"
        runtime = torch_runtime(pt, "fbgemm", native)
        if runtime is None:
            continue  # this CPU cannot run the VNNI kernels at all
        run("eval", MODELS_DIR / f"{name}.bvq", tmp_path / "x.npy", "--out", tmp_path / "o.npy")
        assert np.array_equal(np.load(tmp_path / "o.npy"), runtime(xs))
        compared += 1
    if compared == 0:
        pytest.skip("this CPU cannot run the bundled models' avx512-vnni target; the TorchScript twins were compared")
