"""Every solver back-end behind the one seam: answers checked in exact integer arithmetic,
capabilities as documented, and the time budget honoured (a spent one is never solved)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
import z3

from bvverify.backends import ILP_BACKENDS, get
from bvverify.backends.base import SPENT, Capabilities, UnknownSolverError
from bvverify.backends.budget import Budget
from bvverify.backends.cpsat import CpSat
from bvverify.backends.killable import GRACE_SECONDS, solve_killable
from bvverify.backends.z3_bv import BvQuery, Z3Bv
from bvverify.encoders.intmodel import IntModel, Lin
from bvverify.errors import BvverifyError, InternalError

CAPABILITIES = {
    "cpsat": Capabilities(exact=True, incremental=False, hints=True),
    "highs": Capabilities(exact=False, incremental=False, hints=False),
    "lpbab": Capabilities(exact=True, incremental=False, hints=False),
    "z3": Capabilities(exact=True, incremental=True, hints=False),
    "z3opt": Capabilities(exact=True, incremental=True, hints=False),
}


def spent() -> Budget:
    return Budget(1.0, start=time.perf_counter() - 2.0)


def satisfies(model: IntModel, values: list[int]) -> bool:
    """Every bound and every active constraint, in Python integers."""
    if len(values) != model.n_vars or any(not lo <= v <= hi for v, lo, hi in zip(values, model.lo, model.hi)):
        return False
    for con in model.constraints:
        if con.when is not None and values[con.when[0]] != con.when[1]:
            continue
        e = con.lin.const + sum(c * values[v] for v, c in con.lin.terms.items())
        if (con.lo is not None and e < con.lo) or (con.hi is not None and e > con.hi):
            return False
    return True


def feasible_model() -> IntModel:
    """Equalities, one-sided rows and literals of both polarities; few integer solutions."""
    m = IntModel()
    x, y, z = m.new_var(0, 9, "x"), m.new_var(-5, 5, "y"), m.new_var(-20, 20, "z")
    b, c = m.new_bool("b"), m.new_bool("c")
    m.add(2 * x + 3 * y, 7, 7)
    m.add(x - y, lo=2)
    m.add(x + y, hi=4, when=(3, 1))  # b = 1: x + y <= 4 (the only solution: x, y, z = 5, -1, 15)
    m.add(x, lo=8, when=(3, 0))  # b = 0: x >= 8
    m.add(z - 3 * x + 1000 * c, 0, 0)  # c = 1 would need z = 3x - 1000: impossible
    m.add(b + c, lo=1)
    return m


def infeasible_model(kind: str = "integrality") -> IntModel:
    """``integrality``: feasible as an LP (x = y = 2.5), not over the integers. ``literal``: each
    side of a binary enforces a row its variable's domain cannot meet."""
    m = IntModel()
    x, y = m.new_var(0, 3, "x"), m.new_var(0, 3, "y")
    if kind == "integrality":
        m.add(x + y, 5, 5)
        m.add(x - y, 0, 0)
    else:
        m.new_bool("b")
        m.add(x + y, lo=7, when=(2, 1))
        m.add(x - y, hi=-4, when=(2, 0))
    return m


