"""VNN-LIB 2.0 reading (official parser -> exact formulas) and its mapping onto bvverify's networks."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np
import pytest

pytest.importorskip("vnnlib")

import bvverify  # noqa: E402
from bvverify.bundled import resolve_model, test_images  # noqa: E402
from bvverify.properties.vnnlib import parse_vnnlib  # noqa: E402
from bvverify.properties.vnnlib2 import is_vnnlib2, parse_vnnlib2, round_f32  # noqa: E402
from bvverify.properties.vnnlib2_convert import Vnnlib2Unsupported, plan_query  # noqa: E402
from bvverify.properties.vnnlib_syntax import VnnlibError  # noqa: E402
from bvverify.testing.strategies.ir import tiny_net  # noqa: E402

HEAD = "(vnnlib-version <2.0>)\n"


@pytest.fixture(scope="module")
def mlp():
    return bvverify.load(resolve_model("digits-mlp"))


def net_decl(x="uint8", y="uint8", xs="[1,64]", ys="[1,10]", name="f", extra=""):
    return f"(declare-network {name}{extra}\n    (declare-input X{name} {x} {xs})\n    (declare-output Y{name} {y} {ys})\n)\n"


def box(name: str, lo, hi) -> str:
    return "".join(f"(assert (>= X{name}[0,{i}] {a}))\n(assert (<= X{name}[0,{i}] {b}))\n"
                   for i, (a, b) in enumerate(zip(lo, hi)))


def test_typed_tensors_and_lines():
    q = parse_vnnlib2(HEAD + net_decl("uint8", "float32") + net_decl("int8", "int8", "[3]", "[2,5]", name="g")
                      + "(assert (>= Xf[0,0] 3))\n", "q.vnnlib")
    f, g = q.networks
    assert (f.inputs[0].dtype, f.inputs[0].shape, f.inputs[0].line) == ("uint8", (1, 64), 3)
    assert (f.outputs[0].dtype, f.outputs[0].line) == ("float32", 4)
    assert (g.inputs[0].dtype, g.inputs[0].shape, g.outputs[0].shape, g.line) == ("int8", (3,), (2, 5), 6)
    assert g.outputs[0].label(7) == "Yg[1,2]" and g.outputs[0].header() == "Yg int8 [2,5]"
    (atom,) = q.conjuncts
    assert atom.expr.coefs == {("Xf", 0): Fraction(-1)} and atom.expr.const == 3 and atom.node.line == 10


def test_several_networks_and_their_relations():
    text = HEAD + net_decl(name="a") + net_decl(name="b", extra=" (isomorphic-to a)") + \
        net_decl(name="c", extra=" (equal-to a)") + "(assert (== Xa[0,1] Xb[0,1]))\n"
    q = parse_vnnlib2(text)
    assert [(n.name, n.equal_to, n.isomorphic_to) for n in q.networks] == [("a", "", ""), ("b", "", "a"), ("c", "a", "")]
    le, ge = q.conjuncts  # == is two non-strict atoms
    assert le.expr.coefs == {("Xa", 1): 1, ("Xb", 1): -1} and ge.expr.coefs == {("Xa", 1): -1, ("Xb", 1): 1}


def test_numerals_are_exact_and_float32_constants_round_to_float32():
    q = parse_vnnlib2(HEAD + net_decl("float32", "float32") + "(assert (<= Xf[0,0] 0.1))\n(assert (>= Xf[0,1] (- 0.5)))\n"
                      + "(assert (<= Yf[0,2] Yf[0,3]))\n")
    a, b, c = q.conjuncts
    assert -a.expr.const == Fraction(float(np.float32(0.1)))  # not 1/10: the float32 theory's 0.1
    assert b.expr.const == Fraction(-1, 2) and b.expr.coefs == {("Xf", 1): -1}
    assert c.expr.coefs == {("Yf", 2): 1, ("Yf", 3): -1} and c.expr.const == 0
    q = parse_vnnlib2(HEAD + net_decl() + "(assert (> (- Yf[0,0] (* 3 Yf[0,1])) 123456789012345678))\n")
    (atom,) = q.conjuncts  # integer terms stay exact
    assert atom.strict and atom.expr.coefs == {("Yf", 0): -1, ("Yf", 1): 3} and atom.expr.const == 123456789012345678
    assert q.notes == ["<string>:6: (- Yf [0, 0] (* 3 Yf [0, 1])) can leave the uint8 range (-765..255); it is read as "
                       "exact integer arithmetic (no wrap-around)"]
    with pytest.raises(VnnlibError, match="q: the official VNN-LIB parser failed"):  # its numerals are 64-bit
        parse_vnnlib2(HEAD + net_decl() + "(assert (> Yf[0,0] 12345678901234567890))\n", "q")


def test_round_f32_is_nearest_with_ties_to_even():
    rng = np.random.default_rng(0)
    for _ in range(300):
        q = Fraction(int(rng.integers(-(10**9), 10**9)), int(rng.integers(1, 10**7)))
        r = round_f32(q)
        f = np.float32(float(r))
        assert Fraction(float(f)) == r
        for n in (np.nextafter(f, np.float32(-np.inf)), np.nextafter(f, np.float32(np.inf))):
            assert abs(Fraction(float(n)) - q) >= abs(r - q)
    assert round_f32(Fraction(1) + Fraction(1, 2**24)) == 1  # a tie: the even neighbour
    assert round_f32(Fraction(1) + Fraction(3, 2**24)) == Fraction(1) + Fraction(2, 2**23)
    assert round_f32(Fraction(10) ** 39) is None


@pytest.mark.parametrize("body, line, words", [
    ("(assert (<= Xf[0,0] 0.5))\n", 6, ["Type mismatch", "'0.5'", "I8"]),
    ("(assert (<= Xf[0,70] 1))\n", 6, ["out of bounds", "Xf[0,70]"]),
    ("(assert (<= Z[0] 1))\n", 6, ["Undeclared variable", "'Z'"]),
    ("(assert (<= Xf[0,0] 1)\n", 6, ["syntax error"]),
])
def test_parser_errors_name_file_and_line(body, line, words):
    with pytest.raises(VnnlibError) as e:
        parse_vnnlib2(HEAD + net_decl("int8", "int8") + body, "bad.vnnlib")
    msg = str(e.value)
    assert msg.startswith(f"bad.vnnlib:{line}"), msg
    for w in words:
        assert w in msg


def test_float32_arithmetic_and_products_are_refused_by_name():
    with pytest.raises(Vnnlib2Unsupported, match=r"q.vnnlib:6: float32 arithmetic in \(<= \(\+ Yf"):
        parse_vnnlib2(HEAD + net_decl("float32", "float32") + "(assert (<= (+ Yf[0,0] Yf[0,1]) 0.5))\n", "q.vnnlib")
    with pytest.raises(Vnnlib2Unsupported, match=r":6: nonlinear term"):
        parse_vnnlib2(HEAD + net_decl() + "(assert (<= (* Yf[0,0] Yf[0,1]) 5))\n", "q.vnnlib")


def test_version_detection():
    assert is_vnnlib2(HEAD + net_decl())
    assert is_vnnlib2("; a comment\n" + net_decl())
    assert not is_vnnlib2("; (declare-network in a comment)\n(declare-const X_0 Real)\n(assert (<= X_0 1))\n")


# ---- onto networks


def codes_query(net, lo, hi, cond: str, x="uint8", y="uint8") -> str:
    return HEAD + net_decl(x, y) + box("f", lo, hi) + f"(assert {cond})\n"


def test_uint8_input_is_the_code_box_and_uint8_output_the_codes(mlp):
    c = mlp.quantize_input(test_images()[0][0].reshape(1, 64))[0]
    lo, hi = np.maximum(c - 1, 0), np.minimum(c + 1, 255)
    plan = plan_query(parse_vnnlib2(codes_query(mlp, lo, hi, "(>= Yf[0,3] Yf[0,1])")), {"f": mlp})
    p = plan.prop
    assert p.units == "codes" and p.output.over == "codes"
    assert np.array_equal(p.lo, lo) and np.array_equal(p.hi, hi)
    (clause,) = p.output.clauses
    assert [str(a) for a in clause] == ["1*Y_1 + -1*Y_3 <= 0"]


def test_unbounded_integer_inputs_take_their_type_range(mlp):
    plan = plan_query(parse_vnnlib2(HEAD + net_decl() + "(assert (>= Xf[0,5] 7))\n(assert (>= Yf[0,0] 3))\n"), {"f": mlp})
    assert plan.prop.lo[5] == 7 and plan.prop.lo[0] == 0 and np.all(plan.prop.hi == 255)


def test_float32_query_is_the_v1_reading_of_the_same_file(mlp):
    """The equivalence: a VNN-LIB 1 file and its 2.0 float32 translation give the same property."""
    x = test_images()[0][5].reshape(64)
    lo = np.floor(np.clip(x - 0.05, 0, 1) * 256) / 256  # float32-representable bounds
    hi = np.ceil(np.clip(x + 0.05, 0, 1) * 256) / 256
    def cond(y) -> str:
        return f"(or (>= {y(3)} {y(1)}) (and (<= {y(0)} 1.25) (> {y(2)} {y(4)})))"

    v1 = [f"(declare-const X_{i} Real)" for i in range(64)] + [f"(declare-const Y_{j} Real)" for j in range(10)]
    v1 += [f"(assert (>= X_{i} {a}))\n(assert (<= X_{i} {b}))" for i, (a, b) in enumerate(zip(lo, hi))]
    v1.append(f"(assert {cond(lambda j: f'Y_{j}')})")
    p1 = parse_vnnlib("\n".join(v1), 64, 10, "dequantized")
    v2 = HEAD + net_decl("float32", "float32") + box("f", lo, hi) + f"(assert {cond(lambda j: f'Yf[0,{j}]')})\n"
    p2 = plan_query(parse_vnnlib2(v2), {"f": mlp}).prop
    assert p2.units == "model" and p2.output.over == "dequantized" == p1.output.over
    assert np.array_equal(p1.lo, p2.lo) and np.array_equal(p1.hi, p2.hi)
    assert p1.output.clauses == p2.output.clauses


def test_integer_input_network_takes_integer_types_only():
    net = tiny_net(integer_input=True)  # codes 0..255, outputs uint8 codes
    text = HEAD + net_decl("uint8", "uint8", "[2]", "[3]") + "(assert (<= Xf[0] 10))\n(assert (>= Yf[2] 20))\n"
    plan = plan_query(parse_vnnlib2(text), {"f": net})
    assert plan.prop.units == "model" and list(plan.prop.hi) == [10, 255]
    with pytest.raises(VnnlibError, match=r"q:3: input Xf of network f is declared float32, but the model takes integer codes"):
        plan_query(parse_vnnlib2(text.replace("Xf float32", "").replace("Xf uint8", "Xf float32")
                                 .replace("(<= Xf[0] 10)", "(<= Xf[0] 1.0)"), "q"), {"f": net})


@pytest.mark.parametrize("x, y, xs, extra, pattern", [
    ("int8", "uint8", "[1,64]", "",
     r"q:3: input Xf of network f is declared int8 \(-128..127\), but the model's input codes span 0..255"),
    ("uint8", "int8", "[1,64]", "", r"q:4: output Yf of network f is declared int8 .* codes can span 0..255"),
    ("uint8", "uint8", "[1,63]", "", r"q:3: input Xf of network f is declared with shape \[1,63\]"),
    ("float32", "float32", "[1,64]", "", r"q:3: input Xf\[0,1\] has no lower bound"),
    ("uint8", "float32", "[1,64]", "", None),
])
def test_interface_mismatches_name_file_line_and_field(mlp, x, y, xs, extra, pattern):
    body = "(assert (>= Xf[0,0] 0" + (".0" if x == "float32" else "") + "))\n(assert (<= Xf[0,0] 1" + \
        (".0" if x == "float32" else "") + "))\n(assert (>= Yf[0,0] Yf[0,1]))\n"
    text = HEAD + net_decl(x, y, xs) + body
    if pattern is None:  # the one that fits
        assert plan_query(parse_vnnlib2(text, "q"), {"f": mlp}).prop.output.over == "dequantized"
        return
    with pytest.raises(VnnlibError, match=pattern):
        plan_query(parse_vnnlib2(text, "q"), {"f": mlp})


def test_codes_outside_the_model_range_are_refused():
    net = dataclasses.replace(tiny_net(integer_input=True))
    net = bvverify.QNetwork(dataclasses.replace(net.input, hi=15), net.nodes, net.output, net.meta)
    text = HEAD + net_decl("uint8", "uint8", "[2]", "[3]") + "(assert (<= Xf[0] 10))\n(assert (>= Yf[2] 20))\n"
    with pytest.raises(VnnlibError, match=r"q:3: Xf\[1\] \(uint8\) may be 255 in this query, but the model takes "
                                          "input codes 0..15"):
        plan_query(parse_vnnlib2(text, "q"), {"f": net})
    ok = text.replace("(<= Xf[0] 10))", "(<= Xf[0] 10))\n(assert (<= Xf[1] 15))")
    assert list(plan_query(parse_vnnlib2(ok, "q"), {"f": net}).prop.hi) == [10, 15]


@pytest.mark.parametrize("decls, body, pattern", [
    ("(declare-network f (declare-input X real [1,64]) (declare-output Y real [1,10]))\n", "(assert (<= X[0,0] 1.0))\n",
     r"q:2: input X of network f has element type real"),
    ("(declare-network f (declare-input X float16 [1,64]) (declare-output Y float16 [1,10]))\n",
     "(assert (<= X[0,0] 1.0))\n", r"no exact model of float16"),
    ("(declare-network f (declare-input X uint8 [1,64]) (declare-hidden H uint8 [1,32] \"fc1\") "
     "(declare-output Y uint8 [1,10]))\n", "(assert (<= H[0,0] 1))\n", r"hidden node H \(fc1\)"),
    (net_decl(), "(assert (<= Xf[0,0] Yf[0,1]))\n", r"q:6: \(<= Xf \[0, 0\] Yf \[0, 1\]\) relates inputs and outputs"),
    (net_decl(), "(assert (<= (+ Xf[0,0] Xf[0,1]) 3))\n", r"q:6: input constraint .* is not a bound on one element"),
    (net_decl(), "(assert (or (<= Xf[0,0] 3) (>= Xf[0,0] 9)))\n", r"q:6: disjunctive input regions"),
    (net_decl(name="a") + net_decl(name="b"), "(assert (>= Ya[0,0] Yb[0,0]))\n",
     r"q:7: Xb\[0,0\] is not asserted equal to Xa\[0,0\]"),
    (net_decl(name="a") + net_decl(name="b") + net_decl(name="c"), "(assert (>= Ya[0,0] 1))\n", r"3 networks"),
])
def test_outside_the_sound_domain_is_refused_by_name(mlp, decls, body, pattern):
    q = parse_vnnlib2(HEAD + decls + body, "q")
    with pytest.raises(Vnnlib2Unsupported, match=pattern):
        plan_query(q, {d.name: mlp for d in q.networks})


def test_two_networks_on_one_input_become_one_pair_property(mlp):
    ties = "".join(f"(assert (== Xa[0,{i}] Xb[0,{i}]))\n" for i in range(64))
    text = HEAD + net_decl(name="a") + net_decl(name="b", extra=" (isomorphic-to a)") + ties + \
        "(assert (<= Xa[0,0] 9))\n(assert (>= Xb[0,0] 2))\n(assert (or (> (- Ya[0,4] Yb[0,4]) 2) (> (- Yb[0,4] Ya[0,4]) 2)))\n"
    plan = plan_query(parse_vnnlib2(text), {"a": mlp, "b": mlp})
    p = plan.prop
    assert len(plan.sides) == 2 and p.units == "codes" and p.output.over == "codes"
    assert (p.lo[0], p.hi[0], p.lo[1], p.hi[1]) == (2, 9, 0, 255)  # both networks' bounds on the one input
    assert sorted(str(c[0]) for c in p.output.clauses) == ["-1*Y_4 + 1*Y_14 < -2", "1*Y_4 + -1*Y_14 < -2"]


def test_unsatisfiable_input_constraints_need_no_network(mlp):
    plan = plan_query(parse_vnnlib2(HEAD + net_decl() + "(assert (>= Xf[0,3] 9))\n(assert (< Xf[0,3] 9))\n"
                                    "(assert (>= Yf[0,0] 1))\n", "q"), {"f": mlp})
    assert plan.prop is None and plan.empty.startswith("q:7: the input constraints are unsatisfiable: Xf[0,3]")


def test_strict_bounds_on_float32_inputs_are_the_next_float32_inside(mlp):
    body = "".join(f"(assert (> Xf[0,{i}] 0.25))\n(assert (< Xf[0,{i}] 0.5))\n" for i in range(64))
    p = plan_query(parse_vnnlib2(HEAD + net_decl("float32", "float32") + body + "(assert (>= Yf[0,0] Yf[0,1]))\n"),
                   {"f": mlp}).prop
    assert np.all(p.lo == float(np.nextafter(np.float32(0.25), np.float32(1))))
    assert np.all(p.hi == float(np.nextafter(np.float32(0.5), np.float32(0))))


def test_integer_query_is_the_v1_reading_of_the_same_file():
    """On an integer-input network a VNN-LIB 1 file's X_i are codes: the 2.0 uint8 reading is the same property."""
    net = tiny_net(integer_input=True)
    cond = "(or (and (>= {y0} 7) (< {y2} 12)) (> {y1} {y0}))"
    v1 = "(declare-const X_0 Real)\n(declare-const X_1 Real)\n" + "".join(f"(declare-const Y_{j} Real)\n" for j in range(3))
    v1 += "(assert (>= X_0 3))\n(assert (<= X_0 9))\n(assert (>= X_1 0))\n(assert (<= X_1 255))\n"
    v1 += f"(assert {cond.format(y0='Y_0', y1='Y_1', y2='Y_2')})\n"
    p1 = parse_vnnlib(v1, 2, 3, "codes")
    v2 = HEAD + net_decl("uint8", "uint8", "[2]", "[3]") + "(assert (>= Xf[0] 3))\n(assert (<= Xf[0] 9))\n"
    v2 += f"(assert {cond.format(y0='Yf[0]', y1='Yf[1]', y2='Yf[2]')})\n"
    p2 = plan_query(parse_vnnlib2(v2), {"f": net}).prop
    assert p2.units == p1.units == "model" and p2.output.over == "codes"
    assert np.array_equal(p1.lo, p2.lo) and np.array_equal(p1.hi, p2.hi) and p1.output.clauses == p2.output.clauses
