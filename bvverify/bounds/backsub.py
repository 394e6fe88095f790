"""Back-substitution of linear relaxations down to the input box, sound in float64.

Each tensor carries a relaxation of one of a few forms (an exact affine map, a
rearrangement, per-element lines in one input element, lines over a few input elements,
or only its box). ``SymbolicBounds.lower`` bounds a linear function of one tensor by
replacing it, tensor by tensor in reverse evaluation order, with its relaxation's
lower side, down to the input box or a fresh symbol.

Back-substitution runs in float64. Each step adds to a per-row slack an upper bound
of its rounding error (coefficient errors weighted by the largest magnitude the
tensor can take), and concretised bounds move outward by that slack, so the results
hold for the exact integer semantics.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bvverify.ir.ranges import Interval

_U = 2.0**-53  # unit roundoff of float64


@dataclass(frozen=True)
class Affine:
    """``y = sum_k mats[k] @ x_k + bias`` exactly (flat tensors): Dense / Conv2d that cannot wrap."""

    inputs: tuple[str, ...]
    mats: tuple[np.ndarray, ...]
    bias: np.ndarray


@dataclass(frozen=True)
class Select:
    """``x_k == y[takes[k]]`` (flat): y only rearranges its inputs (Reshape, Concat)."""

    inputs: tuple[str, ...]
    takes: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class Pointwise:
    """``a_lo*x[src_lo] + b_lo <= y <= a_hi*x[src_hi] + b_hi`` per element of y (flat);
    ``src None``: y's own position (Requantize, Clamp); else a tap (MaxPool2d)."""

    input: str
    a_lo: np.ndarray
    b_lo: np.ndarray
    a_hi: np.ndarray
    b_hi: np.ndarray
    src_lo: np.ndarray | None = None
    src_hi: np.ndarray | None = None


@dataclass(frozen=True)
class Taps:
    """``sum_j c_lo[e, j] * x_j[src[e, j]] + b_lo[e] <= y[e] <= (the same with c_hi, b_hi)`` per
    element e of y (flat), ``x_j = inputs[j]`` (slots may name one tensor twice): a line over a few
    input elements (AvgPool2d: the window, one slot per kernel offset; Add: both operands).
    ``c_lo == c_hi`` and ``b_lo == b_hi`` make it exact."""

    inputs: tuple[str, ...]
    src: np.ndarray  # int64 [n, slots]
    c_lo: np.ndarray  # [n, slots]
    b_lo: np.ndarray
    c_hi: np.ndarray
    b_hi: np.ndarray


@dataclass(frozen=True)
class Box:
    """``lo <= y <= hi`` and nothing more: back-substitution stops here."""

    lo: np.ndarray
    hi: np.ndarray


Relax = Affine | Select | Pointwise | Taps | Box


