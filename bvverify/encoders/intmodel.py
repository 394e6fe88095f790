"""A solver-neutral integer linear model: bounded integer variables, linear
constraints with integer coefficients, optionally enforced by a binary literal.

The ILP encoder writes this; each back-end (z3, HiGHS, CP-SAT) translates it.
Keeping the model exact and integral here is what makes every back-end's
answer checkable: coefficients are Python ints, bounds are exact, and a
conditional constraint keeps its literal so that CP-SAT and z3 can use it
natively while a MILP back-end turns it into big-M with ``M`` computed exactly
from the variable bounds (:func:`big_m_rows`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bvverify.errors import InternalError


@dataclass
class Lin:
    """``sum(coef * var) + const`` over model variable indices, exact integers."""

    terms: dict[int, int] = field(default_factory=dict)
    const: int = 0

    @staticmethod
    def of(value: int) -> Lin:
        return Lin({}, int(value))

    def is_const(self) -> bool:
        return not self.terms

    def __add__(self, other: Lin | int) -> Lin:
        if isinstance(other, int):
            return Lin(dict(self.terms), self.const + other)
        terms = dict(self.terms)
        for v, c in other.terms.items():
            s = terms.get(v, 0) + c
            if s:
                terms[v] = s
            else:
                terms.pop(v, None)
        return Lin(terms, self.const + other.const)

    def __sub__(self, other: Lin | int) -> Lin:
        return self + (-1) * other if isinstance(other, Lin) else self + (-other)

    def __rmul__(self, k: int) -> Lin:
        k = int(k)
        if k == 0:
            return Lin()
        return Lin({v: k * c for v, c in self.terms.items()}, k * self.const)

    @staticmethod
    def total(parts: Iterable[tuple[int, Lin]], const: int = 0) -> Lin:
        """``sum(k * lin) + const`` without building intermediate copies."""
        terms: dict[int, int] = {}
        for k, lin in parts:
            if not k:
                continue
            const += k * lin.const
            for v, c in lin.terms.items():
                terms[v] = terms.get(v, 0) + k * c
        return Lin({v: c for v, c in terms.items() if c}, const)


@dataclass
class Constraint:
    """``lo <= lin <= hi`` (either side may be None), active only when the binary
    variable ``when[0]`` equals ``when[1]`` if ``when`` is given."""

    lin: Lin
    lo: int | None
    hi: int | None
    when: tuple[int, int] | None = None


@dataclass
class IntModel:
    lo: list[int] = field(default_factory=list)
    hi: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    # A guide, not a constraint: a linear form whose small values are where solutions are likeliest
    # (the clause being solved). A back-end that searches by LP bounds minimizes it; the others ignore it.
    objective: Lin | None = None

    @property
    def n_vars(self) -> int:
        return len(self.lo)

    def new_var(self, lo: int, hi: int, name: str) -> Lin:
        if lo > hi:
            raise InternalError(f"empty domain [{lo}, {hi}] for {name}")
        self.lo.append(int(lo))
        self.hi.append(int(hi))
        self.names.append(name)
        return Lin({len(self.lo) - 1: 1})

    def new_bool(self, name: str) -> Lin:
        return self.new_var(0, 1, name)

    def bounds(self, lin: Lin) -> tuple[int, int]:
        """Exact range of ``lin`` over the variable domains."""
        a = b = lin.const
        for v, c in lin.terms.items():
            if c >= 0:
                a += c * self.lo[v]
                b += c * self.hi[v]
            else:
                a += c * self.hi[v]
                b += c * self.lo[v]
        return a, b

    def add(self, lin: Lin, lo: int | None = None, hi: int | None = None, when: tuple[int, int] | None = None) -> None:
        """``lo <= lin <= hi`` (when the literal holds). Redundant sides are dropped."""
        a, b = self.bounds(lin)
        lo = None if lo is None or a >= lo else int(lo)
        hi = None if hi is None or b <= hi else int(hi)
        if lo is None and hi is None:
            return
        if lin.is_const() and when is None:
            raise InternalError("an infeasible constant constraint")
        self.constraints.append(Constraint(lin, lo, hi, when))

    def eq(self, a: Lin, b: Lin) -> None:
        d = a - b
        self.add(d, 0, 0)

    def var_for(self, lin: Lin, lo: int, hi: int, name: str) -> Lin:
        """``lin`` as a single variable (a fresh one tied by an equality unless it is one
        already). ``[lo, hi]`` must be sound bounds of ``lin``'s exact value."""
        if lin.is_const():
            return lin
        if len(lin.terms) == 1 and lin.const == 0 and next(iter(lin.terms.values())) == 1:
            v = next(iter(lin.terms))
            self.lo[v], self.hi[v] = max(self.lo[v], lo), min(self.hi[v], hi)
            return lin
        x = self.new_var(lo, hi, name)
        self.eq(x, lin)
        return x

    def copy(self) -> IntModel:
        """An independent model with the same variables and constraints (constraints are
        never mutated, so they are shared)."""
        return IntModel(list(self.lo), list(self.hi), list(self.names), list(self.constraints), self.objective)

    def stats(self) -> dict[str, int]:
        binaries = sum(1 for a, b in zip(self.lo, self.hi) if a == 0 and b == 1)
        return {"variables": self.n_vars, "binaries": binaries, "constraints": len(self.constraints),
                "nonzeros": sum(len(c.lin.terms) for c in self.constraints)}


def big_m_rows(model: IntModel) -> list[tuple[dict[int, int], int | None, int | None]]:
    """Every constraint as plain rows ``lo <= sum(c*x) <= hi`` with conditional ones
    turned into big-M form, ``M`` exact from the variable bounds (all integers)."""
    rows = []
    for con in model.constraints:
        terms = dict(con.lin.terms)
        k = con.lin.const
        lo = None if con.lo is None else con.lo - k
        hi = None if con.hi is None else con.hi - k
        if con.when is None:
            rows.append((terms, lo, hi))
            continue
        a, b = model.bounds(Lin(terms))
        z, val = con.when
        # active when z == val; with t = z (val 1) or 1 - z (val 0):  expr <= hi + (b - hi) * (1 - t)
        if hi is not None:
            m = b - hi
            r = dict(terms)
            if val == 1:  # expr + m*z <= hi + m
                r[z] = r.get(z, 0) + m
                rows.append((r, None, hi + m))
            else:  # expr - m*z <= hi
                r[z] = r.get(z, 0) - m
                rows.append((r, None, hi))
        if lo is not None:
            m = lo - a
            r = dict(terms)
            if val == 1:  # expr - m*z >= lo - m
                r[z] = r.get(z, 0) - m
                rows.append((r, lo - m, None))
            else:  # expr + m*z >= lo
                r[z] = r.get(z, 0) + m
                rows.append((r, lo, None))
    return rows


__all__ = ["Constraint", "IntModel", "Lin", "big_m_rows"]
