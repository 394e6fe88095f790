"""The radius search with fake deciders: it proves what the answers prove, never guesses across an
unknown, reuses witnesses instead of solving, and stops at the total budget."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest

from bvverify.backends.budget import Budget
from bvverify.engines.base import Counterexample, Verdict
from bvverify.engines.radius import RadiusError, next_probe, search_radius


def witness(distance: int) -> Counterexample:
    """A fake witness whose L-infinity distance from the sample is ``distance`` (its only code)."""
    return Counterexample(np.array([distance]), np.array([distance]), np.array([0]), None, ["fake"])


class Fake:
    """Robust up to ``threshold`` (-1: the clean sample is misclassified); ``unknown`` eps time out;
    a witness found at eps e lies at distance ``near(e)`` from the sample (default e itself)."""

    def __init__(self, threshold: float, unknown=(), near=None):
        self.threshold, self.unknown, self.near = threshold, set(unknown), near or (lambda e: e)
        self.calls: list[int] = []
        self.found: list[int] = []  # distances of the witnesses handed out so far

    def decide(self, eps: int) -> Verdict:
        # the search never solves a box that holds a witness it already has
        assert all(d > eps for d in self.found), (eps, self.found)
        self.calls.append(eps)
        if eps in self.unknown:
            return Verdict("unknown", "fake", 0.0, reason="timeout")
        if eps <= self.threshold:
            return Verdict("holds", "fake", 0.0)
        self.found.append(self.near(eps))
        return Verdict("violated", "fake", 0.0, counterexample=witness(self.near(eps)))

    @staticmethod
    def reuse(cex: Counterexample, eps: int) -> Counterexample | None:
        return Counterexample(cex.input, cex.codes, cex.output, None, ["fake-replay"]) if int(cex.codes[0]) <= eps else None


def search(fake: Fake, max_eps: int, **kw):
    return search_radius(fake.decide, max_eps, fake.reuse, **kw)


@pytest.mark.parametrize("max_eps", [0, 1, 2, 5, 8, 31, 100])
def test_monotone_threshold_is_found_by_gallop_and_bisection(max_eps):
    for t in range(-1, max_eps + 1):
        fake = Fake(t)
        r = search(fake, max_eps)
        assert (r.radius, r.refuted_at) == ((None if t < 0 else t), (t + 1 if t < max_eps else None))
        assert r.exact and r.unknown == [] and r.untried == [] and r.stopped == ""
        assert len(fake.calls) <= 2 + 2 * math.ceil(math.log2(max_eps + 1))  # eps 0, gallop, then bisection
        assert len(fake.calls) == len(set(fake.calls))  # no eps is solved twice
        if r.refuted_at is not None:
            assert r.witness is not None and r.witness.counterexample.replayed_by


def test_unknowns_in_the_middle_are_reported_never_guessed():
    fake = Fake(10, unknown={9, 10, 11})
    r = search(fake, 30)
    assert (r.radius, r.refuted_at, r.unknown, r.untried) == (8, 12, [9, 10, 11], [])
    assert not r.exact
    assert {9, 10, 11} <= set(fake.calls)  # the gap was narrowed as far as the answers allow
    assert [s.status for s in r.steps if s.eps in (9, 10, 11)] == ["unknown"] * 3


def test_an_unknown_below_a_proven_eps_drops_out_of_the_gap():
    fake = Fake(10, unknown={4})
    r = search(fake, 30)
    assert (r.radius, r.refuted_at, r.unknown) == (10, 11, []) and r.exact
    assert fake.calls[:5] == [0, 1, 2, 4, 3]  # the gallop stops at the unknown; below it first
    assert any(s.eps == 4 and s.status == "unknown" for s in r.steps)  # still in the log of steps


def test_a_witness_is_reused_by_box_containment_instead_of_solved():
    # every witness lies at distance 9: the one found at 16 decides 9..15 without a solve
    fake = Fake(8, near=lambda e: 9)
    r = search(fake, 30)
    assert (r.radius, r.refuted_at) == (8, 9) and r.exact
    assert fake.calls == [0, 1, 2, 4, 8, 16]  # without the reuse, 12, 10 and 9 would be solved too
    reused = [s for s in r.steps if s.how == "reused"]
    assert [(s.eps, s.reused_from, s.status) for s in reused] == [(9, 16, "violated")]
    assert r.witness is reused[0].verdict and r.witness.counterexample.replayed_by == ["fake-replay"]
    assert "found at eps 16" in r.witness.reason


def test_holds_everywhere_up_to_max():
    fake = Fake(math.inf)
    r = search(fake, 7)
    assert (r.radius, r.refuted_at, r.unknown) == (7, None, []) and r.exact and not r.misclassified
    assert fake.calls == [0, 1, 2, 4, 7]


def test_eps_0_violated_is_a_misclassified_sample():
    fake = Fake(-1)
    r = search(fake, 30)
    assert fake.calls == [0]
    assert (r.radius, r.refuted_at) == (None, 0) and r.misclassified and r.exact


def test_max_0():
    assert search(Fake(5), 0).radius == 0
    r = search(Fake(5, unknown={0}), 0)
    assert (r.radius, r.refuted_at, r.unknown, r.exact) == (None, None, [0], False)


def test_total_budget_stops_with_untried_eps_listed():
    budget = Budget(4.5)
    fake = Fake(20)

    def decide(eps: int) -> Verdict:  # each query "takes" 1 s of the budget's clock: deterministic
        budget.start -= 1.0
        return fake.decide(eps)

    r = search_radius(decide, 100, fake.reuse, budget=budget)
    assert fake.calls == [0, 1, 2, 4, 8]  # the 6th solve would start after 5 s
    assert (r.radius, r.refuted_at, r.unknown, r.untried) == (8, None, [], list(range(9, 101)))
    assert r.stopped == "the total time limit of 4.5 s was reached" and not r.exact


def test_every_answer_pattern_is_sound_and_narrowed():
    """Any unknowns, any threshold, near witnesses or not: the radius is proven, the refuted eps
    has a replayed witness, and every eps in between was tried and is unknown."""
    rng = random.Random(0)
    for max_eps, t in itertools.product(range(0, 12), range(-1, 12)):
        if t > max_eps:
            continue
        for _ in range(8):
            unknown = {e for e in range(max_eps + 1) if rng.random() < 0.3}
            near = rng.choice([None, lambda e, t=t: max(t + 1, e - 3)])
            fake = Fake(t, unknown, near)
            steps = []
            r = search(fake, max_eps, on_step=steps.append)
            assert steps == r.steps
            assert r.radius is None or (r.radius <= t and any(s.eps == r.radius and s.status == "holds" for s in r.steps))
            assert r.refuted_at is None or (r.refuted_at > t and r.witness is not None)
            lo = -1 if r.radius is None else r.radius
            hi = max_eps + 1 if r.refuted_at is None else r.refuted_at
            assert r.untried == [] and r.unknown == list(range(lo + 1, hi))
            assert set(r.unknown) <= unknown
            assert r.exact == (r.unknown == [] and (r.refuted_at is not None or r.radius == max_eps))
            assert len(fake.calls) == len(set(fake.calls))


def test_bad_grid():
    for bad in (-1, 2.5, True, "3"):
        with pytest.raises(RadiusError, match="maximum radius"):
            search_radius(lambda e: Verdict("holds", "fake", 0.0), bad)  # type: ignore[arg-type]


def test_next_probe_gallops_then_bisects_the_lowest_untried_stretch():
    assert next_probe(-1, 31, {}) == 0
    assert [next_probe(lo, 31, dict.fromkeys(range(lo + 1), "holds")) for lo in (0, 1, 2, 4, 8, 16)] == [1, 2, 4, 8, 16, 30]
    assert next_probe(30, 31, dict.fromkeys([0, 30], "holds")) is None
    assert next_probe(-1, 31, {0: "unknown"}) == 15  # no gallop without a holds
    tried = {0: "holds", 1: "holds", 2: "holds", 4: "holds", 8: "violated"}
    assert next_probe(4, 8, tried) == 6
    assert next_probe(2, 31, {**tried, 4: "unknown", 8: "unknown"}) == 3  # below the unknown first
    assert next_probe(3, 31, {**tried, 3: "holds", 4: "unknown", 8: "unknown"}) == 6
    assert next_probe(7, 31, {**tried, 7: "holds", 4: "unknown", 8: "unknown"}) == 19
    assert next_probe(14, 16, {14: "holds", 15: "unknown"}) is None
