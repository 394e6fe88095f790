"""The default engine: search, bound, branch, and solve exactly only what is left, in one budget.

Most robustness queries are decided cheaply one way or the other: a gradient attack through the
straight-through surrogate finds a counterexample in milliseconds when one is easy to reach, and
symbolic bounds rule out every clause when the ball is comfortably robust. ``auto`` runs those
first and sends to the exact ILP solver only the clauses (competing classes) still open, with a
hint at the attack's best point. Between the two it branches: an open box is split on the input
dimension where the bound loses most (|coefficient| x width, from back-substitution), each half is
re-bounded (clauses close per half) and attacked briefly; splitting stops by a measured policy
(:data:`SPLITS`), and the open leaves go to the exact solver, clause by clause, fairly sharing
what is left of the budget (an ``unknown`` clause gets another turn with the time others left).
By default a turn is shared by CP-SAT and the LP branch-and-bound (:data:`FOLLOW_UP`), the one that
has decided more of the query's clauses first: they are strong on different networks.
When the ILP has no exact model of an op (onnxruntime's float average pool), the exact phase is
the bit-vector engine on the whole query instead.

Soundness does not depend on any of the heuristics: ``holds`` needs every clause of every leaf
ruled out by sound bounds or proven infeasible by an exact solver; ``violated`` needs a
counterexample replayed through the reference interpreter (and the runtime). A candidate from a
floating-point solver that does not replay seeds a new attack there (refinement), never a verdict.
Deterministic for a given ``seed`` (the solver's own search aside, which the budget bounds) as long as
no attack round is cut by its time cap: ``attack_cut`` in the statistics counts those (a loaded machine).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bvverify.attacks import AttackResult, attack, clause_margins
from bvverify.backends.base import SPENT, SolveResult
from bvverify.backends.budget import Budget
from bvverify.bounds.symbolic import output_linear_lower, symbolic_bounds
from bvverify.encoders.ilp import EncodingSpent
from bvverify.engines.base import ReplayError, Runtime, Verdict, replay
from bvverify.engines.bounds import open_clauses
from bvverify.engines.config import EngineOptions, resolve_steps
from bvverify.engines.ilp_box import IlpBox
from bvverify.errors import InternalError, UnsupportedOpError
from bvverify.ir.graph import QNetwork
from bvverify.properties.boxes import code_box
from bvverify.properties.spec import Property

# Each attack phase: (share of the budget, cap in seconds, rounds). A round is one seeded ``attack``
# call (its restarts and steps fix the work: ~0.1 s on the bundled MLP); the round count, not the
# clock, says how much is searched, so a seed gives the same search; time only caps it.
QUICK_ATTACK = (0.03, 0.3, 1)  # the first look, before any bound
FOCUS_ATTACK = (0.10, 2.0, 3)  # on the clauses the bounds leave open
BRANCH_ATTACK = (0.02, 0.2, 1)  # on each branch
ATTACK_ONLY_ROUNDS = 200  # the attack engine: rounds until found, the rounds are done, or the budget is spent
PASSES = 6  # rounds of the exact phase over the clauses still unknown (each with the time the others left)
SPLITS = 0  # input splits before the exact phase (measured policy, see the module docstring)
# The exact phase's second solver, sharing each clause's turn with the default one (see ``_solve``). Measured:
# neither is stronger across the board (CP-SAT proves some Q = 4 / 6 / 8 queries lpbab does not, lpbab
# closes wide-band Q = 8 / 10 clauses that CP-SAT leaves open).
FOLLOW_UP = {"cpsat": "lpbab"}
FIRST_SHARE = 0.5  # of each turn, for the first solver when neither has decided more clauses of the query


@dataclass
class _Leaf:
    lo: np.ndarray
    hi: np.ndarray
    clauses: list[int]
    depth: int = 0
    box: IlpBox | None = None
    follow: IlpBox | None = None  # the follow-up solver's own encoding (its step encoding may differ)


@dataclass
class _Stats:
    """Per-phase statistics, as ``--json`` shows them."""

    attack_tries: int = 0
    attack_steps: int = 0
    attack_seconds: float = 0.0
    attack_runs: int = 0
    attack_cut: int = 0  # rounds the clock cut short or skipped: then the same seed may search differently
    bounds_seconds: float = 0.0
    bounds_runs: int = 0
    branches: int = 0
    encode_seconds: float = 0.0
    solver_calls: int = 0
    solver_seconds: float = 0.0
    refinements: int = 0
    follow_up_decided: int = 0  # clauses the follow-up solver (FOLLOW_UP) decided
    decided_by: str = ""
    clauses: int = 0
    open_after_bounds: int = 0
    solver: str = ""
    notes: list[str] = field(default_factory=list)

    def doc(self) -> dict[str, Any]:
        r = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items() if k != "notes"}
        return r | ({"notes": self.notes} if self.notes else {})


class _Run:
    def __init__(self, net: QNetwork, prop: Property, options: EngineOptions, budget: Budget,
                 runtime: Runtime | None, prefer: np.ndarray | None) -> None:
        self.net, self.prop, self.o, self.budget = net, prop, options, budget
        self.runtime, self.prefer = runtime, prefer
        self.t0 = time.perf_counter()
        self.stats = _Stats(clauses=len(prop.output.clauses), solver=options.ilp_solver)
        self.best: np.ndarray | None = None  # lowest-margin point seen, for hints and later attacks
        self.best_margin = np.inf
        self.rounds = 0
        self.wins: dict[str, int] = {}  # clauses each exact solver decided in this query (who goes first)

    # -- phases ----------------------------------------------------------------------------
    def _slice(self, share: tuple[float, float, int]) -> float:
        left = self.budget.left()
        cap = share[1] if left == float("inf") else min(share[1], share[0] * (self.budget.seconds or 0.0))
        return max(0.0, min(cap, left))

    def attack(self, lo: np.ndarray, hi: np.ndarray, clauses: list[int] | None, share: tuple[float, float, int],
               starts: list[np.ndarray]) -> Verdict | None:
        """``share[2]`` seeded attack rounds on the box (each from the best point so far), within
        the phase's slice of the budget; a violation is replayed into the verdict."""
        t = time.perf_counter()
        end = t + self._slice(share)
        starts = [s for s in starts if s is not None]
        for r in range(share[2]):
            left = end - time.perf_counter()
            if left <= 0:
                self.stats.attack_cut += share[2] - r
                break
            res: AttackResult = attack(self.net, self.prop, lo, hi, seconds=left, seed=self.o.seed + self.rounds,
                                       starts=starts, clauses=clauses)
            self.rounds += 1
            self.stats.attack_runs += 1
            self.stats.attack_tries += res.tries
            self.stats.attack_steps += res.steps
            self.stats.attack_cut += res.cut
            if res.codes is not None:
                self.stats.attack_seconds += time.perf_counter() - t
                return self.violated(res.codes, "attack")
            if res.best is not None and res.best_margin < self.best_margin:
                self.best, self.best_margin = np.asarray(res.best), res.best_margin
            starts = [res.best] if res.best is not None else []
        self.stats.attack_seconds += time.perf_counter() - t
        return None

    def bound(self, leaf: _Leaf) -> Any:
        t = time.perf_counter()
        state = symbolic_bounds(self.net, leaf.lo, leaf.hi) if self.o.bounds == "symbolic" else None
        still = set(open_clauses(self.net, self.prop, leaf.lo, leaf.hi, self.o.bounds, state))
        leaf.clauses = [k for k in leaf.clauses if k in still]
        self.stats.bounds_runs += 1
        self.stats.bounds_seconds += time.perf_counter() - t
        return state

    def violated(self, codes: np.ndarray, phase: str) -> Verdict:
        cex = replay(self.net, self.prop, codes, self.runtime, self.prefer)
        self.stats.decided_by = phase
        return Verdict("violated", "auto", time.perf_counter() - self.t0, counterexample=cex, stats=self.stats.doc())

    def split(self, leaf: _Leaf, state: Any) -> list[_Leaf]:
        """Halve the box on the input where the open clauses' bounds lose most."""
        width = (leaf.hi - leaf.lo).ravel().astype(np.float64)
        score = np.zeros_like(width)
        if state is not None and (self.prop.output.over == "codes" or self.net.output.scale is None):
            rows = []
            for k in leaf.clauses:
                for lin in self.prop.output.clauses[k]:
                    r = np.zeros(int(np.prod(self.net.output_shape)))
                    for j, c in lin.terms:
                        r[j] += float(c)
                    rows.append(-r)  # the atom's violation side: bound sum(c*Y) from above
            keep: dict[str, np.ndarray] = {}
            output_linear_lower(self.net, leaf.lo, leaf.hi, np.array(rows), state, keep)
            if "input" in keep:
                score = np.abs(keep["input"]).sum(axis=0) * width
        if not np.any(score > 0):
            score = width
        d = int(np.argmax(score))
        lo, hi = leaf.lo.ravel(), leaf.hi.ravel()
        mid = (int(lo[d]) + int(hi[d])) // 2
        a_hi, b_lo = hi.copy(), lo.copy()
        a_hi[d], b_lo[d] = mid, mid + 1
        shape = leaf.lo.shape
        self.stats.branches += 2
        return [_Leaf(leaf.lo, a_hi.reshape(shape), list(leaf.clauses), leaf.depth + 1),
                _Leaf(b_lo.reshape(shape), leaf.hi, list(leaf.clauses), leaf.depth + 1)]

    def exact(self, leaves: list[_Leaf]) -> Verdict:
        """Every (leaf, open clause) to the exact solver, in fair shares of the time left; an
        ``unknown`` goes round again with more time while any is left."""
        pending = [(leaf, k) for leaf in leaves for k in self._order(leaf)]
        reasons: list[str] = []
        for _ in range(PASSES):
            if not pending:
                break
            again = []
            for n, (leaf, k) in enumerate(pending):
                if self.budget.expired():
                    return self.unknown([SPENT, *reasons])
                if leaf.box is None:
                    t = time.perf_counter()
                    try:
                        leaf.box = IlpBox(self.net, self.prop, leaf.lo, leaf.hi, self.o.ilp_solver, self.o.ilp_steps,
                                          self.o.bounds, budget=self.budget)
                    except EncodingSpent as e:
                        return self.unknown([f"{SPENT} ({e})", *reasons])
                    except UnsupportedOpError as e:  # an op the ILP has no exact integer model of
                        return self.bit_vector(str(e))
                    finally:
                        self.stats.encode_seconds += time.perf_counter() - t
                if k not in leaf.box.clauses:
                    continue  # the encoding's own bounds rule it out
                share = self.budget.left() / (len(pending) - n) if self.budget.seconds is not None else None
                if share is not None and share <= 0.01:
                    return self.unknown([SPENT, *reasons])
                box, res = self._solve(leaf, k, share)
                if res.status == "feasible":
                    codes = box.lw.input_codes(res.solution)
                    try:
                        return self.violated(codes, "exact")
                    except ReplayError:
                        if box.backend.capabilities.exact:
                            raise
                    self.stats.refinements += 1  # a float solver's near miss: search around it instead
                    found = self.attack(leaf.lo, leaf.hi, [k], BRANCH_ATTACK, [codes])
                    if found is not None:
                        found.stats["decided_by"] = self.stats.decided_by = "refinement"
                        return found
                    reasons.append("the solver's solution did not replay exactly (a floating-point tolerance artefact)")
                    again.append((leaf, k))
                elif res.status == "unknown":
                    reasons.append(res.reason)
                    again.append((leaf, k))
            if len(again) == len(pending) and (self.budget.seconds is None or self.budget.expired()):
                return self.unknown(reasons)
            pending = again
        if pending:
            return self.unknown(reasons)
        self.stats.decided_by = self.stats.decided_by or "exact"
        return Verdict("holds", "auto", time.perf_counter() - self.t0, stats=self.stats.doc())

    def _solve(self, leaf: _Leaf, k: int, share: float | None) -> tuple[IlpBox, SolveResult]:
        """Clause ``k`` of the leaf within ``share`` seconds. With a follow-up solver (the default), the
        turn is split: the solver that has decided more of this query's clauses so far goes first (CP-SAT
        on a tie) with :data:`FIRST_SHARE` of the turn, more as its lead grows ((w1 + 1) / (w1 + w2 + 2),
        at most 0.9), and the other gets what is left when the first says unknown. Which one is strong
        depends on the network, and the clauses of one query tend to agree."""
        if leaf.box is None:
            raise InternalError("a leaf solved before its encoding was built")
        follow = FOLLOW_UP.get(self.o.ilp_solver) if self.o.solver is None else None
        if follow is None or share is None:
            res = leaf.box.solve(k, Budget(share) if share is not None else self.budget, self._near(leaf))
            self._count(res)
            return leaf.box, res
        order = sorted((self.o.ilp_solver, follow), key=lambda name: -self.wins.get(name, 0))
        w1, w2 = (self.wins.get(name, 0) for name in order)
        first = min(max(FIRST_SHARE, (w1 + 1) / (w1 + w2 + 2)), 0.9)  # more to the solver that keeps winning
        end = time.perf_counter() + share
        reasons: list[str] = []
        for n, name in enumerate(order):
            left = min(share * first if n == 0 else end - time.perf_counter(), self.budget.left() or 0.0)
            if left <= 0.01:
                reasons.append(f"{name}: no time in this turn")
                continue
            box = leaf.box if name == self.o.ilp_solver else self._follow_box(leaf, name, left)
            if box is None:
                reasons.append(f"{name}: {SPENT} while encoding")
                continue
            if k not in box.clauses:  # its own bounds rule the clause out
                res = SolveResult("infeasible")
            else:
                res = box.solve(k, Budget(left), self._near(leaf))
                self._count(res)
            if res.status != "unknown":
                self.wins[name] = self.wins.get(name, 0) + 1
                self.stats.follow_up_decided += name == follow
                return box, res
            reasons.append(res.reason)
        return leaf.box, SolveResult("unknown", reason="; ".join(reasons))

    def _follow_box(self, leaf: _Leaf, name: str, seconds: float) -> IlpBox | None:
        """The follow-up solver's encoding of the leaf (its own step encoding), built once."""
        if leaf.follow is None:
            t = time.perf_counter()
            try:
                leaf.follow = IlpBox(self.net, self.prop, leaf.lo, leaf.hi, name, resolve_steps(name, self.o.steps),
                                     self.o.bounds, budget=Budget(max(0.011, seconds)))
            except EncodingSpent:
                return None
            finally:
                self.stats.encode_seconds += time.perf_counter() - t
        return leaf.follow

    def _count(self, res: SolveResult) -> None:
        self.stats.solver_calls += 1
        self.stats.solver_seconds += res.seconds

    def bit_vector(self, refusal: str) -> Verdict:
        """The whole query to the bit-vector engine with the time left, when the ILP refuses a node (e.g.
        onnxruntime's float average pool, whose ties the taps' float rounding decides): z3 encodes such ops
        exactly. It decides the query itself, so the leaves and clauses of this run do not matter."""
        from bvverify.engines.bv import verify_bv

        t = time.perf_counter()
        v = verify_bv(self.net, self.prop, self.budget, self.runtime, self.prefer, self.o.bounds)
        self.stats.solver_calls += 1
        self.stats.solver_seconds += time.perf_counter() - t
        self.stats.solver = "bv"
        self.stats.decided_by = "exact" if v.status != "unknown" else ""
        reason = v.reason if v.status != "unknown" else f"{v.reason} (bit-vector engine: the ILP refused {refusal})"
        return Verdict(v.status, "auto", time.perf_counter() - self.t0, reason=reason, counterexample=v.counterexample,
                       stats=self.stats.doc())

    def _order(self, leaf: _Leaf) -> list[int]:
        """Open clauses, most promising (smallest margin at the best point) first."""
        if self.best is None or len(leaf.clauses) < 2:
            return list(leaf.clauses)
        out = self.net.evaluate_codes(np.clip(self.best, leaf.lo, leaf.hi)[None])
        m = clause_margins(self.net, self.prop, out)[0]
        return sorted(leaf.clauses, key=lambda k: m[k])

    def _near(self, leaf: _Leaf) -> np.ndarray | None:
        return None if self.best is None else np.clip(self.best, leaf.lo, leaf.hi)

    def unknown(self, reasons: list[str]) -> Verdict:
        return Verdict("unknown", "auto", time.perf_counter() - self.t0, reason="; ".join(dict.fromkeys(reasons)),
                       stats=self.stats.doc())

    # -- the loop ----------------------------------------------------------------------------
    def run(self) -> Verdict:
        if self.budget.expired():
            return self.unknown([SPENT])
        clo, chi = code_box(self.net, self.prop)
        starts = [self._prefer_codes(clo, chi)]
        found = self.attack(clo, chi, None, QUICK_ATTACK, [s for s in starts if s is not None])
        if found is not None:
            return found
        root = _Leaf(clo, chi, list(range(len(self.prop.output.clauses))))
        state = self.bound(root)
        self.stats.open_after_bounds = len(root.clauses)
        if not root.clauses:
            self.stats.decided_by = "bounds"
            return Verdict("holds", "auto", time.perf_counter() - self.t0, stats=self.stats.doc())
        found = self.attack(clo, chi, root.clauses, FOCUS_ATTACK, [self.best] if self.best is not None else [])
        if found is not None:
            return found
        leaves: list[_Leaf] = []
        todo = [(root, state)]
        splits = 0
        while todo:
            leaf, state = todo.pop()
            if splits >= SPLITS or np.all(leaf.lo == leaf.hi):
                leaves.append(leaf)
                continue
            splits += 1
            for child in self.split(leaf, state):
                if self.budget.expired():
                    return self.unknown([SPENT])
                child_state = self.bound(child)
                if not child.clauses:
                    continue
                found = self.attack(child.lo, child.hi, child.clauses, BRANCH_ATTACK,
                                    [self.best] if self.best is not None else [])
                if found is not None:
                    return found
                todo.append((child, child_state))
        if not leaves:
            self.stats.decided_by = "branch-and-bound"
            return Verdict("holds", "auto", time.perf_counter() - self.t0, stats=self.stats.doc())
        return self.exact(leaves)

    def _prefer_codes(self, clo: np.ndarray, chi: np.ndarray) -> np.ndarray | None:
        """The sample itself, as codes: the centre of a robustness ball, the first point to try."""
        if self.prefer is None:
            return None
        p = np.asarray(self.prefer).reshape((1, *self.net.input.shape))
        codes = p.astype(np.int64)[0] if self.net.integer_input else self.net.quantize_input(p)[0]
        return np.clip(codes, clo, chi)


