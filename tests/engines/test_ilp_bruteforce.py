"""The ILP engine against brute force and the bit-vector engine, on the bit-vector
tests' own generators (random IR networks of every profile, avgpool and add
networks, random boxes and DNF conditions), for every solver and bound method.
Ground truth enumerates the whole box through the reference interpreter.

The cases are drawn once per module (derandomized hypothesis) and every
solver x bound method x clause mode x step encoding is its own test over them, so
a failure names the solver and mode; the cases' verdict balance is a test too."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bvverify.backends import ILP_BACKENDS as SOLVERS
from bvverify.encoders.ilp import rounding_form
from bvverify.engines.bv import verify_bv
from bvverify.engines.ilp import BOUND_METHODS, verify_ilp
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork
from bvverify.ir.split import requant_channel
from bvverify.properties.boxes import codes_of_box
from bvverify.properties.spec import Linear, OutputCondition, Property
from bvverify.runtimes.base import step_table
from tests.strategies import (
    Tally,
    add_nets,
    avgpool_nets,
    boxes,
    conditions,
    enumerate_box,
    networks,
    requant,
    small_code_box,
    tight_conditions,
    varying_outputs,
)

N_DEFAULT = int(os.environ.get("BVVERIFY_ILP_CASES", "120"))
N_ELEMENTWISE = 30
N_SLOW = int(os.environ.get("BVVERIFY_ILP_SLOW_CASES", "1000"))
# every bound method, clause mode and step encoding, in pairs, for every solver
MODES = [(method, split, steps) for method in BOUND_METHODS for split, steps in
         (((True, "thresholds"), (False, "rounding")) if method == "symbolic" else ((True, "rounding"), (False, "thresholds")))]
ILP_RUNS = [pytest.param(solver, method, split, steps, id=f"{solver}-{method}-{'split' if split else 'joint'}-{steps}")
            for solver in SOLVERS for method, split, steps in MODES]
RUNS = [pytest.param("bv", None, None, None, id="bv"), *ILP_RUNS]  # the bit-vector engine as a reference too
BALANCE = {"holds": 0.2, "violated": 0.2}  # floors on the verdict shares of each case list
PAIR_SATURATION_CASES = 30  # IR cases with a pair-saturating layer (67 of 120 measured)
SETTINGS = settings(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@dataclass(frozen=True)
class Case:
    net: QNetwork
    prop: Property
    truth: bool  # brute force: some point of the box satisfies the condition
    clo: np.ndarray
    chi: np.ndarray

    def describe(self) -> str:
        return f"{[n.op for n in self.net.nodes]} box {self.clo.ravel().tolist()}..{self.chi.ravel().tolist()}"


def check_verdict(v, case: Case, tag: str) -> None:
    assert v.status != "unknown", f"{tag}: {v.reason}"
    assert (v.status == "violated") == case.truth, (f"{tag} says {v.status}, brute force says violated={case.truth} "
                                                    f"on {case.describe()}")
    if v.counterexample is not None:
        codes = v.counterexample.codes
        assert np.all(codes >= case.clo) and np.all(codes <= case.chi), tag


def check_run(case: Case, solver: str, method: str | None, split: bool | None, steps: str | None, tag: str = "") -> None:
    """One engine run (``solver`` "bv": the bit-vector engine) gives the brute-force verdict."""
    if solver == "bv":
        check_verdict(verify_bv(case.net, case.prop, timeout=120), case, f"{tag}bv")
        return
    v = verify_ilp(case.net, case.prop, solver=solver, timeout=120, bounds=method, split=split, steps=steps)
    check_verdict(v, case, f"{tag}{solver}/{method}/split={split}/{steps}")


def check_all(case: Case) -> None:
    """bv and every solver, bound method and clause mode give the brute-force verdict."""
    check_run(case, "bv", None, None, None)
    for solver in SOLVERS:
        for method, split, steps in MODES:
            check_run(case, solver, method, split, steps)


def ir_case(data, net) -> Case:
    lo, hi = data.draw(boxes(net))
    clo, chi = codes_of_box(net, lo, hi)
    points = enumerate_box(clo, chi)
    flat = net.evaluate_codes(points).reshape(len(points), -1)
    cond = data.draw(conditions(flat.shape[1], flat.min(0), flat.max(0)))
    y = net.dequantize(flat) if cond.over == "dequantized" else flat
    return Case(net, Property(lo, hi, cond), any(cond.holds(row) for row in y), clo, chi)


def elementwise_case(data, net) -> Case:
    clo, chi = small_code_box(data.draw, net)
    points = enumerate_box(clo, chi)
    flat = net.evaluate_codes(points).reshape(len(points), -1)
    outs = varying_outputs(flat)
    if data.draw(st.booleans()):
        cond = data.draw(tight_conditions(outs, flat))
    else:  # "the outputs are exactly y" for a reached y, maybe nudged: exercises equality atoms
        y = flat[data.draw(st.integers(0, len(flat) - 1)), outs].astype(np.int64)
        if data.draw(st.booleans()):
            y[data.draw(st.integers(0, len(outs) - 1))] += data.draw(st.sampled_from([-1, 1]))
        atoms = [Linear(((int(j), Fraction(s)),), Fraction(s * int(v))) for j, v in zip(outs, y) for s in (1, -1)]
        cond = OutputCondition((tuple(atoms),), "codes")
    truth = any(cond.holds(row) for row in flat)
    return Case(net, Property(clo.astype(np.float64), chi.astype(np.float64), cond), truth, clo, chi)


def draw_cases(nets, make, max_examples: int) -> tuple[Case, ...]:
    """``max_examples`` cases, the same ones on every run (derandomized)."""
    cases: list[Case] = []

    @settings(SETTINGS, max_examples=max_examples)
    @given(nets, st.data())
    def draw(net, data):
        cases.append(make(data, net))

    draw()
    return tuple(cases)


@functools.cache
def case_lists() -> dict[str, tuple[Case, ...]]:
    return {"ir": draw_cases(networks(), ir_case, N_DEFAULT),
            "avgpool": draw_cases(avgpool_nets(), elementwise_case, N_ELEMENTWISE),
            "add": draw_cases(add_nets(), elementwise_case, N_ELEMENTWISE)}


def run_all(kind: str, check) -> None:
    for i, case in enumerate(case_lists()[kind]):
        check(case, f"{kind} case {i}: ")


@pytest.mark.parametrize("solver, method, split, steps", RUNS)
def test_ilp_matches_bruteforce_and_bv(solver: str, method: str, split: bool, steps: str) -> None:
    run_all("ir", lambda case, tag: check_run(case, solver, method, split, steps, tag))


@pytest.mark.parametrize("kind", ["avgpool", "add"])
@pytest.mark.parametrize("solver, method, split, steps", ILP_RUNS)
def test_ilp_elementwise_matches_bruteforce(kind: str, solver: str, method: str, split: bool, steps: str) -> None:
    run_all(kind, lambda case, tag: check_run(case, solver, method, split, steps, tag))


@pytest.mark.parametrize("kind", ["ir", "avgpool", "add"])
def test_cases_are_balanced(kind: str) -> None:
    """Both verdicts are common in each case list, and IR networks with pair saturation occur."""
    tally = Tally(f"ilp cases [{kind}]")
    for case in case_lists()[kind]:
        pairs = any(getattr(n, "pair_saturation", False) for n in case.net.nodes)
        tally.add("violated" if case.truth else "holds", *(["pair_saturation"] if pairs else []))
    tally.require(shares=BALANCE, **({"pair_saturation": PAIR_SATURATION_CASES} if kind == "ir" else {}))


@pytest.mark.slow
def test_ilp_matches_bruteforce_slow() -> None:
    tally = Tally("ilp vs brute force (slow)")

    @settings(max_examples=N_SLOW, deadline=None, derandomize=False, suppress_health_check=list(HealthCheck))
    @given(networks(), st.data())
    def inner(net, data):
        case = ir_case(data, net)
        check_all(case)
        tally.add("violated" if case.truth else "holds")

    inner()
    tally.require(shares=BALANCE)


@settings(SETTINGS, max_examples=200)
@given(requant("r", "acc", 1), st.integers(-(2**20), 2**20), st.integers(0, 2**16))
def test_rounding_form_is_exact_where_found(node: ops.Requantize, lo: int, width: int):
    """A linear rounding form, when one is found, reproduces the step table on every
    integer from just below the first threshold to the last one."""
    f, (mono_lo, mono_hi) = requant_channel(node, 0)
    lo, hi = max(lo, mono_lo), min(lo + width, mono_hi)
    table = step_table(f, lo, hi)
    form = rounding_form(table)
    if node.profile == "pow2" and len(np.unique(table.thresholds)) >= 2:
        assert form is not None  # a shift is a floor division: always linear
    if form is None:
        return
    a = np.arange(int(table.thresholds[0]) - 1, int(table.thresholds[-1]) + 1)
    got = np.array([form(int(v)) for v in a])
    assert np.array_equal(got, table(a))


@pytest.mark.parametrize("solver, method, split, steps", RUNS)
@pytest.mark.parametrize("w, xz", [([[127, 127, -128, -128, 127]], 0), ([[127, 127, -128, 5, 100]], 3)], ids=["even", "odd"])
def test_pair_saturation_against_bruteforce(w, xz, solver: str, method: str, split: bool, steps: str):
    """Pair sums that do saturate to int16 (127*255*2 > 32767), with and without an input
    zero point and an odd tap count: every solver (and bv) finds exactly the reachable accumulators."""
    spec = ops.InputSpec((5,), 0, 255)
    dense = ops.Dense("fc", ("input",), np.array(w, dtype=np.int64), np.zeros(1, np.int64), xz, pair_saturation=True)
    net = QNetwork(spec, (dense,), ops.OutputSpec("fc"))
    clo, chi = np.array([250, 240, 0, 250, 0]), np.array([255, 255, 3, 255, 2])
    reach = net.evaluate_codes(enumerate_box(clo, chi)).ravel()
    for target in (int(reach.max()), int(reach.max()) + 1, int(reach.min()), int(reach.min()) - 1):
        cond = OutputCondition(((Linear(((0, Fraction(1)),), Fraction(target)),
                                 Linear(((0, Fraction(-1)),), Fraction(-target))),), "codes")
        case = Case(net, Property(clo.astype(np.float64), chi.astype(np.float64), cond), bool(np.any(reach == target)),
                    clo, chi)
        check_run(case, solver, method, split, steps, f"target {target}: ")

