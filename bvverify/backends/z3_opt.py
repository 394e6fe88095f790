"""z3's Optimize engine on the integer model (no objective: a feasibility query).

The same exact arithmetic as :mod:`bvverify.backends.z3_lia` on the same formulas, decided
by another z3 search than the QF_LIA solver's, kept as an alternative for queries where one
of the two stalls. Both answers are exact. No hints.
"""

from __future__ import annotations

import z3

from bvverify.backends.base import Capabilities
from bvverify.backends.z3_lia import Z3Lia


class Z3Opt(Z3Lia):
    name = "z3opt"
    capabilities = Capabilities(exact=True, incremental=True, hints=False)

    def _solver(self) -> z3.Solver | z3.Optimize:
        return z3.Optimize()


__all__ = ["Z3Opt"]
