"""bvverify-vnnlib: the VNN-LIB 2.0 solver command line (verify, supports, --name / --version),
its output format, and 2.0 integer queries decided end to end with replayed assignments."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import re
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("vnnlib")

import bvverify  # noqa: E402
from bvverify.bundled import resolve_model, test_images  # noqa: E402
from bvverify.cli import main  # noqa: E402
from bvverify.cli.vnnlib_cmd import vnnlib_app  # noqa: E402
from bvverify.ir import ops  # noqa: E402
from bvverify.ir.graph import QNetwork  # noqa: E402
from bvverify.testing.strategies.ir import tiny_net  # noqa: E402

HEAD = "(vnnlib-version <2.0>)\n"


@dataclasses.dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return f"exit {self.exit_code}\nstdout:\n{self.stdout}stderr:\n{self.stderr}"


def entry(prog: str, command, *args) -> Result:
    """``prog ARGS`` as its entry point runs ``command`` (errors as one stderr line, exit 2), in this process."""
    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = [prog, *map(str, args)]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main(command)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        sys.argv = argv
    return Result(code, out.getvalue(), err.getvalue())


def call(*args) -> Result:
    """``bvverify-vnnlib ARGS``."""
    return entry("bvverify-vnnlib", vnnlib_app, *args)


def parse_answer(stdout: str) -> tuple[str, dict[str, tuple[str, list[str], list[str]]]]:
    """(first line, {tensor: (type, dims, values)}) of a verify answer in the 2.0 format."""
    lines = stdout.strip().splitlines()
    tensors: dict = {}
    current = None
    for line in lines[1:]:
        m = re.fullmatch(r"([A-Za-z][A-Za-z0-9_]*) (\S+) \[([0-9,]*)\]", line)
        if m:
            current = m.group(1)
            tensors[current] = (m.group(2), m.group(3).split(",") if m.group(3) else [], [])
        else:
            tensors[current][2].append(line)
    return lines[0], tensors


@pytest.fixture(scope="module")
def mlp():
    return bvverify.load(resolve_model("digits-mlp"))


def digits_query(mlp, index: int, eps: int, x="uint8", y="uint8") -> tuple[str, int]:
    """Can the argmax of image ``index`` change within ``eps`` input codes (ties to the lowest index)?"""
    xs, ys = test_images()
    c = mlp.quantize_input(xs[index].reshape(1, 64))[0]
    label = int(ys[index])
    lines = [HEAD.strip(), "(declare-network digits", f"    (declare-input X {x} [1,64])",
             f"    (declare-output Y {y} [1,10])", ")"]
    for k, v in enumerate(c):
        lines += [f"(assert (>= X[0,{k}] {max(0, v - eps)}))", f"(assert (<= X[0,{k}] {min(255, v + eps)}))"]
    beats = [f"(>= Y[0,{j}] Y[0,{label}])" if j < label else f"(> Y[0,{j}] Y[0,{label}])" for j in range(10) if j != label]
    lines.append(f"(assert (or {' '.join(beats)}))")
    return "\n".join(lines) + "\n", label


def test_uint8_query_on_digits_holds_and_is_violated_with_a_replayed_assignment(tmp_path, mlp):
    """A 2.0 integer query decided end to end: image 0 holds at one code, image 3 does not."""
    q0, _ = digits_query(mlp, 0, 1)
    (tmp_path / "q0.vnnlib").write_text(q0)
    r = call("verify", tmp_path / "q0.vnnlib", "--network", "digits=digits-mlp", "--timeout", 60)
    assert r.exit_code == 0 and r.stdout == "unsat\n", r.output

    q3, label = digits_query(mlp, 3, 1)
    (tmp_path / "q3.vnnlib").write_text(q3)
    r = call("verify", tmp_path / "q3.vnnlib", "--network", "digits=digits-mlp", "--timeout", 60)
    word, tensors = parse_answer(r.stdout)
    assert r.exit_code == 0 and word == "sat", r.output
    assert list(tensors) == ["X", "Y"]
    assert tensors["X"][:2] == ("uint8", ["1", "64"]) and tensors["Y"][:2] == ("uint8", ["1", "10"])
    codes = np.array([int(v) for v in tensors["X"][2]])
    out = np.array([int(v) for v in tensors["Y"][2]])
    c = mlp.quantize_input(test_images()[0][3].reshape(1, 64))[0]
    assert np.all(np.abs(codes - c) <= 1)  # inside the query's box
    assert np.array_equal(mlp.evaluate_codes(codes[None])[0], out)  # replayed: the network gives those outputs
    assert any(out[j] >= out[label] if j < label else out[j] > out[label] for j in range(10) if j != label)


def int8_net() -> QNetwork:
    """4 int8 input codes -> 2 int8 outputs: y0 = x0 + x1, y1 = x2 - x3 (halved, saturating)."""
    w = np.array([[1, 1, 0, 0], [0, 0, 1, -1]])
    nodes = (ops.Dense("acc", ("input",), w, np.zeros(2, np.int64), 0),
             ops.Requantize("y", ("acc",), "pow2", {"shift": np.int64(1)}, -128, 127))
    return QNetwork(ops.InputSpec((4,), -128, 127), nodes, ops.OutputSpec("y"))


def test_int8_query_both_ways(tmp_path):
    path = tmp_path / "int8.bvq"
    net = int8_net()
    net.save(path)
    decl = "(declare-network n\n  (declare-input X int8 [4])\n  (declare-output Y int8 [2])\n)\n"
    box = "(assert (>= X[0] -100))\n(assert (<= X[0] -90))\n(assert (<= X[1] -60))\n(assert (>= X[2] 50))\n"
    (tmp_path / "holds.vnnlib").write_text(HEAD + decl + box + "(assert (>= Y[0] 0))\n")
    r = call("verify", tmp_path / "holds.vnnlib", "--network", f"n={path}", "--timeout", 30)
    assert r.stdout == "unsat\n", r.output
    (tmp_path / "sat.vnnlib").write_text(HEAD + decl + box + "(assert (<= Y[0] -100))\n(assert (> (- Y[1] Y[0]) 150))\n")
    r = call("verify", tmp_path / "sat.vnnlib", "--network", f"n={path}", "--timeout", 30)
    word, t = parse_answer(r.stdout)
    assert word == "sat" and t["X"][0] == "int8" and t["Y"][0] == "int8", r.output
    x = np.array([int(v) for v in t["X"][2]])
    y = net.evaluate_codes(x[None])[0]
    assert list(y) == [int(v) for v in t["Y"][2]] and y[0] <= -100 and y[1] - y[0] > 150
    assert -100 <= x[0] <= -90 and x[1] <= -60 and x[2] >= 50 and x.min() >= -128 and x.max() <= 127


def twin(net: QNetwork) -> QNetwork:
    """digits-mlp with one row of its last layer moved: a re-quantized model that differs a little."""
    nodes = list(net.nodes)
    i = max(k for k, n in enumerate(nodes) if isinstance(n, ops.Dense))
    w = np.array(nodes[i].weight, dtype=np.int64)
    w[4] = np.clip(w[4] + 6, -128, 127)
    nodes[i] = dataclasses.replace(nodes[i], weight=w)
    return QNetwork(net.input, tuple(nodes), net.output, net.meta)


def pair_query(mlp, k: int, copy: str) -> str:
    c = mlp.quantize_input(test_images()[0][0].reshape(1, 64))[0]
    decl = ("(declare-network a (declare-input XA uint8 [1,64]) (declare-output YA uint8 [1,10]))\n"
            f"(declare-network b {copy} (declare-input XB uint8 [1,64]) (declare-output YB uint8 [1,10]))\n")
    body = "".join(f"(assert (== XA[0,{i}] XB[0,{i}]))\n(assert (>= XA[0,{i}] {max(0, v - 1)}))\n"
                   f"(assert (<= XA[0,{i}] {min(255, v + 1)}))\n" for i, v in enumerate(c))
    far = " ".join(f"(> (- YA[0,{j}] YB[0,{j}]) {k}) (> (- YB[0,{j}] YA[0,{j}]) {k})" for j in range(10))
    return HEAD + decl + body + f"(assert (or {far}))\n"


def test_two_networks_within_k_codes_go_to_the_two_network_engine(tmp_path, mlp):
    other = tmp_path / "twin.bvq"
    twin(mlp).save(other)
    (tmp_path / "pair.vnnlib").write_text(pair_query(mlp, 2, "(isomorphic-to a)"))
    r = call("verify", tmp_path / "pair.vnnlib", "--network", "a=digits-mlp", "--network", f"b={other}", "--timeout", 60)
    word, t = parse_answer(r.stdout)
    assert word == "sat", r.output
    assert list(t) == ["XA", "YA", "XB", "YB"] and t["XA"][2] == t["XB"][2]
    assert "can leave the uint8 range (-255..255); it is read as exact integer arithmetic" in r.stderr
    x = np.array([int(v) for v in t["XA"][2]])[None]
    ya, yb = mlp.evaluate_codes(x)[0], twin(mlp).evaluate_codes(x)[0]
    assert list(ya) == [int(v) for v in t["YA"][2]] and list(yb) == [int(v) for v in t["YB"][2]]
    assert np.max(np.abs(ya - yb)) > 2
    # the same model twice (equal-to: one --network) cannot differ at all
    (tmp_path / "same.vnnlib").write_text(pair_query(mlp, 0, "(equal-to a)"))
    r = call("verify", tmp_path / "same.vnnlib", "--network", "a=digits-mlp", "--timeout", 60)
    assert r.stdout == "unsat\n", r.output


def test_networks_on_the_command_line_must_match_the_query(tmp_path, mlp):
    q, _ = digits_query(mlp, 0, 1)
    (tmp_path / "q.vnnlib").write_text(q)
    r = call("verify", tmp_path / "q.vnnlib", "--timeout", 5)
    assert r.exit_code == 2 and r.stdout == ""
    assert "q.vnnlib:2: network digits has no model: give --network digits=FILE" in r.stderr
    r = call("verify", tmp_path / "q.vnnlib", "--network", "digits=digits-mlp", "--network", "other=digits-mlp")
    assert r.exit_code == 2 and "--network other: other is not declared in the query (declared: digits)" in r.stderr
    r = call("verify", tmp_path / "q.vnnlib", "--network", "digits")
    assert r.exit_code == 2 and "expected NAME=FILE" in r.stderr
    (tmp_path / "i8.vnnlib").write_text(q.replace("X uint8", "X int8"))
    r = call("verify", tmp_path / "i8.vnnlib", "--network", "digits=digits-mlp")
    assert r.exit_code == 2 and r.stdout == "" and re.search(r"i8.vnnlib:3: input X of network digits is declared int8", r.stderr)
    (tmp_path / "copy.vnnlib").write_text(pair_query(mlp, 0, "(equal-to a)"))
    r = call("verify", tmp_path / "copy.vnnlib", "--network", "a=digits-mlp", "--network", "b=digits-mlp")
    assert r.exit_code == 2 and "--network b: b is an equal-to copy (it takes its original's model)" in r.stderr


def test_outside_the_sound_domain_answers_unknown_with_the_reason(tmp_path, mlp):
    q, _ = digits_query(mlp, 0, 1)
    hidden = "    (declare-hidden H uint8 [1,32] \"fc1\")\n    (declare-output"
    (tmp_path / "h.vnnlib").write_text(q.replace("    (declare-output", hidden))
    r = call("verify", tmp_path / "h.vnnlib", "--network", "digits=digits-mlp")
    assert r.exit_code == 2 and r.stdout == "unknown\n" and "bvverify: unknown:" in r.stderr and "hidden node H" in r.stderr
    f32, _ = digits_query(mlp, 0, 1, y="float32")
    (tmp_path / "lin.vnnlib").write_text(f32 + "(assert (>= (+ Y[0,0] Y[0,1]) 0.5))\n")
    r = call("verify", tmp_path / "lin.vnnlib", "--network", "digits=digits-mlp")
    assert r.exit_code == 2 and r.stdout == "unknown\n" and re.search(r"lin.vnnlib:\d+: float32 arithmetic", r.stderr)


def float_onnx(path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), str(path))


def test_a_float_onnx_network_is_unknown_never_sat_or_unsat(tmp_path):
    float_onnx(tmp_path / "relu.onnx")
    def query(x: str, zero: str, one: str) -> str:
        return HEAD + f"(declare-network N (declare-input X {x} [1,2]) (declare-output Y float32 [1,2]))\n" \
            f"(assert (>= X[0,0] {zero}))\n(assert (<= X[0,0] {one}))\n(assert (>= X[0,1] {zero}))\n" \
            f"(assert (<= X[0,1] {one}))\n(assert (>= Y[0,0] 2.0))\n"

    (tmp_path / "q.vnnlib").write_text(query("float32", "0.0", "1.0"))
    r = call("verify", tmp_path / "q.vnnlib", "--network", f"N={tmp_path / 'relu.onnx'}", "--timeout", 5)
    assert r.exit_code == 2 and r.stdout == "unknown\n" and "a float ONNX network" in r.stderr, r.output
    (tmp_path / "u8.vnnlib").write_text(query("uint8", "0", "1"))
    r = call("verify", tmp_path / "u8.vnnlib", "--network", f"N={tmp_path / 'relu.onnx'}")
    assert r.exit_code == 2 and r.stdout == "" and "input X of network N is declared uint8, but" in r.stderr


def test_vnnlib1_files_are_still_answered(tmp_path):
    path = tmp_path / "tiny.bvq"
    tiny_net().save(path)  # outputs x0, x1, x0 + x1 in codes; X in [0, 0.5] -> codes 10..15 -> outputs 0..5
    lines = [f"(declare-const X_{i} Real)" for i in range(2)] + [f"(declare-const Y_{j} Real)" for j in range(3)]
    lines += ["(assert (>= X_0 0.0))", "(assert (<= X_0 0.5))", "(assert (>= X_1 0.0))", "(assert (<= X_1 0.5))"]
    (tmp_path / "holds.vnnlib").write_text("\n".join(lines + ["(assert (>= Y_0 6.0))"]) + "\n")
    (tmp_path / "sat.vnnlib").write_text("\n".join(lines + ["(assert (>= Y_2 9.0))"]) + "\n")
    assert call("verify", tmp_path / "holds.vnnlib", "--network", f"N={path}").stdout == "unsat\n"
    r = call("verify", tmp_path / "sat.vnnlib", "--network", f"N={path}")
    assert r.stdout.startswith("sat\n((X_0 ") and "(Y_2 " in r.stdout, r.output


def test_a_spent_time_limit_is_timed_out(tmp_path, mlp):
    q, _ = digits_query(mlp, 3, 1)
    (tmp_path / "q.vnnlib").write_text(q)
    r = call("verify", tmp_path / "q.vnnlib", "--network", "digits=digits-mlp", "--timeout", 0.31)
    assert r.stdout == "timed-out\n", r.output


@pytest.mark.parametrize("flag, check", [
    ("--onnx-opset-versions", lambda ls: len(ls) == 2 and all(v.isdigit() for v in ls) and int(ls[0]) <= int(ls[1])),
    ("--vnnlib-versions", lambda ls: ls == ["1.0", "2.0"]),
    ("--onnx-element-types", lambda ls: {"int8", "uint8"} <= set(ls) and "real" not in ls and "float16" not in ls),
    ("--serialise-assignments", lambda ls: ls == ["false"]),
    ("--optimised-disjunctive-reasoning", lambda ls: ls == ["false"]),
    ("--hidden-node-theories", lambda ls: ls == ["NH"]),
    ("--multiple-input-output-theories", lambda ls: ls == ["SIO"]),
    ("--multiple-network-theories", lambda ls: "SNET" in ls),
    ("--multiple-node-comparison-theories", lambda ls: ls == ["SNC"]),
    ("--arithmetic-complexity-theories", lambda ls: ls == ["BND", "OUTC"]),
    ("--onnx-operators", lambda ls: all(re.fullmatch(r"[A-Za-z]+( [a-z0-9]+)*", line) for line in ls)),
])
def test_supports_answers_each_capability(flag, check):
    r = call("supports", flag)
    assert r.exit_code == 0 and check(r.stdout.splitlines()), r.output


def test_supports_takes_one_capability_and_the_global_options():
    assert call("supports").exit_code == 2
    assert call("supports", "--vnnlib-versions", "--hidden-node-theories").exit_code == 2
    assert call("supports", "--no-such-thing").exit_code == 2
    assert call("--name").stdout.startswith("bvverify")
    assert call("--version").stdout.strip() == bvverify.__version__


def test_the_standalone_command():
    """The installed entry point, as a solver-testing tool runs it: stdout only the answer."""
    code = "from bvverify.cli import vnnlib_main; vnnlib_main()"
    p = subprocess.run([sys.executable, "-c", code, "supports", "--vnnlib-versions"], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0 and p.stdout == "1.0\n2.0\n", p.stderr
    p = subprocess.run([sys.executable, "-c", code, "verify", "/nonexistent.vnnlib", "--network", "a=b"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stdout == "" and "cannot read VNN-LIB file" in p.stderr


def test_float32_query_prints_float_inputs_and_dequantized_outputs_that_replay(tmp_path, mlp):
    xs, ys = test_images()
    x, label = xs[3].reshape(64).astype(np.float64), int(ys[3])
    lo, hi = np.floor(np.clip(x - 0.02, 0, 1) * 1024) / 1024, np.ceil(np.clip(x + 0.02, 0, 1) * 1024) / 1024
    lines = [HEAD.strip(), "(declare-network d (declare-input X float32 [1,64]) (declare-output Y float32 [1,10]))"]
    lines += [f"(assert (>= X[0,{k}] {float(a)!r}))\n(assert (<= X[0,{k}] {float(b)!r}))"
              for k, (a, b) in enumerate(zip(lo, hi))]
    beats = [f"(>= Y[0,{j}] Y[0,{label}])" if j < label else f"(> Y[0,{j}] Y[0,{label}])" for j in range(10) if j != label]
    (tmp_path / "f.vnnlib").write_text("\n".join(lines) + f"\n(assert (or {' '.join(beats)}))\n")
    r = call("verify", tmp_path / "f.vnnlib", "--network", "d=digits-mlp", "--timeout", 60)
    word, t = parse_answer(r.stdout)
    assert word == "sat" and t["X"][0] == "float32" and t["Y"][0] == "float32", r.output
    xin = np.array([float(v) for v in t["X"][2]], dtype=np.float32)
    assert np.array_equal(xin.astype(np.float64), np.array([float(v) for v in t["X"][2]]))  # exact float32 values
    assert np.all(xin >= lo) and np.all(xin <= hi)
    y = mlp.dequantize(mlp.evaluate(xin[None]))[0]
    assert np.array_equal(y, np.array([float(v) for v in t["Y"][2]], dtype=np.float32))


def test_the_onnx_interface_read_from_the_wire_is_onnx_own(tmp_path):
    """verify reads ONNX interfaces without importing onnx (a second of start-up): the same fields as onnx."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from bvverify.vnnlib_standard.onnx_wire import read_interface

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    w = helper.make_tensor("w", TensorProto.INT8, [4, 3], list(range(12)))
    wi = helper.make_tensor_value_info("w", TensorProto.INT8, [4, 3])  # an initializer listed as an input (old opsets)
    y = helper.make_tensor_value_info("y", TensorProto.UINT8, [1, 3])
    s = helper.make_tensor("s", TensorProto.FLOAT, [], [0.5])
    z = helper.make_tensor("z", TensorProto.UINT8, [], [7])
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]),
             helper.make_node("MatMulInteger", ["q", "w"], ["acc"]),
             helper.make_node("Cast", ["acc"], ["y"], to=TensorProto.UINT8)]
    g = helper.make_graph(nodes, "g", [x, wi], [y], [w, s, z])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    iface = read_interface(model.SerializeToString())
    assert iface.inputs == [(v.name, v.type.tensor_type.elem_type) for v in model.graph.input]
    assert iface.outputs == [("y", TensorProto.UINT8)] and iface.initializers == {"w", "s", "z"}
    assert iface.ops == {"QuantizeLinear", "MatMulInteger", "Cast"}
    from bvverify.vnnlib_standard.models import onnx_interface

    onnx.save(model, str(tmp_path / "m.onnx"))
    assert onnx_interface(tmp_path / "m.onnx") == (["float32"], ["uint8"], iface.ops)
    (tmp_path / "bad.onnx").write_bytes(b"\x0a\xff\xff")
    with pytest.raises(bvverify.BvverifyError, match="not a readable ONNX model"):
        onnx_interface(tmp_path / "bad.onnx")


