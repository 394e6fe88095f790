"""The input region's units are explicit on the property, and its code box is computed once."""

from __future__ import annotations

import numpy as np
import pytest

import bvverify
from bvverify.bundled import resolve_model, test_images
from bvverify.engines.bounds import verify_bounds
from bvverify.properties.boxes import code_box, float_region
from bvverify.properties.robustness import robustness_property, untargeted
from bvverify.properties.spec import Property, PropertyError


@pytest.fixture(scope="module")
def mlp():
    return bvverify.load(resolve_model("digits-mlp"))


def test_units_are_validated():
    cond = untargeted(10, 0)
    with pytest.raises(PropertyError, match="units 'pixels'"):
        Property(np.zeros(4), np.ones(4), cond, units="pixels")
    with pytest.raises(PropertyError, match="whole-number"):
        Property(np.zeros(4), np.full(4, 0.5), cond, units="codes")


def test_code_ball_is_codes_and_model_ball_is_floats(mlp):
    x, y = test_images()
    codes = robustness_property(mlp, x[0], int(y[0]), 2, "codes")
    floats = robustness_property(mlp, x[0], int(y[0]), 0.01, "float")
    assert codes.units == "codes" and floats.units == "model"
    assert "codes" not in codes.meta  # the units are a field, not a convention in meta
    clo, chi = code_box(mlp, codes)
    q = mlp.quantize_input(x[:1].reshape((1,) + tuple(mlp.input.shape)))[0]
    assert np.array_equal(clo, np.clip(q - 2, mlp.input.lo, mlp.input.hi))
    flo, fhi = float_region(mlp, codes)  # every float whose code is in the box
    assert np.all(flo < -1e30) and np.all(fhi > 1e30)
    flo, fhi = float_region(mlp, floats)
    assert np.array_equal(flo, floats.lo.reshape(flo.shape))


def test_code_box_is_computed_once_per_network(mlp, monkeypatch):
    x, y = test_images()
    prop = robustness_property(mlp, x[1], int(y[1]), 0.02, "float")
    calls = []
    import bvverify.properties.boxes as boxes

    real = boxes.codes_of_box
    monkeypatch.setattr(boxes, "codes_of_box", lambda *a: calls.append(1) or real(*a))
    verify_bounds(mlp, prop)
    verify_bounds(mlp, prop)
    assert len(calls) == 1
    lo, _ = code_box(mlp, prop)
    with pytest.raises(ValueError):  # shared between callers: read-only
        lo[0] = 0
    other = bvverify.load(resolve_model("digits-mlp"))  # another network object: its own box
    code_box(other, prop)
    assert len(calls) == 2
