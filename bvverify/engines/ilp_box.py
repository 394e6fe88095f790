"""One exact integer program per input box, solved clause by clause: the exact phase of ``auto``.

The ``ilp`` engine builds one lowering and solves it once; the ``auto`` engine comes back to
the same box several times (a clause at a time, again with more time after an ``unknown``,
with a hint from the attack's best point), so the lowering is built once per box and kept
here, and each solve adds only its clause's atoms to a copy of the model.
"""

from __future__ import annotations

import numpy as np

from bvverify.backends import get as get_backend
from bvverify.backends.base import Backend, SolveResult
from bvverify.backends.budget import Budget
from bvverify.bounds import tensor_bounds
from bvverify.encoders.ilp import Atom, IlpLowering, add_clauses, indexed_clauses
from bvverify.ir.graph import QNetwork
from bvverify.properties.spec import Property


class IlpBox:
    """The exact network over the code box [clo, chi] as an integer model, with the property's
    clauses that the box's bounds leave possible (``clauses``: index -> integral atoms).
    Raises :class:`~bvverify.encoders.ilp.EncodingSpent` when ``budget`` runs out first."""

    def __init__(self, net: QNetwork, prop: Property, clo: np.ndarray, chi: np.ndarray, solver: str, steps: str,
                 bounds: str = "symbolic", env: dict | None = None, budget: Budget | None = None) -> None:
        self.net = net
        self.backend: Backend = get_backend(solver)  # this box's own instance: it may keep the base model
        env = env if env is not None else tensor_bounds(net, clo, chi, bounds)
        self.lw = IlpLowering(net, clo, chi, env, steps, None if budget is None else budget.expired)
        out = self.lw.run()
        self.clauses: dict[int, list[Atom]] = dict(indexed_clauses(self.lw, out, prop.output))
        self.backend.keep_base(self.lw.m)
        flat = self.lw.inputs.ravel()
        # the model variable of each input element (None: fixed by the box)
        self._input_vars = [next(iter(lin.terms)) if lin.terms else None for lin in flat]

    def hint(self, codes: np.ndarray | None) -> list[int | None] | None:
        """A partial solution hint: the input variables at ``codes`` (an attack's best point), the
        rest left to the solver."""
        if codes is None or not self.backend.capabilities.hints:
            return None
        hint: list[int | None] = [None] * self.lw.m.n_vars
        for v, x in zip(self._input_vars, np.asarray(codes).ravel()):
            if v is not None:
                hint[v] = int(min(max(int(x), self.lw.m.lo[v]), self.lw.m.hi[v]))
        return hint

    def solve(self, clause: int, budget: Budget, near: np.ndarray | None = None) -> SolveResult:
        """Is there an input in the box that satisfies clause ``clause``? ``near``: a hint point."""
        model = self.lw.m.copy()
        add_clauses(model, [self.clauses[clause]])
        return self.backend.solve(model, budget, self.hint(near))


__all__ = ["IlpBox"]
