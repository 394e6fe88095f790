"""``bvverify verify MODEL QUERY`` on VNN-LIB 2.0 queries (told from VNN-LIB 1 by content): decided
both ways with the counterexample replayed and checked against the query, verdicts against brute
force on a small int8 network, several networks and bad files refused in one line."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

pytest.importorskip("vnnlib")

import bvverify  # noqa: E402
from bvverify.bundled import resolve_model, test_images  # noqa: E402
from bvverify.cli.app import app  # noqa: E402
from tests.cli.test_vnnlib_cmd import HEAD, Result, digits_query, entry, int8_net  # noqa: E402
from tests.onnx_host import needs_ort_host  # noqa: E402


def call(*args) -> Result:
    """``bvverify ARGS`` as its entry point runs it, in this process."""
    return entry("bvverify", app, *args)


@pytest.fixture(scope="module")
def mlp():
    return bvverify.load(resolve_model("digits-mlp"))


def label_kept(mlp, codes: np.ndarray, label: int) -> np.ndarray:
    """Per row of input codes: the query's violation does not happen (argmax, ties to the lowest index)."""
    y = mlp.evaluate_codes(codes)
    return np.array([not any(r[j] >= r[label] if j < label else r[j] > r[label] for j in range(10) if j != label)
                     for r in y])


def test_uint8_query_on_digits_both_ways(tmp_path, mlp):
    xs, _ = test_images()
    # image 0 within one code: holds (and no sampled input of the box refutes it)
    q0, label0 = digits_query(mlp, 0, 1)
    (tmp_path / "q0.vnnlib").write_text(q0)
    r = call("verify", "digits-mlp", tmp_path / "q0.vnnlib", "--json", "--result-file", tmp_path / "r0.txt")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["status"] == "holds" and doc["counterexample"] is None and doc["outputs_are"] == "codes"
    assert (tmp_path / "r0.txt").read_text() == "unsat\n"
    c0 = mlp.quantize_input(xs[0].reshape(1, 64))[0]
    rng = np.random.default_rng(0)
    samples = np.clip(c0 + rng.integers(-1, 2, size=(3000, 64)), 0, 255)
    assert label_kept(mlp, samples, label0).all()

    # image 3 within one code: violated, the counterexample replayed and inside the query's box
    q3, label3 = digits_query(mlp, 3, 1)
    (tmp_path / "q3.vnnlib").write_text(q3)
    r = call("verify", "digits-mlp", tmp_path / "q3.vnnlib", "--json", "--result-file", tmp_path / "r3.txt")
    assert r.exit_code == 1, r.output
    doc = json.loads(r.stdout)
    cex = doc["counterexample"]
    assert doc["status"] == "violated" and "interpreter" in cex["replayed_by"]
    assert set(doc) == {"model", "property", "outputs_are", "status", "engine", "seconds", "reason", "stats",
                        "counterexample"}  # the shape VNN-LIB 1 properties give
    codes = np.array(cex["input_codes"])
    c3 = mlp.quantize_input(xs[3].reshape(1, 64))[0]
    assert np.all(np.abs(codes - c3) <= 1) and codes.min() >= 0 and codes.max() <= 255
    assert np.array_equal(mlp.evaluate_codes(codes[None])[0], cex["output_codes"])
    assert not label_kept(mlp, codes[None], label3)[0]
    # the result file is the 2.0 answer: sat, then every declared tensor with its values
    lines = (tmp_path / "r3.txt").read_text().splitlines()
    assert lines[0] == "sat" and lines[1] == "X uint8 [1,64]" and lines[66] == "Y uint8 [1,10]"
    assert [int(v) for v in lines[2:66]] == codes.tolist() and [int(v) for v in lines[67:]] == cex["output_codes"]

    # text mode prints the replay and the assignment
    r = call("verify", "digits-mlp", tmp_path / "q3.vnnlib")
    assert r.exit_code == 1 and "violated" in r.stdout and "counterexample replayed by interpreter" in r.stdout, r.output
    assert "X uint8 [1,64]: " in r.stdout and "Y uint8 [1,10]: " in r.stdout


CONDITIONS = ["(assert (>= Y[0] -105))", "(assert (<= Y[0] -100))\n(assert (> (- Y[1] Y[0]) 150))",
              "(assert (or (>= Y[1] 40) (<= Y[0] -110)))", "(assert (and (>= Y[0] -106) (<= Y[1] 26)))",
              "(assert (== Y[1] 34))", "(assert (and (< Y[0] -113) (> Y[1] 32)))"]


