"""VNN-LIB formulas as exact linear atoms, and their normal forms.

A comparison becomes ``expr <= 0`` (or ``< 0``) over exact rationals; ``and``/``or``
trees are simplified (constants folded, nesting flattened) and expanded to disjunctive
normal form over :class:`~bvverify.properties.spec.Linear` constraints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from bvverify.properties.spec import Linear
from bvverify.properties.vnnlib_syntax import SList, Tok


@dataclass(slots=True)
class Expr:
    """``sum(coefs[v] * v) + const`` (exact)."""

    coefs: dict
    const: Fraction

    def scaled(self, k: Fraction) -> Expr:
        return Expr({v: c * k for v, c in self.coefs.items()}, self.const * k)

    def plus(self, other: Expr) -> Expr:
        coefs = dict(self.coefs)
        for v, c in other.coefs.items():
            coefs[v] = coefs.get(v, Fraction(0)) + c
        return Expr(coefs, self.const + other.const)

    def vars(self) -> list:
        return sorted(v for v, c in self.coefs.items() if c != 0)


@dataclass(slots=True)
class Cmp:
    """``expr <= 0`` (``< 0`` when strict) with at least one variable."""

    expr: Expr
    strict: bool
    node: SList

    def kinds(self) -> frozenset:
        return frozenset(k for k, _ in self.expr.vars())


@dataclass(slots=True)
class Const:
    value: bool
    node: Tok | SList


@dataclass(slots=True)
class And:
    children: tuple
    node: SList


@dataclass(slots=True)
class Or:
    children: tuple
    node: SList


def atom(expr: Expr, strict: bool, node):
    """``expr <= 0`` (``< 0`` when strict) as a formula: a constant comparison is decided exactly
    (:class:`Const`), anything else is a :class:`Cmp` over its nonzero terms. The one rule both
    readers (VNN-LIB 1 and 2.0) use."""
    variables = expr.vars()
    if not variables:
        return Const(expr.const < 0 if strict else expr.const <= 0, node)
    return Cmp(Expr({v: expr.coefs[v] for v in variables}, expr.const), strict, node)


def var_kinds(f) -> frozenset:
    if isinstance(f, Cmp):
        return f.kinds()
    if isinstance(f, (And, Or)):
        return frozenset().union(*(var_kinds(c) for c in f.children))
    return frozenset()


def first_var(f, kind: str) -> str:
    """Name of the first variable of ``kind`` in ``f`` (for error messages)."""
    if isinstance(f, Cmp):
        for k, i in f.expr.vars():
            if k == kind:
                return f"{k}_{i}"
    if isinstance(f, (And, Or)):
        for c in f.children:
            name = first_var(c, kind)
            if name:
                return name
    return ""


def simplify(f):
    """Fold constants exactly and flatten nested and/or; positions are kept."""
    if isinstance(f, (Cmp, Const)):
        return f
    is_and = isinstance(f, And)
    kids = []
    for c in (simplify(c) for c in f.children):
        if isinstance(c, Const):
            if c.value != is_and:  # false in an and / true in an or decides the whole node
                return Const(c.value, f.node)
            continue
        if isinstance(c, type(f)):
            kids.extend(c.children)
        else:
            kids.append(c)
    if not kids:
        return Const(is_and, f.node)
    if len(kids) == 1:
        return kids[0]
    return type(f)(tuple(kids), f.node)


def top_conjuncts(f) -> list:
    """The simplified top-level conjuncts of ``f`` (a false conjunct does not swallow its siblings)."""
    if isinstance(f, And):
        return [c for child in f.children for c in top_conjuncts(child)]
    s = simplify(f)
    return top_conjuncts(s) if isinstance(s, And) else [s]


def clause_count(f) -> int:
    if isinstance(f, Cmp):
        return 1
    counts = [clause_count(c) for c in f.children]
    return math.prod(counts) if isinstance(f, And) else sum(counts)


def to_linear(a: Cmp) -> Linear:
    terms = tuple((i, c) for (_, i), c in sorted(a.expr.coefs.items()))
    return Linear(terms=terms, rhs=-a.expr.const, strict=a.strict)


def dnf(f) -> list[tuple]:
    if isinstance(f, Cmp):
        return [(to_linear(f),)]
    parts = [dnf(c) for c in f.children]
    if isinstance(f, Or):
        return [clause for part in parts for clause in part]
    out: list[tuple] = [()]
    for part in parts:
        out = [a + b for a in out for b in part]
    return out


__all__ = ["And", "Cmp", "Const", "Expr", "Or", "atom", "clause_count", "dnf", "first_var", "simplify",
           "to_linear", "top_conjuncts", "var_kinds"]