@dataclass
class SymbolicBounds:
    """Bounds and relaxations of every tensor of one network over one input box."""

    order: tuple[str, ...]  # "input", then every node in evaluation order
    bounds: dict[str, Interval] = field(default_factory=dict)
    relax: dict[str, Relax] = field(default_factory=dict)
    box: dict[str, Box] = field(default_factory=dict)  # the bounds as flat floats
    mag: dict[str, np.ndarray] = field(default_factory=dict)  # largest |value| per flat element

    def set(self, name: str, bounds: Interval, relax: Relax) -> None:
        self.bounds[name] = bounds
        self.relax[name] = relax
        self.box[name] = fresh_symbol(bounds)
        self.mag[name] = np.maximum(np.abs(self.box[name].lo), np.abs(self.box[name].hi))

    def lower(self, name: str, lam: np.ndarray, slack: np.ndarray | float = 0.0,
              keep: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Sound lower bounds of ``lam @ flat(name)`` (rows of lam) by back-substitution; ``slack``
        is error the caller already made. Wherever one tensor carries all the coefficients,
        its own bounds give a bound too (they may be tighter than the input box's): the best counts.
        ``keep`` receives the rows' coefficients on the flat input (``keep["input"]``): where the
        bound loses most to the box's width, which is where a branch-and-bound splits."""
        terms = {name: np.asarray(lam, dtype=np.float64)}
        const = np.zeros(lam.shape[0])
        slack = np.zeros(lam.shape[0]) + slack
        best = np.full(lam.shape[0], -np.inf)
        for t in reversed(self.order[: self.order.index(name) + 1]):
            coef = terms.pop(t, None)
            if coef is None:
                continue
            if keep is not None and t == "input":
                keep["input"] = coef
            if not terms and t in self.box:
                dc, ds = _substitute(self.box[t], coef, {}, self.mag)
                best = np.maximum(best, _sound(const + dc, slack + ds))
            dc, ds = _substitute(self.relax[t], coef, terms, self.mag)
            const = const + dc
            slack = slack + ds + _U * np.abs(const)
        return np.maximum(best, _sound(const, slack))  # every chain ends at the input box or a fresh symbol



def _sound(const: np.ndarray, slack: np.ndarray) -> np.ndarray:
    """A value below ``const - slack`` however the subtraction rounds, and below by a hair more."""
    return const - (1.01 * slack + 4 * _U * np.abs(const)) - 1e-9


def _gamma(n: int) -> float:
    """Twice the classic bound n*u/(1-n*u) on the relative error of an n-term dot product."""
    return (n + 4) * 2.0**-52


def _substitute(rel: Relax, lam: np.ndarray, terms: dict[str, np.ndarray],
                mag: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Replace ``lam @ y`` by the relaxation's lower side; the new coefficients go into
    ``terms``; returns the constant part and an upper bound of the rounding error."""
    m, n = lam.shape
    if isinstance(rel, Box):
        dc = np.maximum(lam, 0) @ rel.lo + np.minimum(lam, 0) @ rel.hi
        return dc, _gamma(n) * (np.abs(lam) @ np.maximum(np.abs(rel.lo), np.abs(rel.hi)))
    if isinstance(rel, Select):
        ds = np.zeros(m)
        for k, take in zip(rel.inputs, rel.takes):
            ds += _accumulate(terms, k, lam[:, take], mag)
        return np.zeros(m), ds
    if isinstance(rel, Affine):
        dc = lam @ rel.bias
        ds = _gamma(n) * (np.abs(lam) @ np.abs(rel.bias))
        for k, a in zip(rel.inputs, rel.mats):
            ds += _gamma(n) * (np.abs(lam) @ (np.abs(a) @ mag[k])) + _accumulate(terms, k, lam @ a, mag)
        return dc, ds
    if isinstance(rel, Taps):
        return _substitute_taps(rel, lam, terms, mag)
    pos, neg = np.maximum(lam, 0), np.minimum(lam, 0)
    c_lo, c_hi = pos * rel.a_lo, neg * rel.a_hi
    dc = pos @ rel.b_lo + neg @ rel.b_hi
    x_mag = mag[rel.input]
    ds = _gamma(n) * (np.abs(lam) @ np.maximum(np.abs(rel.b_lo), np.abs(rel.b_hi))
                      + np.abs(c_lo) @ _gather(x_mag, rel.src_lo) + np.abs(c_hi) @ _gather(x_mag, rel.src_hi))
    coef = _scatter(c_lo, rel.src_lo, x_mag.size) + _scatter(c_hi, rel.src_hi, x_mag.size)
    return dc, ds + _accumulate(terms, rel.input, coef, mag)


def _substitute_taps(rel: Taps, lam: np.ndarray, terms: dict[str, np.ndarray],
                     mag: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``_substitute`` for :class:`Taps`. A coefficient of input element i collects at most
    ``n * slots`` rounded products ``lam[r, e] * c[e, j]`` (one per (e, j) reading i): its error
    is within gamma(n * slots) times their magnitudes, weighted by ``|x_i|``."""
    m, n = lam.shape
    pos, neg = np.maximum(lam, 0), np.minimum(lam, 0)
    dc = pos @ rel.b_lo + neg @ rel.b_hi
    ds = _gamma(n) * (np.abs(lam) @ np.maximum(np.abs(rel.b_lo), np.abs(rel.b_hi)))
    w_lo, w_hi = np.zeros(n), np.zeros(n)  # sum_j |c[e, j]| * max |x_j[src[e, j]]|
    coefs: dict[str, np.ndarray] = {}
    for j, k in enumerate(rel.inputs):
        cl, ch, src = rel.c_lo[:, j], rel.c_hi[:, j], rel.src[:, j]
        used = np.nonzero((cl != 0) | (ch != 0))[0]
        if not used.size:
            continue
        x_mag = mag[k][src[used]]
        w_lo[used] += np.abs(cl[used]) * x_mag
        w_hi[used] += np.abs(ch[used]) * x_mag
        coef = coefs.setdefault(k, np.zeros((m, mag[k].size)))
        vals = pos[:, used] * cl[used] + neg[:, used] * ch[used]  # one side per entry: the sum is exact
        where = src[used]
        if np.unique(where).size == where.size:
            coef[:, where] += vals
        else:
            np.add.at(coef, (slice(None), where), vals)
    ds = ds + _gamma(n * len(rel.inputs)) * (pos @ w_lo - neg @ w_hi)
    for k, coef in coefs.items():
        ds = ds + _accumulate(terms, k, coef, mag)
    return dc, ds


def _accumulate(terms: dict[str, np.ndarray], name: str, coef: np.ndarray, mag: dict[str, np.ndarray]) -> np.ndarray:
    """Add coefficients of tensor ``name`` (a tensor read by several nodes collects several)."""
    if name not in terms:
        terms[name] = coef
        return np.zeros(coef.shape[0])
    terms[name] = terms[name] + coef
    return _U * (np.abs(terms[name]) @ mag[name])


def _gather(v: np.ndarray, src: np.ndarray | None) -> np.ndarray:
    return v if src is None else v[src]


def _scatter(coef: np.ndarray, src: np.ndarray | None, n_in: int) -> np.ndarray:
    if src is None:
        return coef
    onehot = np.zeros((len(src), n_in))
    onehot[np.arange(len(src)), src] = 1.0
    return coef @ onehot


def fresh_symbol(b: Interval) -> Box:
    """A tensor known only by its interval (flat floats): back-substitution stops at it."""
    return Box(b[0].astype(np.float64).ravel(), b[1].astype(np.float64).ravel())


__all__ = ["Affine", "Box", "Pointwise", "Relax", "Select", "SymbolicBounds", "Taps", "fresh_symbol"]
