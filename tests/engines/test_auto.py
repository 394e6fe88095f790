"""The ``auto`` engine against brute force, the other engines, and its own promises.

The ground truth is the brute-force enumeration of the ILP tests' generated cases (random IR
networks of every profile with pair saturation, avgpool and add networks, random boxes and DNF
conditions). ``auto`` decides each case through whichever phase gets there first (attack,
bounds, branching, exact), so the test runs it as shipped and with branching forced on, and
checks the phases that decided were varied: a test whose cases were all decided by the bounds
would not test the attack or the exact phase.
"""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
import pytest

import bvverify
from bvverify.backends.base import SolveResult
from bvverify.backends.cpsat import CpSat
from bvverify.bundled import resolve_model, test_images
from bvverify.engines import auto
from bvverify.engines.config import EngineOptions
from bvverify.engines.registry import verify
from bvverify.properties.robustness import robustness_property
from tests.engines.test_ilp_bruteforce import case_lists, check_verdict

KINDS = ["ir", "avgpool", "add"]


def _run_cases(kind: str, solver: str, splits: int, monkeypatch) -> Counter:
    monkeypatch.setattr(auto, "SPLITS", splits)
    phases: Counter = Counter()
    for i, case in enumerate(case_lists()[kind]):
        v = verify(case.net, case.prop, EngineOptions("auto", solver=solver), 120)
        check_verdict(v, case, f"{kind} case {i}: auto/{solver}/splits={splits}: ")
        phases[v.stats["decided_by"]] += 1
    return phases


@pytest.mark.parametrize("kind", KINDS)
def test_auto_matches_bruteforce(kind: str, monkeypatch) -> None:
    phases = _run_cases(kind, "cpsat", auto.SPLITS, monkeypatch)
    assert sum(phases.values()) == len(case_lists()[kind])
    if kind == "ir":  # measured on the 120 IR cases: every phase decides some
        assert phases["attack"] >= 10 and phases["bounds"] >= 10 and phases["exact"] >= 5, phases


@pytest.mark.parametrize("kind", KINDS)
def test_auto_with_branching_matches_bruteforce(kind: str, monkeypatch) -> None:
    """Forced input splits (and HiGHS, whose near misses go through the refinement path)."""
    phases = _run_cases(kind, "highs", 6, monkeypatch)
    assert sum(phases.values()) == len(case_lists()[kind])


@pytest.mark.parametrize("kind", KINDS)
def test_the_follow_up_solver_matches_bruteforce(kind: str, monkeypatch) -> None:
    """The default exact phase shares each turn between CP-SAT and the LP branch-and-bound. Here
    CP-SAT answers nothing, the attack has no rounds and the bounds phase closes nothing, so every
    clause that the encoding's own (interval) bounds leave reaches the follow-up solver: each
    violation is its solution replayed, each proof is checked against enumeration."""
    monkeypatch.setattr(CpSat, "solve", lambda self, *a, **k: SolveResult("unknown", reason="CP-SAT off (test)"))
    monkeypatch.setattr(auto, "QUICK_ATTACK", (*auto.QUICK_ATTACK[:2], 0))
    monkeypatch.setattr(auto, "FOCUS_ATTACK", (*auto.FOCUS_ATTACK[:2], 0))
    monkeypatch.setattr(auto, "open_clauses", lambda net, prop, *_: list(range(len(prop.output.clauses))))
    cases = case_lists()[kind]
    follow = 0
    for i, case in enumerate(cases):
        v = verify(case.net, case.prop, EngineOptions("auto", bounds="interval"), 120)
        check_verdict(v, case, f"{kind} case {i}: auto, follow-up only: ")
        follow += v.stats["follow_up_decided"]
        assert v.stats["decided_by"] in ("exact", "refinement"), v.stats
    assert follow >= len(cases) // 2, follow  # measured: every violated case, 74 / 19 / 20


def _digits(index: int, eps: int):
    net = bvverify.load(resolve_model("digits-mlp"))
    xs, ys = test_images()
    x = xs[index].reshape(-1).astype(np.float64)
    return net, robustness_property(net, x, int(ys[index]), eps, "codes"), x


def test_quick_start_image_3_is_refuted_by_the_attack() -> None:
    """The query the solvers needed ~3.5 s for (image 3 at eps 1) falls to the search."""
    net, prop, x = _digits(3, 1)
    v = verify(net, prop, EngineOptions("auto"), 20, prefer=x)
    assert v.status == "violated" and v.stats["decided_by"] == "attack", (v.status, v.stats)
    assert v.counterexample is not None and "interpreter" in v.counterexample.replayed_by
    assert v.stats["solver_calls"] == 0


def test_stats_and_determinism() -> None:
    """Per-phase statistics are reported, and the same seed gives the same search."""
    net, prop, x = _digits(0, 2)
    runs = [verify(net, prop, EngineOptions("auto", seed=7), 30, prefer=x) for _ in range(2)]
    for key in ("attack_tries", "attack_seconds", "bounds_seconds", "branches", "solver_calls", "solver_seconds",
                "decided_by", "open_after_bounds"):
        assert key in runs[0].stats
    assert runs[0].status == runs[1].status
    if not any(r.stats["attack_cut"] for r in runs):  # no round was cut by its time cap (a loaded machine can)
        assert runs[0].stats["attack_tries"] == runs[1].stats["attack_tries"]
        assert runs[0].stats["decided_by"] == runs[1].stats["decided_by"]


def test_a_cut_attack_is_counted() -> None:
    """A budget too short for the seeded rounds says so (attack_cut), since the search may then differ."""
    net, prop, x = _digits(0, 2)
    v = verify(net, prop, EngineOptions("attack", seed=7), 0.05, prefer=x)
    assert v.status == "unknown" and v.stats["attack_cut"] > 0


def test_attack_engine_is_sound_and_incomplete() -> None:
    """``attack`` never says holds: a replayed counterexample or unknown."""
    net, prop, x = _digits(3, 1)
    v = verify(net, prop, EngineOptions("attack"), 5, prefer=x)
    assert v.status == "violated" and v.engine == "attack"
    net, prop, x = _digits(0, 1)
    v = verify(net, prop, EngineOptions("attack"), 0.5, prefer=x)
    assert v.status == "unknown" and v.engine == "attack"


def test_budget_covers_every_phase() -> None:
    """A short budget is kept (everything included) on a query that needs the exact phase."""
    net = bvverify.load(resolve_model("digits-cnn"))
    xs, ys = test_images()
    x = xs[1].reshape(-1).astype(np.float64)
    prop = robustness_property(net, x, int(ys[1]), 6, "codes")
    t = time.perf_counter()
    v = verify(net, prop, EngineOptions("auto"), 1.5, prefer=x)
    assert time.perf_counter() - t < 1.5 + 1.0, v.stats