def market_split(m: int, n: int, seed: int = 0) -> IntModel:
    """Cornuejols-Dawande market split: a few dense equalities over binaries, notoriously hard
    for branch and bound (this size is far beyond a second of any of the four solvers)."""
    rng = random.Random(seed)
    model = IntModel()
    xs = [model.new_bool(f"x{i}") for i in range(n)]
    for _ in range(m):
        a = [rng.randrange(100) for _ in range(n)]
        model.add(Lin.total(zip(a, xs)), sum(a) // 2, sum(a) // 2)
    return model


@pytest.mark.parametrize("name", ILP_BACKENDS)
def test_feasible_answer_satisfies_every_constraint(name):
    model = feasible_model()
    res = get(name).solve(model, Budget(30.0))
    assert res.status == "feasible" and res.values is not None
    assert satisfies(model, res.values), res.values
    assert res.values[:2] == [5, -1] and res.seconds > 0


@pytest.mark.parametrize("kind", ["integrality", "literal"])
@pytest.mark.parametrize("name", ILP_BACKENDS)
def test_infeasible(name, kind):
    res = get(name).solve(infeasible_model(kind), Budget(30.0))
    assert res.status == "infeasible" and res.values is None


@pytest.mark.parametrize("name", ILP_BACKENDS)
def test_capabilities(name):
    backend = get(name)
    assert backend.name == name and backend.capabilities == CAPABILITIES[name]
    assert Z3Bv().capabilities == Capabilities(exact=True, incremental=True, hints=False)


@pytest.mark.parametrize("name", ILP_BACKENDS)
def test_spent_budget_is_not_solved(name, monkeypatch):
    backend = get(name)

    def boom(*args):
        raise AssertionError("the solver was called on a spent budget")

    monkeypatch.setattr(backend, "_build", boom)
    monkeypatch.setattr(backend, "_run", boom)
    res = backend.solve(feasible_model(), spent())
    assert res.status == "unknown" and res.reason == SPENT == "time limit reached"


@pytest.mark.parametrize("name", ILP_BACKENDS)
def test_no_limit(name):
    assert get(name).solve(infeasible_model(), Budget(None)).status == "infeasible"


@pytest.mark.parametrize("name", ILP_BACKENDS)
def test_hard_model_stops_at_the_budget(name):
    budget = Budget(1.0)
    res = get(name).solve(market_split(6, 50), budget)
    assert res.status == "unknown" and res.reason
    assert budget.elapsed() < 3.0, f"{name} took {budget.elapsed():.2f} s of a 1 s budget"


@pytest.mark.parametrize("name", ILP_BACKENDS)
def test_hints(name):
    """CP-SAT takes a full assignment as a hint (a wrong-length one is a bug); the others drop it."""
    model = feasible_model()
    good = get("z3").solve(model, Budget(30.0)).values
    assert good is not None
    res = get(name).solve(model, Budget(30.0), hints=good)
    assert res.status == "feasible" and satisfies(model, res.values)
    if get(name).capabilities.hints:
        with pytest.raises(InternalError, match="hint"):
            get(name).solve(model, Budget(30.0), hints=good[:-1])
    else:
        assert get(name).solve(model, Budget(30.0), hints=good[:-1]).status == "feasible"


def test_cpsat_threads():
    assert CpSat().threads == max(1, min(8, os.cpu_count() or 1))
    assert get("cpsat", threads=1).threads == 1
    assert get("cpsat", threads=1).solve(feasible_model(), Budget(30.0)).status == "feasible"


def test_unknown_solver_is_refused_by_name():
    with pytest.raises(UnknownSolverError) as e:
        get("gurobi")
    assert isinstance(e.value, BvverifyError)
    assert "'gurobi'" in str(e.value) and all(n in str(e.value) for n in ILP_BACKENDS)


def test_z3_bv_sat_reports_signed_input_values():
    x, y = z3.BitVec("x", 8), z3.BitVec("y", 8)
    q = BvQuery([x + y == 10, x < -3, y > 0], [x, y, z3.BitVecVal(-7, 8)])
    res = Z3Bv().solve(q, Budget(30.0))
    assert res.status == "feasible" and res.values is not None
    vx, vy, vc = res.values
    assert vx < -3 and vy > 0 and (vx + vy) % 256 == 10 and vc == -7


def test_z3_bv_unsat_and_spent():
    x = z3.BitVec("x", 8)
    q = BvQuery([x > 100, x < 50], [x])
    assert Z3Bv().solve(q, Budget(30.0)).status == "infeasible"
    res = Z3Bv().solve(q, spent())
    assert res.status == "unknown" and res.reason == SPENT


def test_killable_child_is_stopped_at_the_deadline():
    t0 = time.perf_counter()
    res = solve_killable(lambda built, seconds: time.sleep(60), None, 0.2, "slow")
    assert res.status == "unknown" and res.reason == "slow: time limit reached (stopped)"
    assert time.perf_counter() - t0 < 0.2 + GRACE_SECONDS + 1.0


def test_killable_child_error_is_raised_here():
    def bad(built, seconds):
        raise ValueError(f"bad model {built}")

    with pytest.raises(ValueError, match="bad model 7"):
        solve_killable(bad, 7, 5.0, "bad")


def test_highs_without_limit_leaves_later_solves_working():
    """HiGHS run in this process would leave its thread scheduler behind and every forked HiGHS
    after it would spin until killed: a solve without a limit must run in a child too. In a
    fresh interpreter, so a regression cannot stall the rest of this session's HiGHS solves."""
    code = (
        "import time\n"
        "from bvverify.backends import Budget, get\n"
        "from tests.backends.test_backends import market_split\n"
        "assert get('highs').solve(market_split(2, 12), Budget(None)).status == 'infeasible'\n"
        "t = time.perf_counter()\n"
        "res = get('highs').solve(market_split(2, 12, seed=1), Budget(20.0))\n"
        "assert res.status == 'infeasible' and time.perf_counter() - t < 5, (res, time.perf_counter() - t)\n"
    )
    root = Path(__file__).resolve().parents[2]
    p = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(root)})
    assert p.returncode == 0, p.stderr[-2000:]


@pytest.mark.parametrize("name", ILP_BACKENDS)
def test_kept_base_answers_like_a_fresh_translation(name):
    """``keep_base`` reuses one translation of the base model for its extended copies: each copy
    must be solved with exactly its own appended constraints (the base never absorbs one)."""
    base = feasible_model()
    kept = get(name)
    kept.keep_base(base)
    extras = [[(Lin({1: 1}), None, -2)], [(Lin({0: 1}), 6, None)], [], [(Lin({2: 1}), None, 14)]]
    for extra in extras * 2:
        model = base.copy()
        for lin, lo, hi in extra:
            model.add(lin, lo, hi)
        got, fresh = kept.solve(model, Budget(30.0)), get(name).solve(model, Budget(30.0))
        assert got.status == fresh.status, (extra, got.status, fresh.status)
        if got.status == "feasible":
            assert satisfies(model, got.solution)
    other = infeasible_model()  # not a copy of the base: translated on its own
    assert kept.solve(other, Budget(30.0)).status == "infeasible"
