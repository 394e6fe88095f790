"""The bit-vector engine on models converted by torch (fbgemm, x86, qnnpack): random
small boxes (at most 2^14 input-code points) around random inputs, random output
conditions; ground truth by enumerating the whole box through torch itself and the
reference interpreter (which must agree on every point)."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

import bvverify  # noqa: E402
from bvverify.engines.bv import verify_bv  # noqa: E402
from bvverify.errors import UnsupportedOpError  # noqa: E402
from bvverify.ir import ops  # noqa: E402
from bvverify.properties.boxes import floats_for_codes  # noqa: E402
from bvverify.properties.spec import Property  # noqa: E402
from tests.strategies import (  # noqa: E402
    MAX_POINTS,
    REFUSALS,
    Tally,
    allocate_radii,
    build_quantized,
    conditions,
    enumerate_box,
    make_inputs,
    model_specs,
    quantized_engine,
)

warnings.filterwarnings("ignore")
torch.set_num_threads(1)
FAMILIES = ["mlp", "cnn", "avgpool", "add", "cat"]


def inputs_for_codes(net, codes: np.ndarray) -> np.ndarray:
    """float32 inputs with exactly these input codes (the dequantized value, or a bisection)."""
    q = net.input.quantizer
    x = ((codes - q.zero_point).astype(np.float32) * np.float32(q.scale)).astype(np.float32)
    bad = np.nonzero(np.any((net.quantize_input(x) != codes).reshape(len(x), -1), axis=1))[0]
    big = float(np.finfo(np.float32).max)
    lo, hi = np.full(net.input.shape, -big), np.full(net.input.shape, big)
    for i in bad:
        x[i] = floats_for_codes(net, codes[i], lo, hi)
    return x


def torch_codes(q, net, x: np.ndarray, per_sample: bool) -> np.ndarray:
    """Output codes of the torch model (its dequantized output mapped back exactly)."""
    with torch.no_grad():
        if per_sample:
            out = np.concatenate([q(torch.from_numpy(x[i : i + 1])).numpy() for i in range(len(x))])
        else:
            out = q(torch.from_numpy(x)).numpy()
    table = net.dequantize(np.arange(256))
    codes = np.searchsorted(table, out)
    assert np.array_equal(table[np.clip(codes, 0, 255)], out)
    return codes


def check_torch_case(engine: str, spec, data) -> str:
    with quantized_engine(engine):
        try:
            q, cal = build_quantized(spec, engine)
            net = bvverify.from_torch(q, cal[:1], engine=engine)
        except UnsupportedOpError as e:
            assume(not any(r in str(e) for r in REFUSALS))
            raise
        except RuntimeError:
            assume(False)
        rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
        centre = net.quantize_input(make_inputs(rng, 1, spec, net.input.quantizer.scale,
                                                net.input.quantizer.zero_point))[0].ravel()
        n = centre.size
        radius = allocate_radii(n, rng.permutation(n)[:14], lambda: int(rng.integers(0, 4)), MAX_POINTS)
        clo = np.clip(centre - radius, 0, 255).reshape(net.input.shape)
        chi = np.clip(centre + radius, 0, 255).reshape(net.input.shape)
        points = enumerate_box(clo, chi)
        per_sample = any(isinstance(nd, ops.Add) and nd.rule != "torch_qnnpack" for nd in net.nodes)
        ref = torch_codes(q, net, inputs_for_codes(net, points), per_sample)
    out = net.evaluate_codes(points).reshape(len(points), -1)
    assert np.array_equal(out, ref.reshape(len(points), -1)), "interpreter and torch disagree inside the box"
    cond = data.draw(conditions(out.shape[1], out.min(0), out.max(0)))
    y = net.dequantize(out) if cond.over == "dequantized" else out
    truth = any(cond.holds(row) for row in y)
    prop = Property(clo.astype(np.float64), chi.astype(np.float64), cond, units="codes")
    verdict = verify_bv(net, prop, timeout=120)
    assert verdict.status != "unknown", verdict.reason
    assert (verdict.status == "violated") == truth, f"bv says {verdict.status}, torch enumeration says violated={truth}"
    return verdict.status


N_TORCH = int(os.environ.get("BVVERIFY_BV_TORCH_CASES", "12"))
FLOORS = {"holds": 2, "violated": 2}  # per engine, of N_TORCH cases


@pytest.mark.parametrize("engine", ["fbgemm", "x86", "qnnpack"])
def test_bv_matches_torch_enumeration(engine):
    tally = Tally(f"bv vs torch enumeration [{engine}]")

    @settings(max_examples=N_TORCH, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(FAMILIES).flatmap(lambda f: model_specs(f)), st.data())
    def inner(spec, data):
        tally.add(check_torch_case(engine, spec, data))

    inner()
    tally.require(**FLOORS)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["fbgemm", "x86", "qnnpack"])
def test_bv_matches_torch_enumeration_slow(engine):
    tally = Tally(f"bv vs torch enumeration [{engine}]")

    @settings(max_examples=100, deadline=None, derandomize=False, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(FAMILIES).flatmap(lambda f: model_specs(f)), st.data())
    def inner(spec, data):
        tally.add(check_torch_case(engine, spec, data))

    inner()
    tally.require(shares={"holds": 0.2, "violated": 0.2})

