"""--save-counterexamples: the files of a violated digits-mlp query (image 3 at eps 1 is violated), each
one checked against the interpreter; nothing for a verdict that holds."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from bvverify.bundled import test_images  # noqa: E402
from bvverify.cli.app import load_model  # noqa: E402
from bvverify.engines.config import EngineOptions  # noqa: E402
from bvverify.engines.registry import verify  # noqa: E402
from bvverify.properties.robustness import argmax_lowest, robustness_property  # noqa: E402
from bvverify.reports.counterexamples import save_counterexample  # noqa: E402
from bvverify.reports.vnncomp import read_vnncomp  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def digits(index: int, eps: int):
    net = load_model("digits-mlp", None, None, None, None)
    xs, ys = test_images()
    prop = robustness_property(net, xs[index].ravel(), int(ys[index]), eps, "codes")
    return net, prop, verify(net, prop, EngineOptions("auto"), 30.0, None, xs[index].ravel())


def test_robustness_counterexample_files(tmp_path):
    net, prop, v = digits(3, 1)
    assert v.status == "violated"
    files = save_counterexample(tmp_path / "cex", "digits-mlp_3_eps1", net, prop, v)
    assert [f.name for f in files] == ["digits-mlp_3_eps1.txt", "digits-mlp_3_eps1_codes.npy",
                                       "digits-mlp_3_eps1_input.npy", "digits-mlp_3_eps1.png"]
    codes = np.load(files[1])
    assert codes.shape == (64,) and codes.dtype == np.int64
    lo, hi = prop.lo.ravel(), prop.hi.ravel()  # a ball in codes: the witness lies in it
    assert np.all(codes >= lo) and np.all(codes <= hi)
    label = prop.meta["label"]
    assert argmax_lowest(net.evaluate_codes(codes[None])[0]) != label  # it replays: the class changes
    x = np.load(files[2])
    assert x.dtype == np.float32 and np.array_equal(net.quantize_input(x[None])[0], codes)
    r = read_vnncomp(files[0])
    assert r.word == "sat" and np.allclose(r.x, x.astype(np.float64)) and len(r.y) == 10
    png = files[3].read_bytes()
    assert png.startswith(PNG) and len(png) > 5000


def test_holds_writes_nothing(tmp_path):
    net, prop, v = digits(0, 1)
    assert v.status == "holds"
    assert save_counterexample(tmp_path / "cex", "x", net, prop, v) == [] and not (tmp_path / "cex").exists()


def vnnlib_ball(path, net, x, label):
    """Image ``x``'s ball of one input step in float units, as VNN-LIB (the argmax rule: ties to the lowest index)."""
    s = net.input.quantizer.scale
    lo, hi = np.clip(x - s, 0, 1), np.clip(x + s, 0, 1)
    lines = [f"(declare-const X_{i} Real)" for i in range(len(x))] + [f"(declare-const Y_{j} Real)" for j in range(10)]
    lines += [f"(assert (>= X_{i} {float(a)!r}))\n(assert (<= X_{i} {float(b)!r}))" for i, (a, b) in enumerate(zip(lo, hi))]
    lines.append("(assert (or " + " ".join(f"(and ({'>=' if j < label else '>'} Y_{j} Y_{label}))"
                                           for j in range(10) if j != label) + "))")
    path.write_text("\n".join(lines) + "\n")


def test_verify_command_saves_counterexample(tmp_path):
    net = load_model("digits-mlp", None, None, None, None)
    xs, ys = test_images()
    vnnlib_ball(tmp_path / "img3.vnnlib", net, xs[3].ravel().astype(np.float64), int(ys[3]))
    p = subprocess.run([sys.executable, "-m", "bvverify", "verify", "digits-mlp", tmp_path / "img3.vnnlib", "--json",
                        "--timeout", "30", "--save-counterexamples", tmp_path / "out"], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 1, p.stderr
    doc = json.loads(p.stdout)
    names = sorted(f.rsplit("/", 1)[1] for f in doc["counterexample_files"])
    assert names == ["img3.png", "img3.txt", "img3_codes.npy", "img3_input.npy"]
    codes = np.load(tmp_path / "out" / "img3_codes.npy")
    assert codes.tolist() == doc["counterexample"]["input_codes"]
    assert argmax_lowest(net.evaluate_codes(codes[None])[0]) != int(ys[3])


def test_verify_refuses_a_file_as_folder(tmp_path):
    (tmp_path / "f").write_text("")
    p = subprocess.run([sys.executable, "-m", "bvverify", "verify", "digits-mlp", tmp_path / "none.vnnlib",
                        "--save-counterexamples", tmp_path / "f"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and "exists and is not a folder" in p.stderr


def test_missing_matplotlib_is_said_before_solving(tmp_path, monkeypatch):
    from bvverify.reports.counterexamples import check_ready
    from bvverify.reports.mpl import MissingFigureLibrary
    from tests.strategies import tiny_net

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    net = load_model("digits-mlp", None, None, None, None)
    with pytest.raises(MissingFigureLibrary, match=r"pip install 'bvverify\[report\]'"):
        check_ready(tmp_path / "cex", net)
    check_ready(tmp_path / "cex2", tiny_net())  # not an image: no picture, no matplotlib needed


def test_robust_command_saves_each_violated_query(tmp_path):
    """Images 2-3 at eps 1: 3 is violated (files named after model, sample and eps), 2 holds (no files)."""
    p = subprocess.run([sys.executable, "-m", "bvverify", "robust", "digits-mlp", "--index", "2-3", "--eps", "1",
                        "--timeout", "30", "--json", "--log", tmp_path / "log.jsonl",
                        "--save-counterexamples", tmp_path / "out"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 1, p.stderr
    rows = {r["index"]: r for r in json.loads(p.stdout)["results"]}
    assert rows[2]["status"] == "holds" and rows[2]["counterexample_files"] == []
    assert rows[3]["status"] == "violated"
    assert sorted(f.rsplit("/", 1)[1] for f in rows[3]["counterexample_files"]) == [
        "digits-mlp_3_eps1.png", "digits-mlp_3_eps1.txt", "digits-mlp_3_eps1_codes.npy", "digits-mlp_3_eps1_input.npy"]
    codes = np.load(tmp_path / "out" / "digits-mlp_3_eps1_codes.npy")
    assert codes.tolist() == rows[3]["counterexample"]["input_codes"]
    net = load_model("digits-mlp", None, None, None, None)
    assert argmax_lowest(net.evaluate_codes(codes[None])[0]) != rows[3]["label"]


def test_robust_refuses_a_file_as_folder_before_solving(tmp_path):
    (tmp_path / "f").write_text("")
    p = subprocess.run([sys.executable, "-m", "bvverify", "robust", "digits-mlp", "--index", "3", "--log",
                        tmp_path / "log.jsonl", "--save-counterexamples", tmp_path / "f"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and "exists and is not a folder" in p.stderr and not (tmp_path / "log.jsonl").exists()
