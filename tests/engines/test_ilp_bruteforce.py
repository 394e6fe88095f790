"""The ILP engine against brute force and the bit-vector engine, on the bit-vector
tests' own generators (random IR networks of every profile, avgpool and add
networks, random boxes and DNF conditions), for every solver and bound method.
Ground truth enumerates the whole box through the reference interpreter."""

from __future__ import annotations

import os
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
from bvverify.ir.split import requant_channel
from bvverify.properties.boxes import codes_of_box
from bvverify.properties.spec import Linear, OutputCondition, Property
from bvverify.runtimes.base import step_table
from tests.engines import test_bv_elementwise as elementwise
from tests.engines.test_bv_bruteforce import boxes, conditions, enumerate_box
from tests.ir_strategies import networks, requant

COUNTS: dict[str, int] = {"cases": 0, "holds": 0, "violated": 0, "pair_saturation": 0}
N_DEFAULT = int(os.environ.get("BVVERIFY_ILP_CASES", "120"))
N_SLOW = int(os.environ.get("BVVERIFY_ILP_SLOW_CASES", "1000"))
# every bound method, clause mode and step encoding, in pairs, for every solver
MODES = [(method, split, steps) for method in BOUND_METHODS for split, steps in
         (((True, "thresholds"), (False, "rounding")) if method == "symbolic" else ((True, "rounding"), (False, "thresholds")))]


def agree(net, prop: Property, truth: bool, clo: np.ndarray, chi: np.ndarray, with_bv: bool = True) -> None:
    """Every solver, bound method and clause mode gives the brute-force verdict (and so does bv)."""
    if with_bv:
        bv = verify_bv(net, prop, timeout=120)
        assert (bv.status == "violated") == truth and bv.status != "unknown", f"bv: {bv.status} vs truth {truth}"
    for solver in SOLVERS:
        for method, split, steps in MODES:
            v = verify_ilp(net, prop, solver=solver, timeout=120, bounds=method, split=split, steps=steps)
            tag = f"{solver}/{method}/split={split}/{steps}"
            assert v.status != "unknown", f"{tag}: {v.reason}"
            assert (v.status == "violated") == truth, f"{tag} says {v.status}, brute force says violated={truth}"
            if v.counterexample is not None:
                codes = v.counterexample.codes
                assert np.all(codes >= clo) and np.all(codes <= chi)
    COUNTS["cases"] += 1
    COUNTS["violated" if truth else "holds"] += 1
    COUNTS["pair_saturation"] += any(getattr(n, "pair_saturation", False) for n in net.nodes)


def check_ir_case(data, net) -> None:
    lo, hi = data.draw(boxes(net))
    clo, chi = codes_of_box(net, lo, hi)
    points = enumerate_box(clo, chi)
    flat = net.evaluate_codes(points).reshape(len(points), -1)
    cond = data.draw(conditions(flat.shape[1], flat.min(0), flat.max(0)))
    y = net.dequantize(flat) if cond.over == "dequantized" else flat
    truth = any(cond.holds(row) for row in y)
    agree(net, Property(lo, hi, cond), truth, clo, chi)


def check_elementwise_case(data, net) -> None:
    clo, chi = elementwise.code_box(data.draw, net)
    points = enumerate_box(clo, chi)
    flat = net.evaluate_codes(points).reshape(len(points), -1)
    outs = elementwise.varying_outputs(flat)
    if data.draw(st.booleans()):
        cond = data.draw(elementwise.conditions(outs, flat))
    else:  # "the outputs are exactly y" for a reached y, maybe nudged: exercises equality atoms
        y = flat[data.draw(st.integers(0, len(flat) - 1)), outs].astype(np.int64)
        if data.draw(st.booleans()):
            y[data.draw(st.integers(0, len(outs) - 1))] += data.draw(st.sampled_from([-1, 1]))
        atoms = [Linear(((int(j), Fraction(s)),), Fraction(s * int(v))) for j, v in zip(outs, y) for s in (1, -1)]
        cond = OutputCondition((tuple(atoms),), "codes")
    truth = any(cond.holds(row) for row in flat)
    agree(net, Property(clo.astype(np.float64), chi.astype(np.float64), cond), truth, clo, chi, with_bv=False)


SETTINGS = settings(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@settings(SETTINGS, max_examples=N_DEFAULT)
@given(networks(), st.data())
def test_ilp_matches_bruteforce_and_bv(net, data):
    check_ir_case(data, net)


@settings(SETTINGS, max_examples=30)
@given(elementwise.avgpool_nets(), st.data())
def test_ilp_avgpool_matches_bruteforce(net, data):
    check_elementwise_case(data, net)


@settings(SETTINGS, max_examples=30)
@given(elementwise.add_nets(), st.data())
def test_ilp_add_matches_bruteforce(net, data):
    check_elementwise_case(data, net)


@pytest.mark.slow
@settings(max_examples=N_SLOW, deadline=None, derandomize=False, suppress_health_check=list(HealthCheck))
@given(networks(), st.data())
def test_ilp_matches_bruteforce_slow(net, data):
    check_ir_case(data, net)


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


@pytest.mark.parametrize("w, xz", [([[127, 127, -128, -128, 127]], 0), ([[127, 127, -128, 5, 100]], 3)])
def test_pair_saturation_against_bruteforce(w, xz):
    """Pair sums that do saturate to int16 (127*255*2 > 32767), with and without an input
    zero point and an odd tap count: every solver finds exactly the reachable accumulators."""
    from bvverify.ir.graph import QNetwork

    spec = ops.InputSpec((5,), 0, 255)
    dense = ops.Dense("fc", ("input",), np.array(w, dtype=np.int64), np.zeros(1, np.int64), xz, pair_saturation=True)
    net = QNetwork(spec, (dense,), ops.OutputSpec("fc"))
    clo, chi = np.array([250, 240, 0, 250, 0]), np.array([255, 255, 3, 255, 2])
    reach = net.evaluate_codes(enumerate_box(clo, chi)).ravel()
    for target in (int(reach.max()), int(reach.max()) + 1, int(reach.min()), int(reach.min()) - 1):
        cond = OutputCondition(((Linear(((0, Fraction(1)),), Fraction(target)),
                                 Linear(((0, Fraction(-1)),), Fraction(-target))),), "codes")
        truth = bool(np.any(reach == target))
        agree(net, Property(clo.astype(np.float64), chi.astype(np.float64), cond), truth, clo, chi)


def teardown_module(module):
    print(f"\nilp vs brute force: {COUNTS}")
