"""The engine registry: one call for every engine, one budget, one timeout wording."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import bvverify
from bvverify.backends.budget import Budget
from bvverify.bundled import resolve_model, test_images
from bvverify.engines.base import Verdict
from bvverify.engines.config import EngineOptions, OptionError
from bvverify.engines.registry import ENGINES, mark_timeout, verify
from bvverify.engines.results import vnncomp_word, write_vnncomp_result
from bvverify.properties.robustness import robustness_property


def test_every_engine_name_has_an_entry() -> None:
    from bvverify.engines.config import ENGINES as NAMES

    assert set(NAMES) == set(ENGINES)
    for name in NAMES:
        EngineOptions(name)  # each validates


def test_options_refuse_what_does_not_apply() -> None:
    for bad in (dict(engine="bv", solver="cpsat"), dict(engine="bounds", steps="rounding"), dict(solver="glpk"),
                dict(bounds="zonotope"), dict(engine="auto2")):
        with pytest.raises(OptionError):
            EngineOptions(**bad)
    assert EngineOptions.parse("ilp:highs").label == "ilp/highs"
    assert EngineOptions.parse("bounds:interval").bounds == "interval"
    assert EngineOptions().ilp_steps == "thresholds" and EngineOptions(solver="highs").ilp_steps == "rounding"


def test_a_spent_budget_is_a_timeout_in_one_wording() -> None:
    budget = Budget(0.01)
    time.sleep(0.02)
    v = mark_timeout(Verdict("unknown", "ilp/cpsat", 0.02, reason="cp-sat: UNKNOWN"), budget)
    assert v.stats["timed_out"] and v.reason == "timeout: the 0.01 s limit was reached (cp-sat: UNKNOWN)"
    assert vnncomp_word(v) == "timeout"
    fresh = mark_timeout(Verdict("unknown", "bounds", 0.0, reason="bounds leave 1 of 9 clauses open"), Budget(60))
    assert "timed_out" not in fresh.stats and vnncomp_word(fresh) == "unknown"  # undecided, not out of time


@pytest.mark.parametrize("spec", ["ilp:cpsat", "ilp:highs", "bv"])
def test_every_solver_timeout_reaches_the_result_file_as_timeout(spec: str, tmp_path: Path) -> None:
    """Image 3 at eps 1 on the bundled MLP: CP-SAT needs about 3.5 s to find its counterexample (and
    sometimes more than 20 s), bv more than 20 s; at 0.3 s every exact engine runs out. CP-SAT says
    UNKNOWN when its time is up; the result file said 'unknown' for it before."""
    net = bvverify.load(resolve_model("digits-mlp"))
    x, y = test_images()
    prop = robustness_property(net, x[3].reshape(-1), int(y[3]), 1)
    t0 = time.perf_counter()
    v = verify(net, prop, EngineOptions.parse(spec), timeout=0.3)
    assert time.perf_counter() - t0 < 0.3 + 1.5  # the one budget, with a generous margin for a loaded machine
    assert v.status == "unknown" and v.stats.get("timed_out"), v.reason
    write_vnncomp_result(tmp_path / "r.txt", v, net.integer_input, "codes")
    assert (tmp_path / "r.txt").read_text().splitlines()[0] == "timeout"
