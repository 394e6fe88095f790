"""The assertions pass where the model is proven, fail where it is not, and say why: the sample,
eps, label, the counterexample's class, its input codes and outputs; undecided fails by default."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from bvverify.bundled import resolve_model
from bvverify.properties.robustness import argmax_lowest
from bvverify.testing import (
    OverflowFailure,
    ProofCache,
    TestingArgumentError,
    UnknownVerdictWarning,
    VerificationFailure,
    assert_agree,
    assert_no_overflow,
    assert_robust,
    ball,
)
from tests.testing.conftest import HARD, NOT_ROBUST, ROBUST, bumped, overflowing_net


def test_robust_samples_pass(digits):
    x, y = digits
    results = assert_robust("digits-mlp", x[ROBUST], 1, labels=y[ROBUST], timeout=30)
    assert [r.status for r in results] == ["holds"] * 3
    assert [r.index for r in results] == [0, 1, 2] and all(r.eps == 1 for r in results)


def test_violated_sample_fails_with_its_counterexample(digits, mlp):
    x, y = digits
    idx = [*ROBUST, NOT_ROBUST]
    with pytest.raises(VerificationFailure) as info:
        assert_robust("digits-mlp", x[idx], 1, labels=y[idx], timeout=30)
    e = info.value
    assert isinstance(e, AssertionError)
    assert [r.status for r in e.results] == ["holds", "holds", "holds", "violated"]
    (bad,) = e.failures
    cex = bad.verdict.counterexample
    # the witness is real: inside the ball, and the interpreter predicts another class on it
    q = mlp.quantize_input(x[NOT_ROBUST].reshape(1, -1))[0]
    assert np.abs(np.asarray(cex.codes) - q).max() <= 1
    out = mlp.evaluate(np.asarray(cex.input, np.float32)[None])[0]
    assert argmax_lowest(out) == bad.predicted != y[NOT_ROBUST]
    msg = str(e)
    assert "1 of 4 queries failed" in msg
    assert f"sample {NOT_ROBUST}, eps 1 codes, label {y[NOT_ROBUST]}: VIOLATED" in msg
    assert f"the counterexample is predicted {bad.predicted}" in msg
    codes_text = re.search(r"input codes: \[([^\]]*)\]", msg).group(1)
    assert [int(v) for v in codes_text.split()] == np.asarray(cex.codes).ravel().tolist()
    assert "changed from the sample's codes:" in msg and "outputs: [" in msg
    assert f"class {bad.predicted} -> {out[bad.predicted]}" in msg
    assert "sample 0" not in msg  # passing samples are not listed


def test_labels_default_to_the_models_own_prediction(digits):
    x, y = digits
    results = assert_robust("digits-mlp", x[0], 1)
    assert results[0].label == y[0]


def test_misclassified_clean_sample_fails_without_a_search(digits):
    x, y = digits
    wrong = (int(y[0]) + 1) % 10
    with pytest.raises(VerificationFailure) as info:
        assert_robust("digits-mlp", x[0], 1, labels=wrong)
    r = info.value.results[0]
    assert r.verdict.engine == "clean" and r.predicted == y[0]
    assert f"misclassified: the clean sample is predicted {y[0]}" in str(info.value)
    assert "changed from the sample's codes: none (the sample itself)" in str(info.value)


def test_float_units_and_loaded_networks_and_paths(digits, mlp):
    x, y = digits
    scale = mlp.input.quantizer.scale
    r = assert_robust(mlp, x[0], 0.5 * scale, labels=y[0], eps_unit="float", clip=(0.0, 1.0), name="mlp")
    assert r[0].status == "holds"
    r = assert_robust(str(resolve_model("digits-mlp")), x[0], [1, 2], labels=y[0])
    assert [q.eps for q in r] == [1, 2]
    with pytest.raises(VerificationFailure, match=r"(?s)mlp is not proven robust.*eps 0.02 float"):
        assert_robust(mlp, x[NOT_ROBUST], 0.02, labels=y[NOT_ROBUST], eps_unit="float", clip=(0.0, 1.0), name="mlp")


def test_bad_arguments_are_named(digits):
    x, _ = digits
    with pytest.raises(TestingArgumentError, match="whole samples of 64"):
        assert_robust("digits-mlp", x[0].ravel()[:10], 1)
    with pytest.raises(TestingArgumentError, match="3 labels for 2 samples"):
        assert_robust("digits-mlp", x[:2], 1, labels=[1, 2, 3])
    with pytest.raises(TestingArgumentError, match="model must be"):
        assert_robust(42, x[0], 1)


def test_unknown_fails_by_default_and_says_why(digits):
    x, _ = digits
    i, eps = HARD
    with pytest.raises(VerificationFailure) as info:
        assert_robust("digits-mlp", x[i], eps, timeout=0.5)
    assert info.value.results[0].status == "unknown"
    assert "UNKNOWN - not decided within the 0.5 s timeout" in str(info.value)
    assert "allow_unknown=True" in str(info.value)


def test_allowed_unknown_passes_with_a_warning(digits, tmp_path):
    x, _ = digits
    i, eps = HARD
    cache = ProofCache(tmp_path)
    with pytest.warns(UnknownVerdictWarning, match="1 of 1 queries not decided"):
        results = assert_robust("digits-mlp", x[i], eps, timeout=0.5, allow_unknown=True, cache=cache)
    assert results[0].status == "unknown"
    assert cache.stats.stored == 0 and not list(tmp_path.glob("*/*.json"))  # never cached
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a decided run does not warn
        assert_robust("digits-mlp", x[0], 1, allow_unknown=True)


def test_agree_passes_for_the_same_model_and_for_argmax_of_a_small_change(digits, mlp):
    x, _ = digits
    r = assert_agree("digits-mlp", mlp, ball(mlp, x[0], 2))
    assert r.status == "holds"
    r = assert_agree(mlp, bumped(mlp), ball(mlp, x[0], 2), timeout=30)
    assert r.status == "holds"


def test_agree_within_fails_with_both_outputs(digits, mlp):
    x, _ = digits
    with pytest.raises(VerificationFailure) as info:
        assert_agree(mlp, bumped(mlp), ball(mlp, x[0], 2), within=0, names=("old", "new"))
    msg = str(info.value)
    cex = info.value.results[0].verdict.counterexample
    out = np.asarray(cex.output).ravel()
    assert out[0] != out[10]  # output 0 of the two models (the bumped weight's row)
    assert "old and new disagree: output 0 differs by" in msg and "> within 0" in msg
    assert re.search(r"outputs old: \[.*\] \(argmax \d\)", msg) and re.search(r"outputs new: \[.*\] \(argmax \d\)", msg)
    assert "input codes: [" in msg


def test_no_overflow_passes_and_fails_with_a_witness():
    assert_no_overflow("digits-mlp")
    net = overflowing_net()
    with pytest.raises(OverflowFailure) as info:
        assert_no_overflow(net, name="toy")
    (r,) = info.value.results
    assert r.status == "yes" and int(np.asarray(r.witness).sum()) > 4
    assert "toy: 1 accumulator(s) can overflow" in str(info.value)
    assert "layer acc: OVERFLOWS int32" in str(info.value) and "witness input codes:" in str(info.value)
    assert [r.status for r in assert_no_overflow(net, ([0, 0], [2, 2]))] == ["no"]
