"""VNN-LIB reader: real VNN-COMP files, a printed-and-parsed round trip, and every error case.

Benchmark data: ``$BVVERIFY_BENCHMARKS`` or ``<repo>/../shared/benchmarks``; the
tests that need it are skipped when it is absent.
"""

from __future__ import annotations

import os
import random
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bvverify.errors import BvverifyError
from bvverify.properties.spec import Linear
from bvverify.properties.vnnlib import MAX_CLAUSES, VnnlibError, parse_vnnlib, read_vnnlib

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)


def _bench_dir() -> Path:
    env = os.environ.get("BVVERIFY_BENCHMARKS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / ".." / "shared" / "benchmarks"


MNISTFC = _bench_dir() / "vnncomp2021_mnistfc"
MNISTFC_FILES = sorted(MNISTFC.glob("prop_*.vnnlib")) if MNISTFC.is_dir() else []


# --------------------------------------------------------------------------- real VNN-COMP files


@pytest.mark.parametrize("path", MNISTFC_FILES or [None], ids=lambda p: p.name if p else "absent")
def test_mnistfc_properties(path: Path | None) -> None:
    if path is None:
        pytest.skip(f"benchmark data not found at {MNISTFC} (set BVVERIFY_BENCHMARKS)")
    text = path.read_text()
    label = int(re.search(r"label:\s*(\d+)", text.splitlines()[0]).group(1))
    eps = float(re.fullmatch(r"prop_\d+_([0-9.]+)", path.stem).group(1))

    prop = read_vnnlib(path, n_inputs=784, n_outputs=10)

    assert prop.name == path.stem
    assert prop.lo.dtype == np.float64 and prop.hi.dtype == np.float64
    assert prop.lo.shape == prop.hi.shape == (784,)
    lo_exact, hi_exact = prop.meta["lo_exact"], prop.meta["hi_exact"]
    assert len(lo_exact) == len(hi_exact) == 784
    assert all(isinstance(v, Fraction) for v in lo_exact + hi_exact)
    assert all(0 <= lo <= hi <= 1 for lo, hi in zip(lo_exact, hi_exact))
    assert np.array_equal(prop.lo, [float(v) for v in lo_exact])
    assert np.array_equal(prop.hi, [float(v) for v in hi_exact])
    assert (prop.hi - prop.lo).max() <= 2 * eps + 1e-6
    assert (prop.hi - prop.lo).max() > 0

    out = prop.output
    assert out.over == "codes"
    assert len(out.clauses) == 9
    others = []
    for clause in out.clauses:
        assert len(clause) == 1
        (lin,) = clause
        # (>= Y_j Y_label)  <=>  Y_label - Y_j <= 0
        assert lin.rhs == 0 and not lin.strict
        (j, cj), (k, ck) = sorted(lin.terms, key=lambda t: t[1])
        assert (cj, ck, k) == (-1, 1, label)
        others.append(j)
    assert sorted(others) == [j for j in range(10) if j != label]
    # the label wins strictly -> no violation; a tie or another winner -> violation
    y = np.zeros(10, dtype=np.int64)
    y[label] = 5
    assert not out.holds(y)
    y[(label + 1) % 10] = 5
    assert out.holds(y)


# --------------------------------------------------------------------------- round trip

_SMALL = st.integers(-4, 4).map(Fraction)
_DECIMAL = st.builds(lambda m, k: Fraction(m, 10**k), st.integers(-(10**6), 10**6), st.integers(0, 6))
_THIRDS = st.builds(lambda m, d: Fraction(m, d), st.integers(-20, 20), st.sampled_from([3, 7, 12]))
_NUMBER = st.one_of(_SMALL, _SMALL, _DECIMAL, _THIRDS)
_COEF = st.one_of(st.sampled_from([Fraction(1), Fraction(-1), Fraction(1, 2), Fraction(-3, 2)]), _NUMBER).filter(
    lambda c: c != 0
)


def _terms(n_out: int):
    """A linear term over outputs: ({j: coef}, const)."""
    return st.tuples(st.dictionaries(st.integers(0, n_out - 1), _COEF, max_size=3), _NUMBER)


def _formulas(n_out: int):
    atom = st.tuples(st.just("atom"), st.sampled_from(["<=", ">=", "<", ">"]), _terms(n_out), _terms(n_out))
    return st.recursive(
        atom,
        lambda kids: st.tuples(st.sampled_from(["and", "or"]), st.lists(kids, min_size=1, max_size=3)),
        max_leaves=7,
    )


def _eval_term(term, y) -> Fraction:
    coefs, const = term
    return sum((c * int(y[j]) for j, c in coefs.items()), const)


def _eval(f, y) -> bool:
    if f[0] == "atom":
        _, op, a, b = f
        x, z = _eval_term(a, y), _eval_term(b, y)
        return {"<=": x <= z, ">=": x >= z, "<": x < z, ">": x > z}[op]
    results = [_eval(c, y) for c in f[1]]
    return all(results) if f[0] == "and" else any(results)


def _mentions_output(f) -> bool:
    if f[0] == "atom":
        return bool(f[2][0] or f[3][0])
    return any(_mentions_output(c) for c in f[1])


class _Printer:
    """Prints exact rationals, terms and formulas as VNN-LIB in styles chosen by ``rng``.

    (A seeded ``random.Random`` rather than hypothesis draws: thousands of tiny style
    choices per example would dominate the test's run time.)"""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def pick(self, *options):
        return self.rng.choice(options)

    def random_term(self, n_out: int):
        coefs = {self.rng.randrange(n_out): Fraction(self.rng.randint(-9, 9), self.rng.choice([1, 10, 4]))
                 for _ in range(self.rng.randint(0, 2))}
        return coefs, Fraction(self.rng.randint(-99, 99), self.rng.choice([1, 100, 3]))

    def number(self, q: Fraction) -> str:
        if q < 0 and self.pick(True, False):
            return f"(- {self.number(-q)})"
        sign = "-" if q < 0 else ""
        q = abs(q)
        den = q.denominator
        k = 0
        while den % 2 == 0 or den % 5 == 0:
            den //= 2 if den % 2 == 0 else 5
        if den != 1:  # not a finite decimal: an exact division
            return f"{sign}(/ {q.numerator} {q.denominator})" if not sign else f"(- (/ {q.numerator} {q.denominator}))"
        while (q * 10**k).denominator != 1:
            k += 1
        m = int(q * 10**k)  # q = m * 10^-k
        style = self.pick("decimal", "decimal", "padded", "sci", "integer")
        if style == "integer" and k == 0:
            return f"{sign}{m}"
        if style in ("decimal", "integer", "padded"):
            digits = str(m).rjust(k + 1, "0")
            whole, frac = digits[: len(digits) - k], digits[len(digits) - k :]
            if style == "padded":
                frac += "0" * self.rng.randint(0, 2)
            return f"{sign}{whole}.{frac or '0'}"
        digits = str(m)
        exp = len(digits) - 1 - k
        mant = digits[0] + ("." + digits[1:].rstrip("0") if digits[1:].rstrip("0") else "")
        e = self.pick("e", "E")
        exp_text = f"+{exp}" if exp >= 0 and self.pick(True, False) else str(exp)
        return f"{sign}{mant}{e}{exp_text}"

    def term(self, term, depth: int = 0) -> str:
        coefs, const = term
        if depth < 2 and self.pick(False, False, False, True):
            # t = (t + u) - u, printed with n-ary minus
            extra = self.random_term(max(coefs, default=0) + 1)
            shifted = ({j: coefs.get(j, 0) + extra[0].get(j, 0) for j in set(coefs) | set(extra[0])}, const + extra[1])
            return f"(- {self.term(shifted, depth + 1)} {self.term(extra, depth + 1)})"
        pieces = []
        for j, c in coefs.items():
            if c == 0:
                continue
            if c == 1 and self.pick(True, False):
                pieces.append(f"Y_{j}")
            elif c == -1 and self.pick(True, False):
                pieces.append(f"(- Y_{j})")
            elif self.pick(True, False):
                pieces.append(f"(* {self.number(c)} Y_{j})")
            else:
                pieces.append(f"(* Y_{j} {self.number(c)})")
        if const != 0 or not pieces or self.pick(True, False):
            pieces.insert(self.rng.randint(0, len(pieces)), self.number(const))
        if len(pieces) == 1:
            return pieces[0]
        if self.pick(True, False):
            return "(+ " + " ".join(pieces) + ")"
        out = pieces[-1]
        for p in reversed(pieces[:-1]):
            out = f"(+ {p} {out})"
        return out

    def formula(self, f) -> str:
        if f[0] == "atom":
            _, op, a, b = f
            if self.pick(True, False):  # flip: a <= b is b >= a
                op, a, b = {"<=": ">=", ">=": "<=", "<": ">", ">": "<"}[op], b, a
            return f"({op} {self.term(a)} {self.term(b)})"
        sep = self.pick(" ", "\n    ", " ; note\n ")
        return f"({f[0]}{sep}" + sep.join(self.formula(c) for c in f[1]) + ")"


@st.composite
def _problems(draw):
    n_in = draw(st.integers(1, 4))
    n_out = draw(st.integers(1, 4))
    lo = [draw(_NUMBER) for _ in range(n_in)]
    hi = [x + abs(draw(_NUMBER)) for x in lo]
    outputs = draw(st.lists(_formulas(n_out), min_size=1, max_size=3))
    if not any(_mentions_output(f) for f in outputs):
        outputs.append(("atom", "<=", ({0: Fraction(1)}, Fraction(0)), ({}, Fraction(100))))
    p = _Printer(random.Random(draw(st.integers(0, 2**32 - 1))))

    def x_bound(i: int, upper: bool, value: Fraction) -> str:
        x, v = f"X_{i}", p.number(value)
        if upper:
            return p.pick(f"(<= {x} {v})", f"(>= {v} {x})", f"(<= (* 2 {x}) {p.number(2 * value)})")
        return p.pick(f"(>= {x} {v})", f"(<= {v} {x})", f"(<= (- {x}) {p.number(-value)})")

    asserts: list[str] = []
    for i in range(n_in):
        style = p.pick("two", "and", "chain", "eq", "loose")
        if style == "eq" and lo[i] == hi[i]:
            asserts.append(f"(= X_{i} {p.number(lo[i])})")
        elif style == "chain":
            asserts.append(f"(<= {p.number(lo[i])} X_{i} {p.number(hi[i])})")
        elif style == "and":
            asserts.append(f"(and {x_bound(i, True, hi[i])} {x_bound(i, False, lo[i])})")
        else:
            asserts += [x_bound(i, True, hi[i]), x_bound(i, False, lo[i])]
            if style == "loose":
                asserts += [x_bound(i, True, hi[i] + 1), x_bound(i, False, lo[i] - Fraction(1, 2))]
    asserts += [p.formula(f) for f in outputs]
    p.rng.shuffle(asserts)
    if len(asserts) > 1 and p.pick(True, False, False):  # several asserts folded into one top-level and
        asserts = asserts[:-2] + [f"(and {asserts[-2]} {asserts[-1]})"]

    decls = [f"(declare-const X_{i} Real)" for i in range(n_in)] + [f"(declare-const Y_{j} Real)" for j in range(n_out)]
    p.rng.shuffle(decls)
    lines = ["; generated property"] + decls + [f"(assert {a})" + p.pick("", "  ; c") for a in asserts]
    text = p.pick("\n", "\n\n", "\r\n").join(lines) + "\n"
    return n_in, n_out, lo, hi, outputs, text


@SETTINGS
@given(_problems(), st.integers(0, 2**32 - 1))
def test_round_trip(problem, seed: int) -> None:
    n_in, n_out, lo, hi, outputs, text = problem
    prop = parse_vnnlib(text, n_in, n_out, source="gen.vnnlib")

    assert prop.meta["lo_exact"] == lo and prop.meta["hi_exact"] == hi
    assert prop.lo.tolist() == [float(v) for v in lo] and prop.hi.tolist() == [float(v) for v in hi]

    rng = random.Random(seed)
    for trial in range(50):
        bound = 3 if trial < 35 else 1000
        y = np.array([rng.randint(-bound, bound) for _ in range(n_out)], dtype=np.int64)
        expected = all(_eval(f, y) for f in outputs)
        assert prop.output.holds(y) == expected, (text, y.tolist())


# --------------------------------------------------------------------------- exact semantics


def _parse(text: str, n_inputs: int = 2, n_outputs: int = 3, **kw):
    return parse_vnnlib(text, n_inputs, n_outputs, source="prop.vnnlib", **kw)


BASE = """\
(declare-const X_0 Real)
(declare-const X_1 Real)
(declare-const Y_0 Real)
(declare-const Y_1 Real)
(assert (<= X_0 1))
(assert (>= X_0 0))
(assert (<= X_1 1))
(assert (>= X_1 0))
"""
OK = BASE + "(assert (>= Y_0 Y_1))\n"


def test_ge_is_rhs_minus_lhs() -> None:
    prop = _parse(OK)
    assert prop.output.clauses == ((Linear(((0, Fraction(-1)), (1, Fraction(1))), Fraction(0), False),),)
    assert prop.meta["lo_exact"] == [0, 0] and prop.meta["hi_exact"] == [1, 1]
    assert prop.name == "prop"


def test_strict_scientific_and_division() -> None:
    prop = _parse(BASE + "(assert (> (* 2.5E+2 Y_0) (+ (/ 1 3) 1e-3 (- Y_1))))\n")
    (clause,) = prop.output.clauses
    assert clause == (Linear(((0, Fraction(-250)), (1, Fraction(-1))), -(Fraction(1, 3) + Fraction(1, 1000)), True),)


def test_constant_atoms_are_folded() -> None:
    prop = _parse(BASE + "(assert (or (<= 1 0) (and (< 0 1) (<= Y_0 2)) (<= Y_1 -3)))\n")
    assert prop.output.clauses == (
        (Linear(((0, Fraction(1)),), Fraction(2)),),
        (Linear(((1, Fraction(1)),), Fraction(-3)),),
    )
    never = _parse(OK + "(assert (<= 1 0))\n")
    assert never.output.clauses == ()
    assert not never.output.holds(np.zeros(3, dtype=np.int64))
    always = _parse(BASE + "(assert (or (<= Y_0 Y_0) (>= Y_1 5)))\n")
    assert always.output.clauses == ((),)
    assert always.output.holds(np.zeros(3, dtype=np.int64))


def test_dnf_distributes_and_dedupes() -> None:
    prop = _parse(BASE + "(assert (or (<= Y_0 1) (<= Y_1 1)))\n(assert (or (<= Y_0 1) (<= Y_0 1)))\n")
    a, b = Linear(((0, Fraction(1)),), Fraction(1)), Linear(((1, Fraction(1)),), Fraction(1))
    assert prop.output.clauses == ((a,), (b, a))


def test_bounds_intersect_and_equalities() -> None:
    text = BASE.replace("(assert (<= X_1 1))", "(assert (= X_1 0.25))") + "(assert (<= X_0 0.5))(assert (<= 0.125 X_0))\n"
    prop = _parse(text + "(assert (<= Y_0 0))\n")
    assert prop.meta["lo_exact"] == [Fraction(1, 8), Fraction(1, 4)]
    assert prop.meta["hi_exact"] == [Fraction(1, 2), Fraction(1, 4)]
    assert prop.lo.tolist() == [0.125, 0.25] and prop.hi.tolist() == [0.5, 0.25]


def test_int_inputs_are_rounded_inward() -> None:
    text = (
        "(declare-const X_0 Int)(declare-const Y_0 Real)\n"
        "(assert (< X_0 2.5)) (assert (> X_0 -1)) (assert (<= Y_0 0))"
    )
    prop = parse_vnnlib(text, 1, 1)
    assert prop.meta["lo_exact"] == [0] and prop.meta["hi_exact"] == [2]


def test_over_and_ignored_commands() -> None:
    prop = _parse('(set-logic QF_LRA)(set-info :source "a ""quoted"" (string)")\n' + OK + "(check-sat)\n(exit)\n",
                  over="dequantized")
    assert prop.output.over == "dequantized"
    with pytest.raises(VnnlibError, match="over must be one of"):
        _parse(OK, over="floats")


# --------------------------------------------------------------------------- errors


def _error(text: str, n_inputs: int = 2, n_outputs: int = 3) -> str:
    with pytest.raises(VnnlibError) as info:
        _parse(text, n_inputs, n_outputs)
    assert isinstance(info.value, BvverifyError) and isinstance(info.value, ValueError)
    return str(info.value)


def _expect(text: str, where: str, *words: str, **kw) -> None:
    msg = _error(text, **kw)
    assert msg.startswith(f"prop.vnnlib:{where}: "), msg
    for w in words:
        assert w in msg, msg


def test_error_extra_close_paren() -> None:
    _expect(OK + "(assert (<= Y_0 1)))\n", "10:20", "unbalanced parentheses", "')'")


def test_error_unclosed_paren() -> None:
    _expect(OK + "(assert (<= Y_0 1)\n", "10:1", "unbalanced parentheses", "never closed")


def test_error_unknown_command() -> None:
    _expect(OK + "   (define-fun f () Real 1.0)\n", "10:5", "unknown command", "define-fun")


def test_error_bare_token_at_top_level() -> None:
    _expect(OK + "assert\n", "10:1", "expected a command")


def test_error_undeclared_variable() -> None:
    _expect(OK + "(assert (<= Y_2 1))\n", "10:13", "undeclared variable Y_2")


def test_error_unknown_variable_name() -> None:
    _expect(OK + "(assert (<= Z_0 1))\n", "10:13", "unknown variable", "Z_0")
    _expect(OK + "(declare-const input_0 Real)\n", "10:16", "unsupported variable name", "input_0")


def test_error_index_out_of_range() -> None:
    _expect(OK + "(declare-const X_800 Real)\n", "10:16", "unknown variable X_800", "out of range", "2 inputs")
    _expect(OK + "(assert (<= Y_3 1))\n", "10:13", "unknown variable Y_3", "3 outputs")


def test_error_declared_twice() -> None:
    _expect(OK + "\n  (declare-const Y_0 Int)\n", "11:18", "Y_0 declared twice", "line 3")


def test_error_nonlinear_term() -> None:
    _expect(OK + "(assert (<= (* Y_0 Y_1) 1))\n", "10:13", "nonlinear term", "(* Y_0 Y_1)")
    _expect(OK + "(assert (<= (/ 1 Y_1) 1))\n", "10:18", "nonlinear term", "division")


def test_error_unsupported_operator() -> None:
    _expect(OK + "(assert (<= (abs Y_0) 1))\n", "10:14", "unsupported operator 'abs'")
    _expect(OK + "(assert (not (<= Y_0 1)))\n", "10:10", "unsupported operator 'not'")
    _expect(OK + "(assert (+ Y_0 1))\n", "10:10", "expected a formula")


def test_error_empty_box() -> None:
    _expect(OK + "(assert (>= X_1 2))\n", "10:9", "empty input box", "X_1", "2 > upper bound 1")


def test_error_missing_bound() -> None:
    _expect(OK.replace("(assert (>= X_1 0))\n", ""), "2:16", "missing bound", "X_1", "lower")
    no_bounds = OK.replace("(assert (>= X_1 0))\n", "").replace("(assert (<= X_1 1))\n", "")
    _expect(no_bounds, "2:16", "missing bound", "X_1", "lower or upper")


def test_error_undeclared_input() -> None:
    _expect(OK, "10:1", "X_2 is never declared", "3 inputs", n_inputs=3)


def test_error_no_output_constraint() -> None:
    _expect(BASE, "9:1", "no output constraint")
    _expect(BASE + "(assert (<= 0 1))", "9:18", "no output constraint")


def test_error_malformed_number() -> None:
    for bad, col in (("1.2.3", 17), ("1e", 17), ("0x1F", 17), ("-.e5", 17), ("3abc", 17)):
        _expect(OK + f"(assert (<= Y_0 {bad}))\n", f"10:{col}", "malformed number", bad)
    _expect(OK + "(assert (<= Y_0 1e5000))\n", "10:17", "out of range")


def test_error_mixed_input_output() -> None:
    _expect(OK + "(assert (<= X_0 Y_0))\n", "10:9", "mixes input (X_0) and output (Y_0)")
    _expect(OK + "(assert (or (<= X_0 0.5) (<= Y_0 1)))\n", "10:9", "mixes input", "output")


def test_error_disjunctive_input() -> None:
    _expect(OK + "(assert (or (<= X_0 0.5) (>= X_0 0.7)))\n", "10:9", "disjunctive input regions are not supported yet")


def test_error_input_constraint_not_a_bound() -> None:
    _expect(OK + "(assert (<= (+ X_0 X_1) 1))\n", "10:9", "not a simple bound", "X_0, X_1")
    _expect(OK + "(assert (< X_0 1))\n", "10:9", "strict bound", "X_0")


def test_error_dnf_blowup() -> None:
    ors = " ".join(f"(or (<= Y_0 {k}) (<= Y_1 {k}))" for k in range(14))
    line = f"(assert (and {ors}))"
    # top-level conjunctions are flattened: the error points at the conjunct that crosses the limit
    _expect(BASE + line + "\n", f"9:{line.rindex('(or') + 1}", "too large", str(2**14), str(MAX_CLAUSES))
    # the same blow-up spread over several asserts is caught at the assert that crosses the limit
    many = "".join(f"(assert (or (<= Y_0 {k}) (<= Y_1 {k})))\n" for k in range(14))
    _expect(BASE + many, "22:9", "too large")


def test_error_misc_syntax() -> None:
    _expect(OK + '(set-info :x "abc)\n', "10:14", "unterminated string")
    _expect(OK + "(assert (<= Y_0 (/ 1 0)))\n", "10:22", "division by zero")
    _expect(OK + "(assert ())\n", "10:9", "empty parentheses")
    _expect(OK + "(assert (<= Y_0))\n", "10:10", "needs at least two arguments")
    _expect(OK + "(declare-const Y_2 Bool)\n", "10:20", "unsupported sort 'Bool'")
    _expect(OK + "(assert " + "(and " * 300 + "(<= Y_0 1)" + ")" * 301 + "\n", "10:1004", "nested deeper than 200")


def test_error_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.vnnlib"
    with pytest.raises(VnnlibError, match=re.escape(str(missing)) + ": cannot read"):
        read_vnnlib(missing, 2, 3)
    with pytest.raises(VnnlibError, match="cannot read"):
        read_vnnlib(tmp_path, 2, 3)
    binary = tmp_path / "binary.vnnlib"
    binary.write_bytes(OK.encode() + b"(assert (<= Y_0 \xff))\n")
    with pytest.raises(VnnlibError, match=re.escape(f"{binary}:10:17: not UTF-8")):
        read_vnnlib(binary, 2, 3)


def test_read_vnnlib_names_the_file_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "prop.vnnlib"
    path.write_text(OK + "(assert (<= Y_0 X_9))\n")
    with pytest.raises(VnnlibError, match=re.escape(f"{path}:10:17: unknown variable X_9")):
        read_vnnlib(path, 2, 3)
    path.write_text(OK)
    assert read_vnnlib(path, 2, 3).name == "prop"


_SOUP = st.sampled_from(
    ["(", ")", "(", ")", "assert", "declare-const", "X_0", "X_1", "Y_0", "Y_5", "Real", "<=", ">=", "<", "and", "or",
     "+", "-", "*", "1.5", "-2", "1e", "0", "true", "foo", ";c\n", "\n", '"s"', "|X_0|", "(- 1)"]
)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.one_of(
    st.lists(_SOUP, max_size=40).map(" ".join),
    st.tuples(st.integers(0, len(OK)), st.integers(0, 20)).map(lambda t: OK[: t[0]] + OK[t[0] + t[1]:]),
))
def test_bad_input_never_escapes_as_another_exception(text: str) -> None:
    try:
        prop = _parse(text)
    except VnnlibError as e:
        assert re.match(r"prop\.vnnlib:\d+:\d+: ", str(e)), str(e)
    else:
        assert len(prop.lo) == 2
