"""Clause margins of an output condition: how far an output is from violating the property.

An ``OutputCondition`` is an OR of clauses, each an AND of atoms ``sum c*Y_j <= rhs`` (``<`` when
strict). The margin of an atom is ``lhs - rhs'`` and of a clause the max over its atoms, so a
clause holds where its margin is ``<= 0``. Over codes ``rhs'`` is the exact integer-lattice bound
(``lhs`` takes values in ``Z / L``, ``L`` the common denominator of the coefficients, so a strict
``lhs < rhs`` is ``lhs <= (ceil(L rhs) - 1) / L``) and every atom is evaluated on integers:
"margin <= 0" is then exactly "the clause holds". Over dequantized outputs the margins are float64
approximations. Either way margins only guide the search; a violation is accepted only by the
exact ``prop.output.holds`` (Fraction arithmetic) on the interpreter's output.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch

from bvverify.ir.graph import QNetwork
from bvverify.properties.spec import OutputCondition, Property

TOLERANCE = 1e-9  # relative slack under which a float margin is re-judged exactly


@dataclass(frozen=True)
class Margins:
    """An output condition compiled to matrices: atom ``a`` is ``(coef[a] @ Y - rhs[a]) / scale[a] <= 0``
    with integer ``coef`` and ``rhs`` over codes, and ``clause_of[a]`` its clause."""

    coef: np.ndarray  # [atoms, outputs] float64
    rhs: np.ndarray  # [atoms]
    scale: np.ndarray  # [atoms]: divide to return to Y units
    clause_of: np.ndarray  # [atoms] int64
    n_clauses: int
    dequantized: bool  # Y = net.dequantize(codes)
    out_scale: float
    out_zero: int

    def outputs(self, out_codes: np.ndarray) -> np.ndarray:
        """Y [N, outputs] float64 of a batch of output codes [N, *out]."""
        flat = np.asarray(out_codes).reshape(len(out_codes), -1)
        if self.dequantized:
            q = flat.astype(np.int64) - np.int64(self.out_zero)
            return (q.astype(np.float32) * np.float32(self.out_scale)).astype(np.float64)
        return flat.astype(np.float64)

    def atoms(self, out_codes: np.ndarray) -> np.ndarray:
        """Atom margins [N, atoms]."""
        return (self.outputs(out_codes) @ self.coef.T - self.rhs) / self.scale

    def clauses(self, out_codes: np.ndarray) -> np.ndarray:
        """Clause margins [N, clauses]: the max over each clause's atoms (-inf for an empty clause)."""
        return reduce_clauses(self.atoms(out_codes), self.clause_of, self.n_clauses)

    def slack(self, out_codes: np.ndarray) -> np.ndarray:
        """Per clause, the margin under which a point must be judged exactly (float rounding)."""
        y = np.abs(self.outputs(out_codes))
        err = (y @ np.abs(self.coef).T + np.abs(self.rhs)) / self.scale * TOLERANCE
        return reduce_clauses(err, self.clause_of, self.n_clauses)

    def torch_atoms(self, out: torch.Tensor) -> torch.Tensor:
        """Differentiable atom margins [N, atoms] of a surrogate output [N, *out] (float64 codes)."""
        y = out.reshape(out.shape[0], -1)
        if self.dequantized:
            y = (y - self.out_zero) * self.out_scale
        coef = torch.from_numpy(self.coef)
        return (y @ coef.T - torch.from_numpy(self.rhs)) / torch.from_numpy(self.scale)

    def torch_loss(self, out: torch.Tensor, clause: np.ndarray) -> torch.Tensor:
        """Per row, a loss that is low when clause ``clause[row]`` holds: the clause margin (max over
        atoms) plus the sum of its atoms' positive parts, so every unmet atom gets a gradient."""
        m = self.torch_atoms(out)  # [N, atoms]
        mine = torch.from_numpy(self.clause_of[None, :] == np.asarray(clause)[:, None])
        masked = torch.where(mine, m, torch.full_like(m, -np.inf))
        worst = masked.amax(dim=1)
        worst = torch.where(torch.isfinite(worst), worst, torch.zeros_like(worst))
        return worst + torch.where(mine, torch.relu(m), torch.zeros_like(m)).sum(dim=1)


def reduce_clauses(atoms: np.ndarray, clause_of: np.ndarray, n_clauses: int) -> np.ndarray:
    out = np.full((atoms.shape[0], n_clauses), -np.inf)
    for k in range(n_clauses):
        sel = clause_of == k
        if sel.any():
            out[:, k] = atoms[:, sel].max(axis=1)
    return out


def _lcm(ns: list[int]) -> int:
    out = 1
    for n in ns:
        out = out * n // math.gcd(out, n)
    return out


def compile_condition(net: QNetwork, cond: OutputCondition) -> Margins:
    """The matrices of ``cond`` for ``net``'s output (size and dequantizer)."""
    n_out = int(np.prod(net.output_shape))
    dequantized = cond.over == "dequantized" and net.output.scale is not None
    coef, rhs, scale, clause_of = [], [], [], []
    for k, clause in enumerate(cond.clauses):
        for atom in clause:
            row = [Fraction(0)] * n_out
            for j, c in atom.terms:
                row[j] += Fraction(c)
            if dequantized:  # float margins; a strict atom is re-judged exactly at 0 anyway
                coef.append([float(c) for c in row])
                rhs.append(float(atom.rhs))
                scale.append(1.0)
            else:  # integer lattice: L*lhs is an integer
                lcm = _lcm([c.denominator for c in row])
                lr = Fraction(atom.rhs) * lcm
                bound = math.ceil(lr) - 1 if atom.strict else math.floor(lr)
                coef.append([float(c * lcm) for c in row])
                rhs.append(float(bound))
                scale.append(float(lcm))
            clause_of.append(k)
    return Margins(np.array(coef, dtype=np.float64).reshape(-1, n_out), np.array(rhs, dtype=np.float64),
                   np.array(scale, dtype=np.float64), np.array(clause_of, dtype=np.int64), len(cond.clauses),
                   dequantized, float(net.output.scale or 1.0), int(net.output.zero_point))


def clause_margins(net: QNetwork, prop: Property, out_codes: np.ndarray) -> np.ndarray:
    """Clause margins [N, n_clauses] (float64) of output codes [N, *out]: a clause holds where its
    margin is <= 0 (exactly so over codes); see the module docstring."""
    return compile_condition(net, prop.output).clauses(out_codes)


def outputs_for_holds(net: QNetwork, prop: Property, out_codes: np.ndarray) -> np.ndarray:
    """The flat output vector ``prop.output.holds`` judges for one output (codes or dequantized)."""
    if prop.output.over == "dequantized" and net.output.scale is not None:
        return net.dequantize(out_codes).ravel()
    return np.asarray(out_codes).ravel()
