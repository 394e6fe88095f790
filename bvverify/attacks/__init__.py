"""Attacks: fast searches for a violation of a property, exact where it counts.

A gradient search through a straight-through torch surrogate of the integer network
(``surrogate``: its forward pass is the reference interpreter, bit for bit), guided by clause
margins (``margin``), then an exact integer local search (``search``). A returned violation is
judged only by the interpreter and ``prop.output.holds``; when there is none, the best point found
(lowest exact margin) still seeds solver hints and splits.
"""

from bvverify.attacks.margin import Margins, clause_margins, compile_condition
from bvverify.attacks.search import AttackResult, attack
from bvverify.attacks.surrogate import SURROGATE, Surrogate

__all__ = ["SURROGATE", "AttackResult", "Margins", "Surrogate", "attack", "clause_margins", "compile_condition"]
