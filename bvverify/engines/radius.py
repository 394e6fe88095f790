"""Maximum robustness radius: the largest eps at which a query is *proven*, found by a search
(gallop, then bisect) that reuses every answer and never guesses.

The search runs on the integer grid ``0..max_eps`` (grid point ``k`` is ``k`` input codes, or
``k * step`` float units: the caller's ``decide`` knows which) and leans on two facts of nested
L-infinity boxes, ``box(e) <= box(e')`` for ``e <= e'``:

* ``holds`` at ``e`` proves it at every ``e' < e``;
* a replayed witness found at ``e`` is a witness for every box that contains it: every
  ``e' >= e`` and often some ``e' < e`` too. Before a solve, and right after each new witness,
  the witnesses are checked by box containment (``reuse``) and replayed there instead of solved.

``unknown`` answers (timeouts) are never turned into either verdict: the result is
``radius`` = the largest eps proven to hold (QVIP's "maximum robustness radius", Figure 7) and
``refuted_at`` = the smallest eps with a replayed witness; any eps between them is listed as
``unknown`` (tried, undecided) or ``untried`` (the total budget ran out first). The search gallops
up from eps 0 (1, 2, 4, ...) until an answer is not ``holds``, then keeps narrowing the bracket by
bisecting the lowest stretch of untried eps in it, so one hard eps does not stop it from deciding
the others. ``decide`` is a plain callback, so the search is the same for every engine and
testable with fake deciders.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bvverify.backends.budget import Budget
from bvverify.engines.base import Counterexample, Verdict
from bvverify.errors import BvverifyError

Decide = Callable[[int], Verdict]  # grid eps -> verdict of the robustness query at that eps
Reuse = Callable[[Counterexample, int], "Counterexample | None"]  # witness replayed in box(eps), or None if outside


class RadiusError(BvverifyError, ValueError):
    """A radius search asked with an unusable grid."""


@dataclass
class Step:
    """One eps the search decided: ``how`` is ``solved`` (the engine ran) or ``reused`` (a witness
    found at ``reused_from`` lies in this box and was replayed here, no solve)."""

    eps: int
    status: str
    seconds: float
    engine: str
    how: str
    verdict: Verdict
    reused_from: int | None = None


@dataclass
class RadiusResult:
    """What the search proved. ``radius``/``refuted_at`` are ``None`` when no eps holds / none
    was refuted; ``unknown`` and ``untried`` are the eps left between them."""

    max_eps: int
    radius: int | None
    refuted_at: int | None
    unknown: list[int]
    untried: list[int]
    steps: list[Step] = field(default_factory=list)
    seconds: float = 0.0
    stopped: str = ""  # why the search ended with untried eps in the gap

    @property
    def exact(self) -> bool:
        """No undecided eps is left: refuted right above the radius, or holds up to ``max_eps``."""
        below = -1 if self.radius is None else self.radius
        return self.refuted_at == below + 1 if self.refuted_at is not None else self.radius == self.max_eps

    @property
    def misclassified(self) -> bool:
        """eps 0 refuted: the clean sample itself is a witness, the radius is undefined."""
        return self.refuted_at == 0

    @property
    def witness(self) -> Verdict | None:
        """The replayed verdict at ``refuted_at`` (the smallest refuted eps)."""
        for s in reversed(self.steps):
            if s.eps == self.refuted_at and s.status == "violated":
                return s.verdict
        return None


def search_radius(decide: Decide, max_eps: int, reuse: Reuse | None = None, budget: Budget | float | None = None,
                  on_step: Callable[[Step], None] | None = None, show: Callable[[int], str] = str) -> RadiusResult:
    """The largest eps in ``0..max_eps`` at which ``decide`` proves ``holds``, and the smallest with
    a replayed witness. ``budget`` covers the whole search (``decide`` caps each query itself);
    ``on_step`` sees each step as it completes; ``show`` writes a grid eps in the caller's units."""
    if isinstance(max_eps, bool) or not isinstance(max_eps, int) or max_eps < 0:
        raise RadiusError(f"maximum radius {max_eps!r}: expected a whole number of grid steps >= 0")
    budget = Budget.of(budget)
    t0 = time.perf_counter()
    lo, hi = -1, max_eps + 1  # largest eps proven to hold (-1: none), smallest refuted (max_eps + 1: none)
    steps: list[Step] = []
    tried: dict[int, str] = {}
    witnesses: list[tuple[Step, Counterexample]] = []
    stopped = ""

    def settle(step: Step) -> None:
        nonlocal lo, hi
        steps.append(step)
        tried[step.eps] = step.status
        # every eps settled lies strictly between lo and hi: no answer is ever implied by another
        if step.status == "holds":
            lo = step.eps
        elif step.status == "violated":
            hi = step.eps
            if step.verdict.counterexample is not None:
                witnesses.append((step, step.verdict.counterexample))
        if on_step is not None:
            on_step(step)

    def reused(eps: int, src: Step, cex: Counterexample) -> Step | None:
        t = time.perf_counter()
        again = reuse(cex, eps) if reuse is not None else None
        if again is None:
            return None
        origin = src.reused_from if src.reused_from is not None else src.eps
        v = Verdict("violated", src.engine, time.perf_counter() - t, counterexample=again,
                    reason=f"reused: the witness found at eps {show(origin)} lies in this box (replayed here)")
        return Step(eps, "violated", v.seconds, src.engine, "reused", v, origin)

    def tighten(src: Step, cex: Counterexample) -> None:
        """The smallest box below ``src.eps`` that still holds the new witness (boxes are nested,
        so containment is monotone in eps: bisect it)."""
        a, b, best = lo + 1, src.eps - 1, None
        while a <= b:
            m = (a + b) // 2
            s = reused(m, src, cex)
            if s is None:
                a = m + 1
            else:
                best, b = s, m - 1
        if best is not None:
            settle(best)

    while True:
        eps = next_probe(lo, hi, tried)
        if eps is None:
            break
        step = next((s for w, c in witnesses if (s := reused(eps, w, c)) is not None), None)
        if step is None:
            if budget.expired():
                stopped = f"the total time limit of {budget.seconds:g} s was reached"
                break
            v = decide(eps)
            step = Step(eps, v.status, v.seconds, v.engine, "solved", v)
        settle(step)
        if step.status == "violated" and step.how == "solved" and step.verdict.counterexample is not None:
            tighten(step, step.verdict.counterexample)
    gap = range(lo + 1, hi)
    return RadiusResult(max_eps, None if lo < 0 else lo, None if hi > max_eps else hi,
                        [e for e in gap if tried.get(e) == "unknown"], [e for e in gap if e not in tried],
                        steps, time.perf_counter() - t0, stopped)


