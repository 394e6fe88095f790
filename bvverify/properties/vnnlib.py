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

This module is the reader (commands, variables, terms, the input box and the output
condition); tokens and exact numerals are in ``vnnlib_syntax``, formulas and their
normal forms in ``vnnlib_logic``.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from os import PathLike
from pathlib import Path

import numpy as np

from bvverify.properties.spec import OutputCondition, Property
from bvverify.properties.vnnlib_logic import (
    And,
    Const,
    Expr,
    Or,
    atom,
    clause_count,
    dnf,
    first_var,
    top_conjuncts,
    var_kinds,
)
from bvverify.properties.vnnlib_syntax import (
    MAX_DEPTH,
    MAX_EXPONENT,
    SList,
    Source,
    Tok,
    VnnlibError,
    dec,
    number,
    read_sexprs,
    show,
)

__all__ = ["MAX_CLAUSES", "MAX_DEPTH", "MAX_EXPONENT", "VnnlibError", "parse_vnnlib", "read_vnnlib"]

MAX_CLAUSES = 10_000
"""Largest output condition (number of DNF clauses) the reader builds."""

_OVER = ("codes", "dequantized")

_VAR = re.compile(r"([XY])_(0|[1-9][0-9]*)\Z")
_Var = tuple  # ("X" | "Y", index)

_COMPARISONS = ("<=", ">=", "<", ">", "=")
_TERM_OPS = ("+", "-", "*", "/")
_IGNORED_COMMANDS = ("set-logic", "set-info", "set-option", "check-sat", "get-model", "exit")


