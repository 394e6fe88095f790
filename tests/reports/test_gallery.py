"""Counterexample pictures from result files: the original is drawn only when the witness lies in its eps
ball, the outputs are the interpreter's, and a witness that does not change the class is flagged."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from bvverify.bundled import test_images  # noqa: E402
from bvverify.cli.app import load_model  # noqa: E402
from bvverify.engines.config import EngineOptions  # noqa: E402
from bvverify.engines.registry import verify  # noqa: E402
from bvverify.properties.robustness import robustness_property  # noqa: E402
from bvverify.reports.build import build_report  # noqa: E402
from bvverify.reports.images import image_shape  # noqa: E402
from tests.reports.fixtures import witness_text  # noqa: E402

HEADER = "suite,model,query,eps,engine,status,seconds,timed_out,timeout,published,published_detail,relation,cex_file,reason"


def suite_with_witness(tmp_path, index: int, x: np.ndarray) -> object:
    (tmp_path / "w").mkdir(exist_ok=True)
    (tmp_path / "w" / "a.txt").write_text(witness_text([float(v) for v in x], [0.0] * 10))
    (tmp_path / "s.csv").write_text(f"{HEADER}\ndigits,digits-mlp,{index},1,auto,violated,0.1,0,20,,,,w/a.txt,\n")
    return build_report([tmp_path / "s.csv"])


def test_a_real_witness_is_drawn_with_its_original(tmp_path):
    net = load_model("digits-mlp", None, None, None, None)
    xs, ys = test_images()
    prop = robustness_property(net, xs[3].ravel(), int(ys[3]), 1, "codes")
    v = verify(net, prop, EngineOptions("auto"), 30.0, None, xs[3].ravel())
    assert v.status == "violated"
    r = suite_with_witness(tmp_path, 3, np.asarray(v.counterexample.input).ravel())
    (p,) = r.pictures
    assert p.notes == () and p.caption.startswith("digits-mlp, sample 3, eps 1, auto: class 6 output ")
    # the file's outputs were zeros: the caption's come from the interpreter, before -> after
    assert "->" in p.caption and " 0 " not in p.caption


def test_a_witness_that_does_not_violate_is_flagged(tmp_path):
    xs, _ = test_images()
    (p,) = suite_with_witness(tmp_path, 3, xs[3].ravel()).pictures  # the clean image: predicted 6, its label
    assert any("does not violate" in n for n in p.notes)


def test_an_original_that_does_not_fit_is_not_drawn(tmp_path):
    xs, _ = test_images()
    (p,) = suite_with_witness(tmp_path, 3, xs[4].ravel()).pictures  # image 4 claimed as a witness around image 3
    assert any("not within eps 1 of the witness" in n for n in p.notes)


@pytest.mark.parametrize("shape, chw", [((64,), (1, 8, 8)), ((784,), (1, 28, 28)), ((3072,), (3, 32, 32)),
                                        ((1, 8, 8), (1, 8, 8)), ((28, 28), (1, 28, 28)), ((5,), None), ((10,), None),
                                        ((2, 8, 8), None), ((9,), None)])
def test_image_shape(shape, chw):
    assert image_shape(shape) == chw
