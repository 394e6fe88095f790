"""The bit-vector engine against brute force: random networks (every requantizer
profile, fixed point and float, 2-16 bit weights, zero points at the edges, pair
saturation, conv / pooling), random input boxes of at most 2^14 points, random
output conditions. Ground truth enumerates the whole box through the reference
interpreter. Counterexamples are replayed by the engine itself."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bvverify.engines.bv import verify_bv
from bvverify.errors import UnsupportedOpError
from bvverify.properties.boxes import codes_of_box
from bvverify.properties.spec import Property
from tests.strategies import Tally, boxes, conditions, enumerate_box, networks

N_DEFAULT = int(os.environ.get("BVVERIFY_BV_CASES", "320"))
BALANCE = {"holds": 0.2, "violated": 0.2}  # floors on the verdict shares


def check_case(data, net) -> str:
    lo, hi = data.draw(boxes(net))
    clo, chi = codes_of_box(net, lo, hi)
    points = enumerate_box(clo, chi)
    out = net.evaluate_codes(points)
    flat = out.reshape(len(points), -1)
    cond = data.draw(conditions(flat.shape[1], flat.min(0), flat.max(0)))
    y = net.dequantize(flat) if cond.over == "dequantized" else flat
    truth = any(cond.holds(row) for row in y)
    prop = Property(lo, hi, cond)
    verdict = verify_bv(net, prop, timeout=120)
    assert verdict.status != "unknown", verdict.reason
    assert (verdict.status == "violated") == truth, f"bv says {verdict.status}, brute force says violated={truth}"
    if verdict.counterexample is not None:
        cex_codes = verdict.counterexample.codes
        assert np.all(cex_codes >= clo) and np.all(cex_codes <= chi)
    return verdict.status


def run_cases(max_examples: int, derandomize: bool) -> Tally:
    """``max_examples`` drawn cases, each checked against brute force; their verdicts counted."""
    tally = Tally("bv vs brute force")

    @settings(max_examples=max_examples, deadline=None, derandomize=derandomize,
              suppress_health_check=list(HealthCheck))
    @given(networks(), st.data())
    def inner(net, data):
        try:
            tally.add(check_case(data, net))
        except UnsupportedOpError as e:  # pragma: no cover - the generator only builds lowered ops
            pytest.fail(str(e))

    inner()
    return tally


def test_bv_matches_bruteforce():
    run_cases(N_DEFAULT, derandomize=True).require(shares=BALANCE)


@pytest.mark.slow
def test_bv_matches_bruteforce_slow():
    run_cases(3200, derandomize=False).require(shares=BALANCE)