def brute_force(net, lo: list[int], hi: list[int], cond) -> bool:
    """Whether some input of the box satisfies ``cond`` (every point tried)."""
    xs = np.array(list(itertools.product(*(range(a, b + 1) for a, b in zip(lo, hi)))))
    ys = net.evaluate_codes(xs)
    return bool(any(cond(y) for y in ys))


PY_CONDITIONS = [lambda y: y[0] >= -105, lambda y: y[0] <= -100 and y[1] - y[0] > 150,
                 lambda y: y[1] >= 40 or y[0] <= -110, lambda y: y[0] >= -106 and y[1] <= 26, lambda y: y[1] == 34,
                 lambda y: y[0] < -113 and y[1] > 32]


@pytest.mark.parametrize("k", range(len(CONDITIONS)))
def test_int8_query_matches_brute_force(tmp_path, k):
    """The routed 2.0 query decides what enumerating every input of its box decides."""
    path = tmp_path / "int8.bvq"
    net = int8_net()
    net.save(path)
    lo, hi = [-100, -128, 50, -8], [-90, -118, 58, 0]
    decl = "(declare-network n\n  (declare-input X int8 [4])\n  (declare-output Y int8 [2])\n)\n"
    box = "".join(f"(assert (>= X[{i}] {a}))\n(assert (<= X[{i}] {b}))\n" for i, (a, b) in enumerate(zip(lo, hi)))
    (tmp_path / "q.txt").write_text(HEAD + decl + box + CONDITIONS[k] + "\n")  # no .vnnlib name: told by content
    r = call("verify", path, tmp_path / "q.txt", "--json", "--timeout", 60)
    doc = json.loads(r.stdout)
    expect = brute_force(net, lo, hi, PY_CONDITIONS[k])
    assert doc["status"] == ("violated" if expect else "holds") and r.exit_code == (1 if expect else 0), r.output
    if expect:
        x = np.array(doc["counterexample"]["input_codes"])
        assert np.all(x >= lo) and np.all(x <= hi) and PY_CONDITIONS[k](net.evaluate_codes(x[None])[0])


def test_empty_input_region_holds(tmp_path):
    path = tmp_path / "int8.bvq"
    int8_net().save(path)
    decl = "(declare-network n (declare-input X int8 [4]) (declare-output Y int8 [2]))\n"
    (tmp_path / "q.vnnlib").write_text(HEAD + decl + "(assert (>= X[2] 5))\n(assert (< X[2] 5))\n(assert (>= Y[0] 0))\n")
    r = call("verify", path, tmp_path / "q.vnnlib", "--json")
    doc = json.loads(r.stdout)
    assert r.exit_code == 0 and doc["status"] == "holds" and "input constraints are unsatisfiable" in doc["reason"]


def test_vnnlib1_comment_mentioning_networks_is_still_vnnlib1(tmp_path):
    """Only declarations make a 2.0 file: a VNN-LIB 1 file is read by the VNN-LIB 1 reader, as before."""
    path = tmp_path / "int8.bvq"
    int8_net().save(path)
    lines = ["; not (declare-network n ...): a comment", *(f"(declare-const X_{i} Int)" for i in range(4)),
             "(declare-const Y_0 Int)", "(declare-const Y_1 Int)",
             *(f"(assert (>= X_{i} {a}))\n(assert (<= X_{i} {b}))" for i, (a, b) in enumerate([(-100, -90), (-128, -118),
                                                                                               (50, 58), (-8, 0)])),
             "(assert (<= Y_0 -110))"]
    (tmp_path / "p.vnnlib").write_text("\n".join(lines) + "\n")
    r = call("verify", path, tmp_path / "p.vnnlib", "--result-file", tmp_path / "r.txt")
    assert r.exit_code == 1, r.output
    assert (tmp_path / "r.txt").read_text().startswith("sat\n((X_0 ")  # the VNN-COMP witness of VNN-LIB 1


