"""Robustness properties: the lowest-index tie rule, code and float balls, data files, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from bvverify.properties.boxes import code_box
from bvverify.properties.robustness import DataError, load_data, robustness_property, targeted, untargeted
from tests.strategies import tiny_net


def test_untargeted_tie_rule():
    cond = untargeted(3, 1)
    assert cond.holds(np.array([5, 5, 0]))  # j=0 < y ties: 0 wins
    assert not cond.holds(np.array([4, 5, 5]))  # j=2 > y ties: y wins
    assert cond.holds(np.array([4, 5, 6]))
    assert not cond.holds(np.array([4, 5, 4]))


def test_targeted_rule():
    cond = targeted(3, 1)  # prediction becomes 1
    assert cond.holds(np.array([4, 5, 5]))
    assert not cond.holds(np.array([5, 5, 0]))
    assert not cond.holds(np.array([0, 5, 6]))


def test_code_ball_clipped():
    net = tiny_net()
    prop = robustness_property(net, np.array([0.0, 24.5]), 0, 3)
    lo, hi = code_box(net, prop)
    q = net.quantize_input(np.array([[0.0, 24.5]]))[0]
    assert q.tolist() == [10, 255]
    assert lo.tolist() == [7, 252] and hi.tolist() == [13, 255]


def test_float_ball_and_clip():
    net = tiny_net()
    prop = robustness_property(net, np.array([0.05, 0.5]), 0, 0.1, unit="float", clip=(0.0, 1.0))
    assert prop.lo.tolist() == [0.0, 0.4] and prop.hi.tolist() == [pytest.approx(0.15), 0.6]


@pytest.mark.parametrize("kwargs, words", [
    ({"eps": -1}, "eps must be"), ({"eps": float("nan")}, "eps must be"), ({"eps": 1.5}, "whole number"),
    ({"label": 7}, "label 7 out of range"), ({"target": 0}, "target 0 must be"), ({"unit": "pixels"}, "unit"),
])
def test_bad_parameters(kwargs, words):
    args = {"x": np.array([0.0, 0.0]), "label": 0, "eps": 1}
    args.update(kwargs)
    with pytest.raises(DataError, match=words):
        robustness_property(tiny_net(), args.pop("x"), args.pop("label"), args.pop("eps"), **args)


def test_csv_loading_and_errors(tmp_path):
    good = tmp_path / "d.csv"
    good.write_text("3,1,2\n4,5,6\n\n")
    x, y = load_data(good, 2)
    assert x.tolist() == [[1, 2], [5, 6]] and y.tolist() == [3, 4]
    bad = tmp_path / "bad.csv"
    bad.write_text("3,1,2\n4,5\n")
    with pytest.raises(DataError, match=r"bad.csv:2: row has 2 fields, expected label \+ 2 values"):
        load_data(bad, 2)
    bad.write_text("x,1,2\n")
    with pytest.raises(DataError, match=r"bad.csv:1: field 1 \(label\)"):
        load_data(bad, 2)
    bad.write_text("1,1,z\n")
    with pytest.raises(DataError, match=r"bad.csv:1: field 3 'z' is not a number"):
        load_data(bad, 2)
    with pytest.raises(DataError, match="no such file"):
        load_data(tmp_path / "missing.csv", 2)
    np.save(tmp_path / "x.npy", np.zeros((3, 5)))
    with pytest.raises(DataError, match="samples have 5 values, the model takes 2"):
        load_data(tmp_path / "x.npy", 2)
