"""The proof cache: a second run reads decided verdicts back, a changed model or query misses,
unknown is never stored, and a cached witness that does not replay is rejected and re-proved."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bvverify.engines.config import EngineOptions
from bvverify.properties.robustness import robustness_property
from bvverify.testing import ProofCache, VerificationFailure, assert_agree, assert_robust, ball, network_fingerprint
from bvverify.testing.cache import query_key
from tests.testing.conftest import HARD, NOT_ROBUST, ROBUST, bumped


def _run(model, digits, cache, **kw):
    """The robustness check of samples 0-3 at eps 1 (3 hold, 1 violated): its results either way."""
    x, y = digits
    idx = [*ROBUST, NOT_ROBUST]
    with pytest.raises(VerificationFailure) as info:
        assert_robust(model, x[idx], 1, labels=y[idx], cache=cache, timeout=30, **kw)
    return info.value.results


def _entries(cache):
    return sorted(cache.directory.glob("*/*.json"))


def test_second_run_hits_and_gives_the_same_verdicts(digits, tmp_path):
    first = _run("digits-mlp", digits, ProofCache(tmp_path))
    cache = ProofCache(tmp_path)
    second = _run("digits-mlp", digits, cache)
    assert (cache.stats.hits, cache.stats.misses, cache.stats.stored) == (4, 0, 0)
    assert [r.status for r in second] == [r.status for r in first] == ["holds"] * 3 + ["violated"]
    assert all(r.cached for r in second) and not any(r.cached for r in first)
    a, b = first[-1].verdict.counterexample, second[-1].verdict.counterexample
    assert np.array_equal(a.codes, b.codes) and b.replayed_by == ["interpreter"]  # replayed again on the way out
    assert "from the proof cache" in str(pytest.raises(VerificationFailure, assert_robust, "digits-mlp",
                                                      digits[0][NOT_ROBUST], 1, cache=cache).value)


def test_a_changed_model_misses(digits, mlp, tmp_path):
    path = tmp_path / "model.bvq"
    mlp.save(path)
    cache = ProofCache(tmp_path / "cache")
    _run(str(path), digits, cache)
    mlp.save(path)  # re-saved, unchanged (the zip's timestamps differ): still hits
    _run(str(path), digits, cache)
    assert (cache.stats.hits, cache.stats.misses) == (4, 4)
    bumped(mlp, "fc1.acc", (0, 0), 1).save(path)  # one weight of the first layer, one step
    _run(str(path), digits, cache)
    assert (cache.stats.hits, cache.stats.misses) == (4, 8)
    assert network_fingerprint(mlp) != network_fingerprint(bumped(mlp, "fc1.acc", (0, 0), 1))


def test_key_covers_query_engine_and_models(digits, mlp):
    x, y = digits
    p1 = robustness_property(mlp, x[0], int(y[0]), 1)
    p2 = robustness_property(mlp, x[0], int(y[0]), 2)
    fp = network_fingerprint(mlp)
    keys = {query_key("robust", [fp], p1, EngineOptions()), query_key("robust", [fp], p2, EngineOptions()),
            query_key("robust", [fp], p1, EngineOptions("ilp")), query_key("robust", [fp], p1, EngineOptions(seed=1)),
            query_key("robust", [network_fingerprint(bumped(mlp))], p1, EngineOptions())}
    assert len(keys) == 5
    assert query_key("robust", [fp], p1, EngineOptions()) == query_key("robust", [fp], robustness_property(
        mlp, x[0], int(y[0]), 1), EngineOptions())


def test_unknown_is_never_cached(digits, tmp_path):
    x, _ = digits
    i, eps = HARD
    cache = ProofCache(tmp_path)
    for _ in range(2):
        with pytest.raises(VerificationFailure):
            assert_robust("digits-mlp", x[i], eps, timeout=0.5, cache=cache)
    assert (cache.stats.hits, cache.stats.misses, cache.stats.stored) == (0, 2, 0)
    assert _entries(cache) == []


def _violated_entry(cache):
    (entry,) = [p for p in _entries(cache) if json.loads(p.read_text())["status"] == "violated"]
    return entry


@pytest.mark.parametrize("tamper", ["the sample itself", "outside the ball", "holds turned violated", "not json"])
def test_tampered_witness_is_rejected_and_reproved(digits, mlp, tmp_path, tamper):
    cache = ProofCache(tmp_path)
    _run("digits-mlp", digits, cache)
    entry = _violated_entry(cache)
    doc = json.loads(entry.read_text())
    q = mlp.quantize_input(digits[0][NOT_ROBUST].reshape(1, -1))[0]
    if tamper == "the sample itself":  # inside the ball, but predicted as its label: no counterexample
        doc["counterexample"]["codes"] = q.tolist()
        doc["counterexample"]["input"] = None
    elif tamper == "outside the ball":
        codes = np.asarray(doc["counterexample"]["codes"])
        codes[0] += 5
        doc["counterexample"]["codes"] = codes.tolist()
    elif tamper == "holds turned violated":  # a robust sample's entry claiming a bogus witness
        entry = next(p for p in _entries(cache) if json.loads(p.read_text())["status"] == "holds")
        doc = json.loads(entry.read_text())
        doc["status"] = "violated"
        doc["counterexample"] = {"codes": q.tolist(), "input": None}
    if tamper == "not json":
        entry.write_text("{ torn")
    else:
        entry.write_text(json.dumps(doc))
    again = ProofCache(tmp_path)
    results = _run("digits-mlp", digits, again)
    assert (again.stats.rejected, again.stats.hits, again.stats.misses, again.stats.stored) == (1, 3, 1, 1)
    assert [r.status for r in results] == ["holds"] * 3 + ["violated"]  # re-proved: the true verdicts
    assert again.last_rejection
    assert json.loads(entry.read_text())["key"] == doc.get("key", entry.stem)  # rewritten, readable again


def test_agreement_verdicts_are_cached_and_replayed(digits, mlp, tmp_path):
    x, _ = digits
    box = ball(mlp, x[0], 2)
    cache = ProofCache(tmp_path)
    for _ in range(2):
        with pytest.raises(VerificationFailure):
            assert_agree(mlp, bumped(mlp), box, within=0, cache=cache)
        assert_agree(mlp, bumped(mlp), box, cache=cache, timeout=30)
    assert (cache.stats.hits, cache.stats.misses) == (2, 2)
    (entry,) = [p for p in _entries(cache) if json.loads(p.read_text())["status"] == "violated"]
    doc = json.loads(entry.read_text())
    doc["counterexample"]["codes"] = mlp.quantize_input(x[0].reshape(1, -1))[0].tolist()  # the two agree exactly here
    entry.write_text(json.dumps(doc))
    with pytest.raises(VerificationFailure):
        assert_agree(mlp, bumped(mlp), box, within=0, cache=cache)
    assert cache.stats.rejected == 1


def test_a_disabled_cache_stores_nothing(digits, tmp_path):
    cache = ProofCache(None)
    _run("digits-mlp", digits, cache)
    _run("digits-mlp", digits, cache)
    assert (cache.stats.hits, cache.stats.misses, cache.stats.stored) == (0, 8, 0)
