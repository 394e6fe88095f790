"""VNN-LIB property reader (the subset VNN-COMP uses), exact to the last digit.

A VNN-LIB file declares inputs ``X_i`` and outputs ``Y_j`` and asserts
constraints; the property is *violated* iff some assignment satisfies all of
them. This reader turns the file into a :class:`~bvverify.properties.spec.Property`:

* the input part must be a box: every conjunct that mentions only ``X``
  variables is a bound on a single ``X_i`` (``(<= X_i c)``, ``(>= c X_i)``,
  ``(= X_i c)``, ...); several bounds on one variable intersect. Disjunctions
  over inputs, general linear input constraints and strict bounds on ``Real``
  inputs are rejected (the region must be a closed box).
* the output part (every conjunct mentioning only ``Y`` variables) is
  converted to disjunctive normal form over :class:`Linear` constraints. The
  expansion is refused beyond :data:`MAX_CLAUSES` clauses.
* constant-only comparisons (``(<= 1 0)``) are decided exactly and folded away;
  nothing else is simplified.

Numbers are read as exact rationals: SMT-LIB decimals and integers, signed
literals (``-1.5``), ``(- 1.5)``, scientific notation (``1e-3``, ``2.5E+2``)
and ``(/ 1 3)``. Terms are ``+``, ``-`` (unary and n-ary), ``*`` with at most
one non-constant factor and ``/`` by a constant. Formulas are ``and``, ``or``,
``<=``, ``>=``, ``<``, ``>``, ``=`` (comparisons may be chained as in SMT-LIB),
``true`` and ``false``. Commands: ``declare-const`` (also ``declare-fun`` with
no arguments) with sort ``Real`` or ``Int``, ``assert``; ``set-logic``,
``set-info``, ``set-option``, ``check-sat``, ``get-model`` and ``exit`` are
accepted and ignored.

For ``Int`` inputs bounds are rounded inward exactly (``X < 2.5`` becomes
``X <= 2``); strict bounds on ``Real`` inputs are an error.

Every problem is a :class:`VnnlibError` whose message starts with
``file:line:column:`` of the offending token.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from os import PathLike
from pathlib import Path

import numpy as np

from bvverify.errors import BvverifyError
from bvverify.properties.spec import Linear, OutputCondition, Property

__all__ = ["MAX_CLAUSES", "VnnlibError", "parse_vnnlib", "read_vnnlib"]

MAX_CLAUSES = 10_000
"""Largest output condition (number of DNF clauses) the reader builds."""

MAX_DEPTH = 200
"""Deepest parenthesis nesting accepted (guards the recursive evaluators)."""

MAX_EXPONENT = 1000
"""Largest decimal exponent accepted in a numeral (``1e1000``)."""

_OVER = ("codes", "dequantized")


class VnnlibError(BvverifyError, ValueError):
    """A VNN-LIB file cannot be read or uses something outside the supported subset."""


# --------------------------------------------------------------------------- s-expressions


@dataclass(slots=True)
class _Tok:
    text: str
    pos: int  # character offset into the text; line and column are computed only for messages
    string: bool = False  # a "string literal" (only meaningful inside set-info)


@dataclass(slots=True)
class _List:
    items: tuple
    pos: int


_LEX = re.compile(
    r"""(?P<comment>;[^\n]*)|(?P<open>\()|(?P<close>\))"""
    r"""|(?P<string>"(?:[^"]|"")*")|(?P<qsym>\|[^|]*\|)|(?P<sym>[^\s();"|]+)|(?P<bad>["|])"""
)


class _Src:
    """Source name and text, plus the error helper every stage uses."""

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.text = text

    def lc(self, pos: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        line = self.text.count("\n", 0, pos) + 1
        return line, pos - (self.text.rfind("\n", 0, pos) + 1) + 1

    def fail(self, pos: int, msg: str) -> VnnlibError:
        line, col = self.lc(pos)
        return VnnlibError(f"{self.source}:{line}:{col}: {msg}")

    def at(self, node: _Tok | _List, msg: str) -> VnnlibError:
        return self.fail(node.pos, msg)


def _read_sexprs(src: _Src) -> list:
    """The top-level s-expressions of the text."""
    top: list = []
    stack: list[tuple[list, int]] = []  # (items, offset) of each open list
    for m in _LEX.finditer(src.text):
        kind, pos = m.lastgroup, m.start()
        if kind == "open":
            if len(stack) >= MAX_DEPTH:
                raise src.fail(pos, f"parentheses nested deeper than {MAX_DEPTH} levels")
            stack.append(([], pos))
        elif kind == "close":
            if not stack:
                raise src.fail(pos, "unbalanced parentheses: ')' without a matching '('")
            items, start = stack.pop()
            (stack[-1][0] if stack else top).append(_List(tuple(items), start))
        elif kind == "bad":
            what = "string literal" if m.group() == '"' else "quoted symbol"
            raise src.fail(pos, f"unterminated {what} (missing closing {m.group()})")
        elif kind != "comment":
            value = m.group()
            tok = _Tok(value[1:-1] if kind == "qsym" else value, pos, string=kind == "string")
            if not stack:
                raise src.at(tok, f"expected a command in parentheses, got {value!r}")
            stack[-1][0].append(tok)
    if stack:
        raise src.fail(stack[-1][1], "unbalanced parentheses: '(' is never closed")
    return top


# --------------------------------------------------------------------------- numbers

_NUM = re.compile(r"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\Z")
_NUMLIKE = re.compile(r"[+-]?[.\d]")


def _number(tok: _Tok, src: _Src) -> Fraction | None:
    """The exact value of a numeral token, None if the token is not number-like."""
    if tok.string or not _NUMLIKE.match(tok.text):
        return None
    m = _NUM.match(tok.text)
    if m is None or not (m.group(2) or m.group(3)):
        raise src.at(tok, f"malformed number {tok.text!r}")
    sign, whole, frac, exp = m.group(1), m.group(2), m.group(3) or "", m.group(4)
    e = int(exp) if exp is not None else 0
    if abs(e) > MAX_EXPONENT:
        raise src.at(tok, f"number {tok.text!r} out of range (exponent beyond ±{MAX_EXPONENT})")
    value = Fraction(int(whole + frac or "0"), 10 ** len(frac))
    value *= Fraction(10) ** e
    return -value if sign == "-" else value


# --------------------------------------------------------------------------- terms and formulas

_VAR = re.compile(r"([XY])_(0|[1-9][0-9]*)\Z")
_Var = tuple  # ("X" | "Y", index)


@dataclass(slots=True)
class _Expr:
    """``sum(coefs[v] * v) + const`` (exact)."""

    coefs: dict
    const: Fraction

    def scaled(self, k: Fraction) -> _Expr:
        return _Expr({v: c * k for v, c in self.coefs.items()}, self.const * k)

    def plus(self, other: _Expr) -> _Expr:
        coefs = dict(self.coefs)
        for v, c in other.coefs.items():
            coefs[v] = coefs.get(v, Fraction(0)) + c
        return _Expr(coefs, self.const + other.const)

    def vars(self) -> list:
        return sorted(v for v, c in self.coefs.items() if c != 0)


@dataclass(slots=True)
class _Cmp:
    """``expr <= 0`` (``< 0`` when strict) with at least one variable."""

    expr: _Expr
    strict: bool
    node: _List

    def kinds(self) -> frozenset:
        return frozenset(k for k, _ in self.expr.vars())


@dataclass(slots=True)
class _Const:
    value: bool
    node: _Tok | _List


@dataclass(slots=True)
class _And:
    children: tuple
    node: _List


@dataclass(slots=True)
class _Or:
    children: tuple
    node: _List


def _kinds(f) -> frozenset:
    if isinstance(f, _Cmp):
        return f.kinds()
    if isinstance(f, (_And, _Or)):
        return frozenset().union(*(_kinds(c) for c in f.children))
    return frozenset()


def _first_var(f, kind: str) -> str:
    """Name of the first variable of ``kind`` in ``f`` (for error messages)."""
    if isinstance(f, _Cmp):
        for k, i in f.expr.vars():
            if k == kind:
                return f"{k}_{i}"
    if isinstance(f, (_And, _Or)):
        for c in f.children:
            name = _first_var(c, kind)
            if name:
                return name
    return ""


def _show(node: _Tok | _List, limit: int = 60) -> str:
    """Short source-like rendering of a node for messages."""

    def render(n) -> str:
        if isinstance(n, _Tok):
            return n.text
        return "(" + " ".join(render(x) for x in n.items) + ")"

    text = render(node)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_COMPARISONS = ("<=", ">=", "<", ">", "=")
_TERM_OPS = ("+", "-", "*", "/")
_IGNORED_COMMANDS = ("set-logic", "set-info", "set-option", "check-sat", "get-model", "exit")


class _Reader:
    def __init__(self, text: str, n_inputs: int, n_outputs: int, over: str, source: str) -> None:
        self.src = _Src(source, text)
        self.n = {"X": n_inputs, "Y": n_outputs}
        self.over = over
        self.declared: dict[_Var, tuple[str, _Tok]] = {}  # var -> (sort, name token)
        self.mentions_output = False
        self.numbers: dict[str, Fraction] = {}  # numeral text -> value (files repeat the same few bounds)

    # ---- variables

    def _var(self, tok: _Tok, declaring: bool = False) -> _Var:
        m = _VAR.match(tok.text)
        if m is None or tok.string:
            if declaring:
                raise self.src.at(tok, f"unsupported variable name {tok.text!r}: only X_<i> (inputs) and "
                                       "Y_<j> (outputs) can be declared")
            raise self.src.at(tok, f"unknown variable {tok.text!r} (variables are X_<i> and Y_<j>)")
        kind, idx = m.group(1), int(m.group(2))
        n = self.n[kind]
        if idx >= n:
            what = "inputs" if kind == "X" else "outputs"
            raise self.src.at(tok, f"unknown variable {tok.text}: index out of range (the model has {n} {what}, "
                                   f"{kind}_0..{kind}_{n - 1})")
        if not declaring and (kind, idx) not in self.declared:
            raise self.src.at(tok, f"undeclared variable {tok.text} (declare it with (declare-const {tok.text} Real) "
                                   "before using it)")
        return kind, idx

    def _declare(self, cmd: _List) -> None:
        items = cmd.items
        head = items[0].text
        if head == "declare-fun":
            if len(items) != 4 or not isinstance(items[2], _List) or items[2].items:
                raise self.src.at(cmd, "expected (declare-fun NAME () Real); functions with arguments are not supported")
            items = (items[0], items[1], items[3])
        if len(items) != 3 or not isinstance(items[1], _Tok) or not isinstance(items[2], _Tok):
            raise self.src.at(cmd, f"expected (declare-const NAME Real), got {_show(cmd)}")
        name, sort = items[1], items[2]
        var = self._var(name, declaring=True)
        if sort.text not in ("Real", "Int") or sort.string:
            raise self.src.at(sort, f"unsupported sort {sort.text!r} for {name.text} (expected Real or Int)")
        if var in self.declared:
            first = self.declared[var][1]
            line = self.src.lc(first.pos)[0]
            raise self.src.at(name, f"variable {name.text} declared twice (first declared on line {line})")
        self.declared[var] = (sort.text, name)

    # ---- terms

    def _term(self, node) -> _Expr:
        if isinstance(node, _Tok):
            if node.text in self.numbers:
                return _Expr({}, self.numbers[node.text])
            value = _number(node, self.src)
            if value is not None:
                self.numbers[node.text] = value
                return _Expr({}, value)
            if node.text in ("true", "false"):
                raise self.src.at(node, f"expected a numeric term, got the formula {node.text!r}")
            var = self._var(node)
            if var[0] == "Y":
                self.mentions_output = True
            return _Expr({var: Fraction(1)}, Fraction(0))
        op, args = self._head(node, "term")
        if op.text not in _TERM_OPS:
            if op.text in _COMPARISONS or op.text in ("and", "or"):
                raise self.src.at(op, f"expected a numeric term, got the formula operator {op.text!r}")
            raise self.src.at(op, f"unsupported operator {op.text!r} in a term (supported: + - * /)")
        if not args:
            raise self.src.at(op, f"operator {op.text!r} needs at least one argument")
        terms = [self._term(a) for a in args]
        if op.text == "+":
            out = terms[0]
            for t in terms[1:]:
                out = out.plus(t)
            return out
        if op.text == "-":
            if len(terms) == 1:
                return terms[0].scaled(Fraction(-1))
            out = terms[0]
            for t in terms[1:]:
                out = out.plus(t.scaled(Fraction(-1)))
            return out
        if op.text == "*":
            out = None
            factor = Fraction(1)
            for t in terms:
                if t.vars():
                    if out is not None:
                        raise self.src.at(node, f"nonlinear term {_show(node)}: a product may have at most one "
                                                "non-constant factor")
                    out = t
                else:
                    factor *= t.const
            return (out or _Expr({}, Fraction(1))).scaled(factor)
        # "/": the first argument divided by each constant divisor in turn
        if len(args) < 2:
            raise self.src.at(op, "operator '/' needs at least two arguments")
        out = terms[0]
        for a, t in zip(args[1:], terms[1:]):
            if t.vars():
                raise self.src.at(a, f"nonlinear term {_show(node)}: division by a non-constant")
            if t.const == 0:
                raise self.src.at(a, f"division by zero in {_show(node)}")
            out = out.scaled(1 / t.const)
        return out

    def _head(self, node: _List, what: str) -> tuple[_Tok, tuple]:
        if not node.items:
            raise self.src.at(node, f"empty parentheses where a {what} was expected")
        op = node.items[0]
        if not isinstance(op, _Tok) or op.string:
            raise self.src.at(op, f"expected an operator name at the start of a {what}, got {_show(op)}")
        if _number(op, self.src) is not None:
            raise self.src.at(op, f"expected an operator name at the start of a {what}, got the number {op.text}")
        return op, node.items[1:]

    # ---- formulas

    def _formula(self, node):
        if isinstance(node, _Tok):
            if node.text in ("true", "false") and not node.string:
                return _Const(node.text == "true", node)
            raise self.src.at(node, f"expected a formula, got {node.text!r}")
        op, args = self._head(node, "formula")
        if op.text in ("and", "or"):
            if not args:
                raise self.src.at(op, f"{op.text!r} needs at least one argument")
            children = tuple(self._formula(a) for a in args)
            return _And(children, node) if op.text == "and" else _Or(children, node)
        if op.text in _COMPARISONS:
            if len(args) < 2:
                raise self.src.at(op, f"comparison {op.text!r} needs at least two arguments")
            terms = [self._term(a) for a in args]
            atoms = []
            for a, b in zip(terms, terms[1:]):  # chained comparisons: a op b op c = (a op b) and (b op c)
                if op.text in ("<=", "<", "="):
                    atoms.append(self._atom(a.plus(b.scaled(Fraction(-1))), op.text == "<", node))
                if op.text in (">=", ">", "="):
                    atoms.append(self._atom(b.plus(a.scaled(Fraction(-1))), op.text == ">", node))
            return atoms[0] if len(atoms) == 1 else _And(tuple(atoms), node)
        if op.text in _TERM_OPS:
            raise self.src.at(op, f"expected a formula, got the arithmetic operator {op.text!r}")
        raise self.src.at(op, f"unsupported operator {op.text!r} (supported: and, or, <=, >=, <, >, =)")

    def _atom(self, expr: _Expr, strict: bool, node: _List):
        variables = expr.vars()
        if not variables:
            return _Const(expr.const < 0 if strict else expr.const <= 0, node)
        kinds = {k for k, _ in variables}
        if len(kinds) > 1:
            x = next(f"X_{i}" for k, i in variables if k == "X")
            y = next(f"Y_{i}" for k, i in variables if k == "Y")
            raise self.src.at(node, f"constraint {_show(node)} mixes input ({x}) and output ({y}) variables; "
                                    "only input bounds and output conditions are supported")
        return _Cmp(_Expr({v: expr.coefs[v] for v in variables}, expr.const), strict, node)

    # ---- driver

    def run(self) -> Property:
        commands = _read_sexprs(self.src)
        eof = len(self.src.text)
        asserts = []
        for cmd in commands:
            if not cmd.items:
                raise self.src.at(cmd, "empty command '()'")
            head = cmd.items[0]
            if not isinstance(head, _Tok) or head.string:
                raise self.src.at(head, f"expected a command name, got {_show(head)}")
            if head.text in ("declare-const", "declare-fun"):
                self._declare(cmd)
            elif head.text == "assert":
                if len(cmd.items) != 2:
                    raise self.src.at(cmd, f"'assert' takes exactly one formula, got {len(cmd.items) - 1}")
                asserts.append(self._formula(cmd.items[1]))
            elif head.text in _IGNORED_COMMANDS:
                continue
            else:
                raise self.src.at(head, f"unknown command {head.text!r} (supported: declare-const, assert)")

        n_in, n_out = self.n["X"], self.n["Y"]
        missing = [i for i in range(n_in) if ("X", i) not in self.declared]
        if missing:
            raise self.src.fail(eof, f"input X_{missing[0]} is never declared ({len(missing)} of the model's {n_in} "
                                      f"inputs X_0..X_{n_in - 1} are missing)")
        if not self.mentions_output:
            raise self.src.fail(eof, f"no output constraint: no assertion mentions an output Y_0..Y_{n_out - 1}")

        conjuncts: list = []
        for f in asserts:
            conjuncts.extend(_conjuncts(f))

        lo: list = [None] * n_in
        hi: list = [None] * n_in
        lo_at: list = [None] * n_in
        hi_at: list = [None] * n_in
        always_false = False
        outputs = []
        for f in conjuncts:
            if isinstance(f, _Const):
                always_false |= not f.value
                continue
            kinds = _kinds(f)
            if kinds == {"Y"}:
                outputs.append(f)
                continue
            if kinds != {"X"}:
                raise self.src.at(f.node, f"constraint {_show(f.node)} mixes input ({_first_var(f, 'X')}) and output "
                                          f"({_first_var(f, 'Y')}) variables; only input bounds and output "
                                          "conditions are supported")
            if isinstance(f, _Or):
                raise self.src.at(f.node, f"disjunctive input regions are not supported yet: {_show(f.node)}")
            self._bound(f, lo, hi, lo_at, hi_at)

        for i in range(n_in):
            name_tok = self.declared[("X", i)][1]
            if lo[i] is None or hi[i] is None:
                side = "lower" if lo[i] is None else "upper"
                if lo[i] is None and hi[i] is None:
                    side = "lower or upper"
                raise self.src.at(name_tok, f"missing bound: input X_{i} has no {side} bound (every input must be "
                                            "bounded from both sides)")
            if lo[i] > hi[i]:
                later = max(lo_at[i], hi_at[i], key=lambda t: t.pos)
                raise self.src.at(later, f"empty input box: X_{i} has lower bound {_dec(lo[i])} > upper bound "
                                         f"{_dec(hi[i])}")
        lo_f = np.empty(n_in, dtype=np.float64)
        hi_f = np.empty(n_in, dtype=np.float64)
        for i in range(n_in):
            for arr, val, at in ((lo_f, lo[i], lo_at[i]), (hi_f, hi[i], hi_at[i])):
                try:
                    arr[i] = float(val)
                except OverflowError:
                    raise self.src.at(at, f"bound {_dec(val)} on X_{i} is outside the float64 range") from None

        clauses = () if always_false else self._dnf_all(outputs)
        name = "" if self.src.source.startswith("<") else Path(self.src.source).stem
        meta = {
            "lo_exact": lo,
            "hi_exact": hi,
            "source": self.src.source,
            "n_inputs": n_in,
            "n_outputs": n_out,
        }
        return Property(lo=lo_f, hi=hi_f, output=OutputCondition(clauses, over=self.over), name=name, meta=meta)

    def _bound(self, f, lo, hi, lo_at, hi_at) -> None:
        atoms = f.children if isinstance(f, _And) else (f,)
        for a in atoms:
            if isinstance(a, _Or):
                raise self.src.at(a.node, f"disjunctive input regions are not supported yet: {_show(a.node)}")
            variables = a.expr.vars()
            if len(variables) != 1:
                names = ", ".join(f"{k}_{i}" for k, i in variables)
                raise self.src.at(a.node, f"input constraint {_show(a.node)} is not a simple bound: it relates "
                                          f"{names}; only X_i <= c / X_i >= c bounds are supported")
            var = variables[0]
            i = var[1]
            sort = self.declared[var][0]
            coef = a.expr.coefs[var]
            value = -a.expr.const / coef  # coef * x + const <= 0  <=>  x <= value (coef > 0) / x >= value (coef < 0)
            upper = coef > 0
            if sort == "Int":
                if upper:
                    value = Fraction(math.ceil(value) - 1 if a.strict else math.floor(value))
                else:
                    value = Fraction(math.floor(value) + 1 if a.strict else math.ceil(value))
            elif a.strict:
                raise self.src.at(a.node, f"strict bound {_show(a.node)} on input X_{i} is not supported: the input "
                                          "region must be a closed box (use <= or >=)")
            if upper:
                if hi[i] is None or value <= hi[i]:
                    hi[i], hi_at[i] = value, a.node
            elif lo[i] is None or value >= lo[i]:
                lo[i], lo_at[i] = value, a.node

    def _dnf_all(self, outputs: list) -> tuple:
        total = 1
        for f in outputs:
            total *= _count(f)
            if total > MAX_CLAUSES:
                raise self.src.at(f.node, f"output condition too large: the output constraints up to here expand to "
                                          f"{total} clauses in disjunctive normal form (limit {MAX_CLAUSES})")
        clauses: list[tuple] = [()]
        for f in outputs:
            clauses = [a + b for a in clauses for b in _dnf(f)]
        seen: dict = {}
        for clause in clauses:
            seen.setdefault(tuple(dict.fromkeys(clause)), None)
        return tuple(seen)


def _dec(q: Fraction) -> str:
    """A rational for messages: exact when short (integer, finite decimal or p/q), else ~17 digits."""
    den, k = q.denominator, 0
    while den % 10 == 0 or den % 2 == 0 or den % 5 == 0:
        den //= 10 if den % 10 == 0 else 2 if den % 2 == 0 else 5
        k += 1
    if den == 1 and k <= 40:  # a finite decimal with exactly k fractional digits (k = max of the 2 and 5 powers)
        digits = str(abs(q.numerator * 10**k // q.denominator)).rjust(k + 1, "0")
        text = ("-" if q < 0 else "") + (digits[: len(digits) - k] + "." + digits[len(digits) - k :] if k else digits)
    else:
        text = str(q)
    if len(text) <= 40:
        return text
    with localcontext() as ctx:
        ctx.prec = 17
        return f"~{Decimal(q.numerator) / Decimal(q.denominator):.16e}"


def _simplify(f):
    """Fold constants exactly and flatten nested and/or; positions are kept."""
    if isinstance(f, (_Cmp, _Const)):
        return f
    is_and = isinstance(f, _And)
    kids = []
    for c in (_simplify(c) for c in f.children):
        if isinstance(c, _Const):
            if c.value != is_and:  # false in an and / true in an or decides the whole node
                return _Const(c.value, f.node)
            continue
        if isinstance(c, type(f)):
            kids.extend(c.children)
        else:
            kids.append(c)
    if not kids:
        return _Const(is_and, f.node)
    if len(kids) == 1:
        return kids[0]
    return type(f)(tuple(kids), f.node)


def _conjuncts(f) -> list:
    """The simplified top-level conjuncts of ``f`` (a false conjunct does not swallow its siblings)."""
    if isinstance(f, _And):
        return [c for child in f.children for c in _conjuncts(child)]
    s = _simplify(f)
    return _conjuncts(s) if isinstance(s, _And) else [s]


def _count(f) -> int:
    if isinstance(f, _Cmp):
        return 1
    counts = [_count(c) for c in f.children]
    return math.prod(counts) if isinstance(f, _And) else sum(counts)


def _linear(a: _Cmp) -> Linear:
    terms = tuple((i, c) for (_, i), c in sorted(a.expr.coefs.items()))
    return Linear(terms=terms, rhs=-a.expr.const, strict=a.strict)


def _dnf(f) -> list[tuple]:
    if isinstance(f, _Cmp):
        return [(_linear(f),)]
    parts = [_dnf(c) for c in f.children]
    if isinstance(f, _Or):
        return [clause for part in parts for clause in part]
    out: list[tuple] = [()]
    for part in parts:
        out = [a + b for a in out for b in part]
    return out


# --------------------------------------------------------------------------- public API


def _check_sizes(n_inputs: int, n_outputs: int, over: str, source: str) -> None:
    for name, n in (("n_inputs", n_inputs), ("n_outputs", n_outputs)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise VnnlibError(f"{source}: {name} must be a positive integer, got {n!r}")
    if over not in _OVER:
        raise VnnlibError(f"{source}: over must be one of {', '.join(_OVER)}, got {over!r}")


def parse_vnnlib(text: str, n_inputs: int, n_outputs: int, over: str = "codes", source: str = "<string>") -> Property:
    """Parse VNN-LIB ``text`` for a model with ``n_inputs`` inputs and ``n_outputs`` outputs.

    Returns a :class:`Property` whose ``lo``/``hi`` are float64 arrays of length
    ``n_inputs`` (reshape them to the model's input shape) and whose exact
    bounds are in ``meta["lo_exact"]`` / ``meta["hi_exact"]`` (lists of
    ``Fraction``). ``over`` is what ``Y_j`` means (``"codes"`` or
    ``"dequantized"``). ``source`` names the text in error messages."""
    _check_sizes(n_inputs, n_outputs, over, source)
    return _Reader(text, int(n_inputs), int(n_outputs), over, source).run()


def read_vnnlib(path: str | PathLike, n_inputs: int, n_outputs: int, over: str = "codes") -> Property:
    """Read a VNN-LIB file; see :func:`parse_vnnlib`."""
    source = str(path)
    _check_sizes(n_inputs, n_outputs, over, source)
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise VnnlibError(f"{source}: cannot read VNN-LIB file: {e.strerror or e}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise VnnlibError(f"{source}:{line}:{col}: not UTF-8 text (byte 0x{data[e.start]:02x})") from None
    return parse_vnnlib(text, n_inputs, n_outputs, over=over, source=source)
