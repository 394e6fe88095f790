"""The public surface is exactly the facade's names."""

import bvverify


def test_public_names():
    assert sorted(bvverify.__all__) == ["BvverifyError", "EngineOptions", "Property", "QNetwork", "Verdict", "from_torch",
                                        "load", "read_vnnlib", "robustness_property", "verify"]
    for name in bvverify.__all__:
        assert getattr(bvverify, name).__doc__


def test_bundled_models_load_and_classify():
    from bvverify.bundled import resolve_model, test_images

    x, y = test_images()
    mlp = bvverify.load(resolve_model("digits-mlp"))
    cnn = bvverify.load(resolve_model("digits-cnn"))
    assert (mlp.evaluate(x.reshape(-1, 64)).argmax(1) == y).mean() >= 0.9
    assert (cnn.evaluate(x.reshape(-1, 1, 8, 8)).argmax(1) == y).mean() >= 0.9


def test_facade_decides_a_query():
    """The README's Python API path, end to end: a proof and a replayed counterexample."""
    from bvverify.bundled import resolve_model, test_images

    x, y = test_images()
    net = bvverify.load(resolve_model("digits-mlp"))
    v = bvverify.verify(net, bvverify.robustness_property(net, x[0], int(y[0]), 1), bvverify.EngineOptions("ilp"),
                        timeout=60)
    assert v.status == "holds" and v.engine == "ilp/cpsat"
    wrong = (int(y[0]) + 1) % 10  # the clean image is a counterexample to "robust for the wrong label"
    v = bvverify.verify(net, bvverify.robustness_property(net, x[0], wrong, 0), bvverify.EngineOptions("bounds"))
    assert v.status == "violated" and v.counterexample is not None and "interpreter" in v.counterexample.replayed_by