def verify_auto(net: QNetwork, prop: Property, options: EngineOptions | None = None,
                timeout: Budget | float | None = None, runtime: Runtime | None = None,
                prefer: np.ndarray | None = None) -> Verdict:
    """Decide ``prop``: attack, bounds, branch, exact, all within one budget (``timeout``)."""
    options = options or EngineOptions("auto")
    return _Run(net, prop, options, Budget.of(timeout), runtime, prefer).run()


def verify_attack(net: QNetwork, prop: Property, options: EngineOptions | None = None,
                  timeout: Budget | float | None = None, runtime: Runtime | None = None,
                  prefer: np.ndarray | None = None) -> Verdict:
    """The attack alone (a sound but incomplete engine: ``violated`` with a replayed witness, or
    ``unknown``), for measuring what the search contributes. It runs until the budget is spent
    (60 s when none is given) or :data:`ATTACK_ONLY_ROUNDS` seeded rounds are done."""
    options = options or EngineOptions("attack")
    budget = Budget.of(timeout if timeout is not None else 60.0)
    run = _Run(net, prop, options, budget, runtime, prefer)
    clo, chi = code_box(net, prop)
    found = run.attack(clo, chi, None, (1.0, float("inf"), ATTACK_ONLY_ROUNDS), [run._prefer_codes(clo, chi)])
    if found is not None:
        found.engine = "attack"
        return found
    v = run.unknown(["the attack found no counterexample"])
    v.engine = "attack"
    return v


__all__ = ["verify_attack", "verify_auto"]
