"""Solver back-ends behind one seam: ``solve(model, budget, hints) -> SolveResult``.

The ILP back-ends take an :class:`~bvverify.encoders.intmodel.IntModel`; ``z3bv`` takes a
:class:`~bvverify.backends.z3_bv.BvQuery`. Each says in its ``capabilities`` whether its
answers are exact and whether it uses a hint. Importing this package imports no solver
library that is slow to load (OR-Tools loads on its first solve).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bvverify.backends.base import Backend, Capabilities, SolveResult, UnknownSolverError
from bvverify.backends.budget import Budget
from bvverify.backends.cpsat import CpSat
from bvverify.backends.highs import Highs
from bvverify.backends.lpbab import LpBab
from bvverify.backends.z3_bv import BvQuery, Z3Bv
from bvverify.backends.z3_lia import Z3Lia
from bvverify.backends.z3_opt import Z3Opt
from bvverify.encoders.intmodel import IntModel

_ILP: dict[str, Callable[..., Backend[IntModel]]] = {"cpsat": CpSat, "highs": Highs, "lpbab": LpBab, "z3": Z3Lia,
                                                    "z3opt": Z3Opt}
ILP_BACKENDS: tuple[str, ...] = tuple(_ILP)


def get(name: str, **options: Any) -> Backend[IntModel]:
    """A new ILP back-end by name (``options`` go to its constructor, e.g. ``threads`` for cpsat)."""
    if name not in _ILP:
        raise UnknownSolverError(f"unknown ILP solver {name!r} (available: {', '.join(ILP_BACKENDS)})")
    return _ILP[name](**options)


__all__ = ["ILP_BACKENDS", "Backend", "Budget", "BvQuery", "Capabilities", "SolveResult", "UnknownSolverError",
           "Z3Bv", "get"]