def next_probe(lo: int, hi: int, tried: dict[int, str]) -> int | None:
    """The next eps to decide, strictly between ``lo`` (largest holds) and ``hi`` (smallest refuted).

    eps 0 first (the clean sample: cheap, and it says whether a radius exists); then, while every
    answer so far is ``holds``, gallop up 1, 2, 4, 8, ... (capped at the top of the grid): an exact
    engine's query gets dearer with the box (measured on digits-mlp with CP-SAT: eps 8 proved in
    2.5 s, eps 16 to 128 all unknown at 20 s), so the bracket is found from below, in about
    2 log2(radius) cheap queries rather than at half the code range. Once an answer is not
    ``holds``, bisect the lowest stretch of untried eps: plain bisection while nothing is unknown;
    after an unknown the eps below it are decided first, then the ones above."""
    if lo < 0 and 0 not in tried and hi > 0:
        return 0
    if all(v == "holds" for v in tried.values()) and lo >= 0:
        nxt = min(hi - 1, max(1, 2 * lo))
        return nxt if nxt > lo else None
    e = lo + 1
    inside = sorted(t for t in tried if lo < t < hi)
    for t in inside:  # skip the tried eps at the bottom of the gap
        if t > e:
            break
        e = t + 1
    if e >= hi:
        return None
    end = min((t for t in inside if t > e), default=hi) - 1
    return (e + end) // 2


__all__ = ["Decide", "RadiusError", "RadiusResult", "Reuse", "Step", "next_probe", "search_radius"]
