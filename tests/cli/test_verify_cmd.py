"""verify / robust / export-smt end to end: verdicts, exit codes, result files, replay, bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.strategies import tiny_net


def run(*args, ok=(0,)):
    p = subprocess.run([sys.executable, "-m", "bvverify", *map(str, args)], capture_output=True, text=True, timeout=600)
    assert p.returncode in ok, (p.returncode, p.stdout, p.stderr)
    return p


def vnnlib(box, clauses):
    lines = [f"(declare-const X_{i} Real)" for i in range(len(box))]
    lines += ["(declare-const Y_0 Real)", "(declare-const Y_1 Real)", "(declare-const Y_2 Real)"]
    for i, (lo, hi) in enumerate(box):
        lines += [f"(assert (>= X_{i} {lo}))", f"(assert (<= X_{i} {hi}))"]
    lines.append("(assert (or " + " ".join(f"(and {c})" for c in clauses) + "))")
    return "\n".join(lines) + "\n"


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "tiny.bvq"
    tiny_net().save(path)
    return path


def test_verify_holds_and_violated(tmp_path, model):
    # X in [0, 0.5] -> input codes 10..15 -> Y_0, Y_1 in 0..5 and Y_2 = Y_0 + Y_1 (output codes)
    prop = tmp_path / "p.vnnlib"
    prop.write_text(vnnlib([(0.0, 0.5), (0.0, 0.5)], ["(>= Y_0 6.0)"]))
    p = run("verify", model, prop, "--json", "--result-file", tmp_path / "r.txt")
    doc = json.loads(p.stdout)
    assert doc["status"] == "holds" and doc["outputs_are"] == "codes"
    assert (tmp_path / "r.txt").read_text().splitlines()[0] == "unsat"
    prop.write_text(vnnlib([(0.0, 0.5), (0.0, 0.5)], ["(>= Y_2 8) (<= Y_0 3)"]))
    p = run("verify", model, prop, "--json", "--result-file", tmp_path / "r.txt", ok=(1,))
    doc = json.loads(p.stdout)
    cex = doc["counterexample"]
    assert doc["status"] == "violated" and cex["replayed_by"] == ["interpreter"]
    assert cex["output_codes"][2] >= 8 and cex["output_codes"][0] <= 3
    assert all(0.0 <= v <= 0.5 for v in cex["input"])
    lines = (tmp_path / "r.txt").read_text().splitlines()
    assert lines[0] == "sat" and lines[1].startswith("((X_0 ") and "(Y_2 " in lines[-1]


def test_verify_bounds_engine(tmp_path, model):
    prop = tmp_path / "p.vnnlib"
    prop.write_text(vnnlib([(0.0, 0.5), (0.0, 0.5)], ["(>= Y_0 6.0)"]))
    doc = json.loads(run("verify", model, prop, "--engine", "bounds", "--json").stdout)
    assert doc["status"] == "holds" and doc["engine"] == "bounds"
    prop.write_text(vnnlib([(0.0, 0.5), (0.0, 0.5)], ["(>= Y_2 8) (<= Y_0 3)"]))
    doc = json.loads(run("verify", model, prop, "--engine", "bounds", "--json", ok=(1, 3)).stdout)
    assert doc["status"] in ("unknown", "violated")
    if doc["status"] == "violated":
        assert doc["counterexample"]["replayed_by"] == ["interpreter"]


def test_verify_bad_property(tmp_path, model):
    prop = tmp_path / "bad.vnnlib"
    prop.write_text("(declare-const X_0 Real)\n(assert (<= X_7 1))\n")
    p = run("verify", model, prop, ok=(2,))
    assert "bad.vnnlib:2:" in p.stderr and "Traceback" not in p.stderr
    p = run("verify", model, tmp_path / "nope.vnnlib", ok=(2,))
    assert "nope.vnnlib" in p.stderr and "Traceback" not in p.stderr


def test_robust_on_csv(tmp_path, model):
    data = tmp_path / "d.csv"
    data.write_text("2,1.0,1.0\n0,0.0,0.0\n")  # codes (20, 20): outputs (10, 10, 20) -> class 2
    p = run("robust", model, "--data", data, "--index", "0-1", "--eps", "0,1", "--json", ok=(1,))
    doc = json.loads(p.stdout)
    by = {(r["index"], r["eps"]): r for r in doc["results"]}
    assert by[(0, 0.0)]["status"] == "holds" and by[(0, 1.0)]["status"] == "holds"
    # sample 1: all outputs tie at 10 -> argmax 0 == label 0; eps 1 lets output 2 win
    assert by[(1, 0.0)]["status"] == "holds" and by[(1, 1.0)]["status"] == "violated"
    assert doc["counts"] == {"holds": 3, "violated": 1, "unknown": 0}


@pytest.mark.parametrize("args, words", [
    (["--eps", "-1"], "eps must be"),
    (["--index", "5"], "--index 5 out of range"),
    (["--eps", "1", "--eps-unit", "pixels"], "--eps-unit"),
    (["--label", "9"], "label 9 out of range"),
])
def test_robust_bad_input(tmp_path, model, args, words):
    data = tmp_path / "d.csv"
    data.write_text("2,1.0,1.0\n")
    p = run("robust", model, "--data", data, *args, ok=(2,))
    assert words in p.stderr and "Traceback" not in p.stderr


def test_robust_bad_csv(tmp_path, model):
    data = tmp_path / "d.csv"
    data.write_text("2,1.0,1.0\n1,2.0\n")
    p = run("robust", model, "--data", data, ok=(2,))
    assert "d.csv:2: row has 2 fields" in p.stderr


cvc5 = pytest.importorskip("cvc5")


def _cvc5_check(path):
    from cvc5 import InputLanguage, InputParser, Solver, SymbolManager

    s = Solver()
    sm = SymbolManager(s.getTermManager())
    ip = InputParser(s, sm)
    ip.setFileInput(InputLanguage.SMT_LIB_2_6, str(path))
    result = None
    while True:
        cmd = ip.nextCommand()
        if cmd.isNull():
            break
        r = cmd.invoke(s, sm).strip()
        if r:
            result = r
    return result


def test_export_smt_second_solver(tmp_path, model):
    prop = tmp_path / "p.vnnlib"
    for clause, want in (("(>= Y_0 6.0)", "unsat"), ("(>= Y_2 8) (<= Y_0 3)", "sat")):
        prop.write_text(vnnlib([(0.0, 0.5), (0.0, 0.5)], [clause]))
        run("export-smt", model, prop, "-o", tmp_path / "q.smt2")
        assert (tmp_path / "q.smt2").read_text().startswith("(set-logic QF_BV)")
        assert _cvc5_check(tmp_path / "q.smt2") == want


torch = pytest.importorskip("torch")


def test_robust_torchscript_replays_in_torch(tmp_path):
    """A violated verdict on a TorchScript model is replayed through torch itself."""
    import torch.ao.quantization as tq
    from torch import nn

    torch.manual_seed(0)
    torch.backends.quantized.engine = "fbgemm"
    m = nn.Sequential(tq.QuantStub(), nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3), tq.DeQuantStub()).eval()
    m.qconfig = tq.get_default_qconfig("fbgemm")
    tq.prepare(m, inplace=True)
    m(torch.rand(64, 4))
    tq.convert(m, inplace=True)
    path = tmp_path / "m.pt"
    torch.jit.save(torch.jit.trace(m, torch.rand(1, 4)), str(path))
    x = np.random.default_rng(1).uniform(0, 1, (3, 4)).astype(np.float32)
    with torch.no_grad():
        y = m(torch.from_numpy(x)).numpy().argmax(1)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    p = run("robust", path, "--data", tmp_path / "d.npz", "--eps", "0.6", "--eps-unit", "float", "--clip", "0,1",
            "--qengine", "fbgemm", "--json", ok=(1,))
    doc = json.loads(p.stdout)
    violated = [r for r in doc["results"] if r["status"] == "violated"]
    assert violated and all(r["counterexample"]["replayed_by"] == ["interpreter", "runtime"] for r in violated)
    for r in violated:
        xi = np.array(r["counterexample"]["input"], dtype=np.float32)[None]
        assert np.all(xi >= 0) and np.all(xi <= 1)
        with torch.no_grad():
            assert m(torch.from_numpy(xi)).numpy().argmax(1)[0] != r["label"] or r["eps"] == 0


def test_bundled_spec_file():
    from pathlib import Path

    spec = Path(__file__).resolve().parents[2] / "specs" / "digits_mlp_img0_eps0.01.vnnlib"
    doc = json.loads(run("verify", "digits-mlp", spec, "--json").stdout)
    assert doc["status"] == "holds" and doc["outputs_are"] == "dequantized"


@pytest.mark.parametrize("solver", ["cpsat", "highs", "z3"])
def test_verify_ilp_engine(tmp_path, model, solver):
    """The ILP engine through the CLI: same verdicts as bv, replayed counterexamples, clean --json."""
    prop = tmp_path / "p.vnnlib"
    prop.write_text(vnnlib([(0.0, 0.5), (0.0, 0.5)], ["(>= Y_0 6.0)"]))
    doc = json.loads(run("verify", model, prop, "--engine", "ilp", "--solver", solver, "--json").stdout)
    assert doc["status"] == "holds" and doc["engine"] == f"ilp/{solver}"
    prop.write_text(vnnlib([(0.0, 0.5), (0.0, 0.5)], ["(>= Y_2 8) (<= Y_0 3)", "(>= Y_0 9)"]))
    doc = json.loads(run("verify", model, prop, "--engine", "ilp", "--solver", solver, "--bounds", "interval",
                         "--json", ok=(1,)).stdout)
    cex = doc["counterexample"]
    assert doc["status"] == "violated" and cex["replayed_by"] == ["interpreter"]
    assert cex["output_codes"][2] >= 8 and cex["output_codes"][0] <= 3


def test_verify_ilp_bad_solver(tmp_path, model):
    prop = tmp_path / "p.vnnlib"
    prop.write_text(vnnlib([(0.0, 0.5), (0.0, 0.5)], ["(>= Y_0 6.0)"]))
    p = run("verify", model, prop, "--engine", "ilp", "--solver", "gurobi", ok=(2,))
    assert "--solver 'gurobi'" in p.stderr and "cpsat" in p.stderr
    p = run("verify", model, prop, "--engine", "ilp", "--bounds", "magic", ok=(2,))
    assert "--bounds 'magic'" in p.stderr


def test_bundled_spec_file_ilp():
    from pathlib import Path

    spec = Path(__file__).resolve().parents[2] / "specs" / "digits_mlp_img0_eps0.01.vnnlib"
    doc = json.loads(run("verify", "digits-mlp", spec, "--engine", "ilp", "--json").stdout)
    assert doc["status"] == "holds" and doc["outputs_are"] == "dequantized"