@pytest.fixture(scope="module")
def qdq_onnx(tmp_path_factory):
    """A small MLP quantized by onnxruntime's quantize_static in QDQ form (float32 in, float32 out)."""
    pytest.importorskip("onnxruntime.quantization")
    from tests.importers.test_onnx_models import float_mlp, quantize

    d = tmp_path_factory.mktemp("qdq")
    calib = np.random.default_rng(0).normal(0, 1, (64, 4)).astype(np.float32)
    path = quantize(float_mlp(d / "f.onnx", [4, 8, 3], 0), d / "qdq.onnx", calib, fmt="qdq")
    try:
        return path, bvverify.load(path)
    except bvverify.BvverifyError as e:  # e.g. a CPU whose onnxruntime kernels bvverify does not model
        pytest.skip(f"this host's onnxruntime is not modelled: {e}")


def test_a_quantized_onnx_network_is_decided_and_replayed_by_onnxruntime(tmp_path, qdq_onnx):
    import onnxruntime as ort

    path, net = qdq_onnx
    centre = np.zeros((1, 4), np.float32)
    y0 = net.dequantize(net.evaluate(centre))[0]
    decl = "(declare-network N (declare-input X float32 [1,4]) (declare-output Y float32 [1,3]))\n"
    box = "".join(f"(assert (>= X[0,{i}] -0.5))\n(assert (<= X[0,{i}] 0.5))\n" for i in range(4))
    (tmp_path / "unsat.vnnlib").write_text(HEAD + decl + box + "(assert (>= Y[0,0] 1000.0))\n")
    r = call("verify", tmp_path / "unsat.vnnlib", "--network", f"N={path}", "--timeout", 30)
    assert r.stdout == "unsat\n", r.output
    (tmp_path / "sat.vnnlib").write_text(HEAD + decl + box + f"(assert (>= Y[0,1] {float(y0[1])!r}))\n"
                                         f"(assert (<= Y[0,2] {float(y0[2])!r}))\n")
    r = call("verify", tmp_path / "sat.vnnlib", "--network", f"N={path}", "--timeout", 30)
    word, t = parse_answer(r.stdout)
    assert word == "sat" and t["X"][0] == "float32" and t["Y"][0] == "float32", r.output
    x = np.array([[float(v) for v in t["X"][2]]], dtype=np.float32)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    y = sess.run(None, {sess.get_inputs()[0].name: x})[0][0]
    assert np.array_equal(y, np.array([float(v) for v in t["Y"][2]], dtype=np.float32))  # onnxruntime's own outputs
    assert np.all(np.abs(x) <= 0.5) and y[1] >= y0[1] and y[2] <= y0[2]
    (tmp_path / "u8.vnnlib").write_text(HEAD + decl.replace("Y float32", "Y uint8") + box + "(assert (>= Y[0,0] 3))\n")
    r = call("verify", tmp_path / "u8.vnnlib", "--network", f"N={path}")
    assert r.exit_code == 2 and "output Y of network N is declared uint8, but" in r.stderr and "gives float32" in r.stderr