class _Reader:
    def __init__(self, text: str, n_inputs: int, n_outputs: int, over: str, source: str,
                 input_only: bool = False) -> None:
        self.src = Source(source, text)
        self.input_only = input_only  # the caller uses the input box alone (overflow, equiv)
        self.n = {"X": n_inputs, "Y": n_outputs}
        self.over = over
        self.declared: dict[_Var, tuple[str, Tok]] = {}  # var -> (sort, name token)
        self.mentions_output = False
        self.numbers: dict[str, Fraction] = {}  # numeral text -> value (files repeat the same few bounds)

    # ---- variables

    def _var(self, tok: Tok, declaring: bool = False) -> _Var:
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

    def _declare(self, cmd: SList) -> None:
        items = cmd.items
        head = items[0].text
        if head == "declare-fun":
            if len(items) != 4 or not isinstance(items[2], SList) or items[2].items:
                raise self.src.at(cmd, "expected (declare-fun NAME () Real); functions with arguments are not supported")
            items = (items[0], items[1], items[3])
        if len(items) != 3 or not isinstance(items[1], Tok) or not isinstance(items[2], Tok):
            raise self.src.at(cmd, f"expected (declare-const NAME Real), got {show(cmd)}")
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

    def _term(self, node) -> Expr:
        if isinstance(node, Tok):
            if node.text in self.numbers:
                return Expr({}, self.numbers[node.text])
            value = number(node, self.src)
            if value is not None:
                self.numbers[node.text] = value
                return Expr({}, value)
            if node.text in ("true", "false"):
                raise self.src.at(node, f"expected a numeric term, got the formula {node.text!r}")
            var = self._var(node)
            if var[0] == "Y":
                self.mentions_output = True
            return Expr({var: Fraction(1)}, Fraction(0))
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
                        raise self.src.at(node, f"nonlinear term {show(node)}: a product may have at most one "
                                                "non-constant factor")
                    out = t
                else:
                    factor *= t.const
            return (out or Expr({}, Fraction(1))).scaled(factor)
        # "/": the first argument divided by each constant divisor in turn
        if len(args) < 2:
            raise self.src.at(op, "operator '/' needs at least two arguments")
        out = terms[0]
        for a, t in zip(args[1:], terms[1:]):
            if t.vars():
                raise self.src.at(a, f"nonlinear term {show(node)}: division by a non-constant")
            if t.const == 0:
                raise self.src.at(a, f"division by zero in {show(node)}")
            out = out.scaled(1 / t.const)
        return out

    def _head(self, node: SList, what: str) -> tuple[Tok, tuple]:
        if not node.items:
            raise self.src.at(node, f"empty parentheses where a {what} was expected")
        op = node.items[0]
        if not isinstance(op, Tok) or op.string:
            raise self.src.at(op, f"expected an operator name at the start of a {what}, got {show(op)}")
        if number(op, self.src) is not None:
            raise self.src.at(op, f"expected an operator name at the start of a {what}, got the number {op.text}")
        return op, node.items[1:]

    # ---- formulas

    def _formula(self, node):
        if isinstance(node, Tok):
            if node.text in ("true", "false") and not node.string:
                return Const(node.text == "true", node)
            raise self.src.at(node, f"expected a formula, got {node.text!r}")
        op, args = self._head(node, "formula")
        if op.text in ("and", "or"):
            if not args:
                raise self.src.at(op, f"{op.text!r} needs at least one argument")
            children = tuple(self._formula(a) for a in args)
            return And(children, node) if op.text == "and" else Or(children, node)
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
            return atoms[0] if len(atoms) == 1 else And(tuple(atoms), node)
        if op.text in _TERM_OPS:
            raise self.src.at(op, f"expected a formula, got the arithmetic operator {op.text!r}")
        raise self.src.at(op, f"unsupported operator {op.text!r} (supported: and, or, <=, >=, <, >, =)")

    def _atom(self, expr: Expr, strict: bool, node: SList):
        variables = expr.vars()
        kinds = {k for k, _ in variables}
        if len(kinds) > 1:
            x = next(f"X_{i}" for k, i in variables if k == "X")
            y = next(f"Y_{i}" for k, i in variables if k == "Y")
            raise self.src.at(node, f"constraint {show(node)} mixes input ({x}) and output ({y}) variables; "
                                    "only input bounds and output conditions are supported")
        return atom(expr, strict, node)

    # ---- driver

    def run(self) -> Property:
        commands = read_sexprs(self.src)
        eof = len(self.src.text)
        asserts = []
        for cmd in commands:
            if not cmd.items:
                raise self.src.at(cmd, "empty command '()'")
            head = cmd.items[0]
            if not isinstance(head, Tok) or head.string:
                raise self.src.at(head, f"expected a command name, got {show(head)}")
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
        if not self.mentions_output and not self.input_only:
            raise self.src.fail(eof, f"no output constraint: no assertion mentions an output Y_0..Y_{n_out - 1}")

        conjuncts: list = []
        for f in asserts:
            conjuncts.extend(top_conjuncts(f))

        lo: list = [None] * n_in
        hi: list = [None] * n_in
        lo_at: list = [None] * n_in
        hi_at: list = [None] * n_in
        always_false = False
        outputs = []
        for f in conjuncts:
            if isinstance(f, Const):
                always_false |= not f.value
                continue
            kinds = var_kinds(f)
            if kinds == {"Y"}:
                outputs.append(f)
                continue
            if kinds != {"X"}:
                raise self.src.at(f.node, f"constraint {show(f.node)} mixes input ({first_var(f, 'X')}) and output "
                                          f"({first_var(f, 'Y')}) variables; only input bounds and output "
                                          "conditions are supported")
            if isinstance(f, Or):
                raise self.src.at(f.node, f"disjunctive input regions are not supported yet: {show(f.node)}")
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
                raise self.src.at(later, f"empty input box: X_{i} has lower bound {dec(lo[i])} > upper bound "
                                         f"{dec(hi[i])}")
        lo_f = np.empty(n_in, dtype=np.float64)
        hi_f = np.empty(n_in, dtype=np.float64)
        for i in range(n_in):
            for arr, val, at in ((lo_f, lo[i], lo_at[i]), (hi_f, hi[i], hi_at[i])):
                try:
                    arr[i] = float(val)
                except OverflowError:
                    raise self.src.at(at, f"bound {dec(val)} on X_{i} is outside the float64 range") from None

        clauses = () if always_false or (self.input_only and not outputs) else self._dnf_all(outputs)
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
        atoms = f.children if isinstance(f, And) else (f,)
        for a in atoms:
            if isinstance(a, Or):
                raise self.src.at(a.node, f"disjunctive input regions are not supported yet: {show(a.node)}")
            variables = a.expr.vars()
            if len(variables) != 1:
                names = ", ".join(f"{k}_{i}" for k, i in variables)
                raise self.src.at(a.node, f"input constraint {show(a.node)} is not a simple bound: it relates "
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
                raise self.src.at(a.node, f"strict bound {show(a.node)} on input X_{i} is not supported: the input "
                                          "region must be a closed box (use <= or >=)")
            if upper:
                if hi[i] is None or value <= hi[i]:
                    hi[i], hi_at[i] = value, a.node
            elif lo[i] is None or value >= lo[i]:
                lo[i], lo_at[i] = value, a.node

    def _dnf_all(self, outputs: list) -> tuple:
        total = 1
        for f in outputs:
            total *= clause_count(f)
            if total > MAX_CLAUSES:
                raise self.src.at(f.node, f"output condition too large: the output constraints up to here expand to "
                                          f"{total} clauses in disjunctive normal form (limit {MAX_CLAUSES})")
        clauses: list[tuple] = [()]
        for f in outputs:
            clauses = [a + b for a in clauses for b in dnf(f)]
        seen: dict = {}
        for clause in clauses:
            seen.setdefault(tuple(dict.fromkeys(clause)), None)
        return tuple(seen)


# --------------------------------------------------------------------------- public API


def _check_sizes(n_inputs: int, n_outputs: int, over: str, source: str) -> None:
    for name, n in (("n_inputs", n_inputs), ("n_outputs", n_outputs)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise VnnlibError(f"{source}: {name} must be a positive integer, got {n!r}")
    if over not in _OVER:
        raise VnnlibError(f"{source}: over must be one of {', '.join(_OVER)}, got {over!r}")


def parse_vnnlib(text: str, n_inputs: int, n_outputs: int, over: str = "codes", source: str = "<string>",
                 input_only: bool = False) -> Property:
    """Parse VNN-LIB ``text`` for a model with ``n_inputs`` inputs and ``n_outputs`` outputs.

    Returns a :class:`Property` whose ``lo``/``hi`` are float64 arrays of length
    ``n_inputs`` (reshape them to the model's input shape) and whose exact
    bounds are in ``meta["lo_exact"]`` / ``meta["hi_exact"]`` (lists of
    ``Fraction``). ``over`` is what ``Y_j`` means (``"codes"`` or
    ``"dequantized"``). ``source`` names the text in error messages. With ``input_only`` the
    caller needs the input box alone: a file without output constraints is accepted (its
    output condition is then empty: never violated)."""
    _check_sizes(n_inputs, n_outputs, over, source)
    return _Reader(text, int(n_inputs), int(n_outputs), over, source, input_only).run()


def read_vnnlib(path: str | PathLike, n_inputs: int, n_outputs: int, over: str = "codes",
                input_only: bool = False) -> Property:
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
    return parse_vnnlib(text, n_inputs, n_outputs, over=over, source=source, input_only=input_only)