@pytest.mark.parametrize("edit, words", [
    (lambda q: q.replace("(declare-output Y uint8 [1,10])", "(declare-output Y uint8 [1,10]"), ":6:0: syntax error"),
    (lambda q: q.replace("X[0,5]", "Z[0,5]"), ":16: Undeclared variable at 'Z'"),
    (lambda q: q.replace("[1,64]", "[1,63]"), ":132: Index out of bounds for variable at 'X[0,63]'"),
    (lambda q: q.replace("Y uint8 [1,10]", "Y uint8 [1,9]").replace("Y[0,9]", "Y[0,8]"),
     ":4: output Y of network digits is declared with shape [1,9], but the model's output has shape [10]"),
    (lambda q: q.replace("X uint8", "X int8").replace(" 0))", " -1))"),
     ":3: input X of network digits is declared int8 (-128..127), but the model's input codes span 0..255"),
])
def test_bad_query_is_one_line_with_file_and_line(tmp_path, mlp, edit, words):
    q, _ = digits_query(mlp, 0, 1)
    (tmp_path / "bad.vnnlib").write_text(edit(q))
    r = call("verify", "digits-mlp", tmp_path / "bad.vnnlib")
    assert r.exit_code == 2 and r.stdout == "", r.output
    assert r.stderr.startswith(f"bvverify: error: {tmp_path / 'bad.vnnlib'}:") and words in r.stderr, r.output
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_several_networks_point_at_bvverify_vnnlib(tmp_path):
    q = (HEAD + "(declare-network a (declare-input X uint8 [1,64]) (declare-output Y uint8 [1,10]))\n"
         "(declare-network b (equal-to a) (declare-input X2 uint8 [1,64]) (declare-output Y2 uint8 [1,10]))\n"
         "(assert (<= Y[0,0] Y2[0,0]))\n")
    (tmp_path / "two.vnnlib").write_text(q)
    r = call("verify", "digits-mlp", tmp_path / "two.vnnlib")
    assert r.exit_code == 2 and "Traceback" not in r.stderr, r.output
    assert "declares 2 networks (a, b)" in r.stderr
    assert f"bvverify-vnnlib verify {tmp_path / 'two.vnnlib'} --network a=digits-mlp" in r.stderr


@pytest.fixture(scope="module")
def small_onnx(tmp_path_factory):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from tests.importers.test_onnx_models import float_mlp, quantize

    d = tmp_path_factory.mktemp("onnx")
    calib = np.random.default_rng(0).normal(size=(16, 6)).astype(np.float32)
    return quantize(float_mlp(d / "float.onnx", [6, 5, 3], 0), d / "q.onnx", calib)


@needs_ort_host
def test_float32_query_on_onnx_matches_enumeration_and_bvverify_vnnlib(tmp_path, small_onnx):
    """An ONNX model through bvverify-vnnlib's loader: float32 input box, float32 (dequantized) output.
    The tightest threshold reached over every input code of the box is sat, one half-step above is unsat."""
    from tests.cli.test_vnnlib_cmd import call as vnnlib_call

    net = bvverify.load(small_onnx)
    c = np.array([0.1, -0.2, 0.3, 0.0, -0.1, 0.2], np.float32)
    lo, hi = c - np.float32(0.02), c + np.float32(0.02)
    clo, chi = net.quantize_input(lo[None])[0], net.quantize_input(hi[None])[0]  # monotone: every code between is hit
    codes = np.array(list(itertools.product(*(range(a, b + 1) for a, b in zip(clo, chi)))))
    y0 = net.dequantize(net.evaluate_codes(codes))[:, 0]
    top = float(np.float32(y0.max()))
    step = float(np.float32(net.output.scale))
    head = [HEAD.strip(), "(declare-network n (declare-input X float32 [1,6]) (declare-output Y float32 [1,3]))"]
    head += [f"(assert (>= X[0,{i}] {float(a)!r}))\n(assert (<= X[0,{i}] {float(b)!r}))" for i, (a, b) in enumerate(zip(lo, hi))]
    for threshold, expect in ((top, "violated"), (top + step / 2, "holds")):
        q = tmp_path / f"q{expect}.vnnlib"
        q.write_text("\n".join(head + [f"(assert (>= Y[0,0] {threshold!r}))"]) + "\n")
        r = call("verify", small_onnx, q, "--json", "--timeout", 60)
        doc = json.loads(r.stdout)
        assert doc["status"] == expect and doc["outputs_are"] == "dequantized", r.output
        other = vnnlib_call("verify", q, "--network", f"n={small_onnx}", "--timeout", 60)
        assert other.stdout.splitlines()[0] == {"violated": "sat", "holds": "unsat"}[expect], other.output
        if expect == "violated":
            cex = doc["counterexample"]
            assert "runtime" in cex["replayed_by"] and cex["output"][0] >= top
            x = np.array(cex["input"], np.float32)
            assert np.all(x >= lo) and np.all(x <= hi)
    # declared element types are checked against the ONNX file, by line
    q = tmp_path / "bad.vnnlib"
    q.write_text("\n".join(head).replace("Y float32", "Y uint8") + "\n(assert (>= Y[0,0] 250))\n")
    r = call("verify", small_onnx, q)
    assert r.exit_code == 2 and f"{q}:2: output Y of network n is declared uint8, but {small_onnx} gives float32" in r.stderr
