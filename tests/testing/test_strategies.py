"""The public strategies draw what they claim: inputs inside the region (and their codes inside
its code box), both ends of the box reachable, eps balls in codes and float units, valid toy
networks; and hypothesis stays out of ``bvverify`` and ``bvverify.testing`` outside strategies."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

import bvverify.testing.strategies as public
import tests.strategies as old
from bvverify.properties.boxes import code_box, float_region
from bvverify.testing.strategies import (
    ball_property,
    box_property,
    boxes,
    boxes_in,
    codes_in,
    eps_ball,
    inputs_for,
    inputs_in,
    networks,
    tiny_net,
)

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


def _inside(net, prop, x):
    """x is a model-domain input inside the property's region and its codes inside the code box."""
    clo, chi = code_box(net, prop)
    flo, fhi = float_region(net, prop)
    x = np.asarray(x)
    assert x.shape == tuple(net.input.shape)
    codes = net.quantize_input(x[None])[0] if not net.integer_input else x
    assert np.all(codes >= clo) and np.all(codes <= chi), (codes, clo, chi)
    assert np.all(x >= flo) and np.all(x <= fhi)
    if not net.integer_input:
        assert x.dtype == np.float32
    net.evaluate(x[None])  # a valid input of the network


@SETTINGS
@given(st.data())
def test_inputs_in_a_drawn_box_of_a_drawn_network(data):
    net = data.draw(networks())
    lo, hi = data.draw(boxes(net))
    prop = box_property(net, lo, hi)
    x = data.draw(inputs_in(net, prop))
    _inside(net, prop, x)
    codes = data.draw(codes_in(net, prop))
    clo, chi = code_box(net, prop)
    assert codes.dtype == np.int64 and np.all(codes >= clo) and np.all(codes <= chi)
    sub = data.draw(boxes_in(net, prop))
    slo, shi = code_box(net, sub)
    assert np.all(slo >= clo) and np.all(shi <= chi) and np.all(slo <= shi)


def test_both_corners_and_the_inside_are_reached():
    net = tiny_net()
    prop = box_property(net, [0, 3], [2, 9], units="codes")
    clo, chi = code_box(net, prop)
    assert np.array_equal(find(codes_in(net, prop), lambda c: np.array_equal(c, chi)), chi)
    assert np.array_equal(find(codes_in(net, prop), lambda c: np.array_equal(c, clo)), clo)
    inner = find(codes_in(net, prop), lambda c: bool(np.all((c > clo) & (c < chi))))
    assert np.all((inner > clo) & (inner < chi))
    # float inputs fill their code's cell, not only its centre
    x = find(inputs_in(net, prop), lambda v: abs(float(v[0]) / net.input.quantizer.scale
                                                  - round(float(v[0]) / net.input.quantizer.scale)) > 0.2)
    _inside(net, prop, x)


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_eps_balls_in_codes_and_in_float_units(data, mlp, digits):
    xs, _ = digits
    i = data.draw(st.integers(0, len(xs) - 1))
    sample = xs[i].reshape(-1)
    eps = data.draw(st.integers(0, 3))
    x = data.draw(eps_ball(mlp, sample, eps))
    q = mlp.quantize_input(sample[None])[0]
    assert np.abs(mlp.quantize_input(x[None])[0] - q).max() <= eps
    feps = data.draw(st.sampled_from([0.0, 0.001, 0.01, 0.05]))
    y = data.draw(eps_ball(mlp, sample, feps, unit="float", clip=(0.0, 1.0)))
    _inside(mlp, ball_property(mlp, sample, feps, "float", (0.0, 1.0)), y)
    assert np.all(np.abs(y.astype(np.float64) - sample) <= feps + 1e-7) and y.min() >= 0 and y.max() <= 1


@SETTINGS
@given(networks())
def test_toy_networks_are_valid_and_run(net):
    x = inputs_for(net, 8, seed=0)
    out = net.evaluate(x)
    assert out.shape == (8, *net.output_shape) and out.dtype == np.int64
    last = net.nodes[-1]
    assert out.min() >= last.lo and out.max() <= last.hi


def test_the_tests_draw_from_the_public_strategies():
    assert old.networks is public.networks and old.boxes is public.boxes and old.Tally is public.Tally
    assert set(old.__all__) == set(public.__all__)


BLOCK = "import sys; sys.modules['hypothesis'] = None\n"


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK + code], capture_output=True, text=True, timeout=120)


def test_hypothesis_is_needed_only_by_the_strategies():
    ok = _python("import bvverify, bvverify.testing, bvverify.testing.assertions, bvverify.testing.cache, "
                 "bvverify.testing.plugin\nassert 'hypothesis' not in [m.split('.')[0] for m in sys.modules if sys.modules[m]]")
    assert ok.returncode == 0, ok.stderr
    blocked = _python("import bvverify.testing.strategies")
    assert blocked.returncode != 0 and "hypothesis" in blocked.stderr  # the block itself works
