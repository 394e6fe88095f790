"""The native format round-trips losslessly; corrupt files fail with a named field."""

from __future__ import annotations

import dataclasses
import json
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import bvverify
from bvverify.errors import ModelFormatError
from tests.strategies import inputs_for, networks


def _same_nodes(a, b):
    assert len(a.nodes) == len(b.nodes)
    for na, nb in zip(a.nodes, b.nodes):
        assert type(na) is type(nb)
        for f in dataclasses.fields(na):
            va, vb = getattr(na, f.name), getattr(nb, f.name)
            if f.name == "params":
                assert va.keys() == vb.keys()
                for k in va:
                    assert np.asarray(va[k]).dtype == np.asarray(vb[k]).dtype and np.array_equal(va[k], vb[k]), k
            elif isinstance(va, np.ndarray) or isinstance(vb, np.ndarray):
                assert np.array_equal(va, vb)
            else:
                assert va == vb, f.name


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(networks())
def test_round_trip(tmp_path, net):
    path = tmp_path / "m.bvq"
    net.save(path)
    back = bvverify.load(path)
    _same_nodes(net, back)
    assert back.input == net.input and back.output == net.output
    x = inputs_for(net, 200, 1)
    assert np.array_equal(net.evaluate(x), back.evaluate(x))


def _rewrite(src, dst, edit):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name == "bvverify.json":
                h = json.loads(data)
                edit(h)
                data = json.dumps(h).encode()
            zout.writestr(name, data)


@pytest.fixture
def mlp_path():
    from bvverify.bundled import resolve_model

    return resolve_model("digits-mlp")


@pytest.mark.parametrize("edit, words", [
    (lambda h: h["nodes"][1]["params"].__setitem__("s_out", {"array": "nope"}), "missing from the file"),
    (lambda h: h.__setitem__("version", 99), "version"),
    (lambda h: h["nodes"][0].__setitem__("op", "Softmax"), "unknown op 'Softmax'"),
    (lambda h: h["nodes"][0].__setitem__("x_zero", 300), "zero point 300 outside [0, 255]"),
    (lambda h: h["nodes"][0].__setitem__("inputs", ["nowhere"]), "'nowhere' is not defined"),
    (lambda h: h["input"].__setitem__("shape", [63]), "does not fit weight"),
])
def test_corrupt_header(tmp_path, mlp_path, edit, words):
    bad = tmp_path / "bad.bvq"
    _rewrite(mlp_path, bad, edit)
    with pytest.raises(ModelFormatError) as e:
        bvverify.load(bad)
    assert str(bad) in str(e.value) and words in str(e.value)


def test_bad_scale_values(tmp_path, mlp_path):
    net = bvverify.load(mlp_path)
    req = net.nodes[1]
    for bad_value, words in ((np.float32("nan"), "NaN"), (np.float32(0), "positive"), (np.float32(-1), "positive"),
                             (np.float32("inf"), "infinite")):
        params = dict(req.params, s_out=bad_value)
        with pytest.raises(bvverify.BvverifyError) as e:
            type(net)(net.input, (net.nodes[0], dataclasses.replace(req, params=params)) + net.nodes[2:], net.output)
        assert words in str(e.value) and "s_out" in str(e.value)


def test_truncated_file(tmp_path, mlp_path):
    bad = tmp_path / "trunc.bvq"
    bad.write_bytes(mlp_path.read_bytes()[:300])
    with pytest.raises(ModelFormatError, match="trunc.bvq"):
        bvverify.load(bad)
