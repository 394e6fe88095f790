"""The public surface is exactly the facade's names."""

import bvverify


def test_public_names():
    assert sorted(bvverify.__all__) == ["BvverifyError", "QNetwork", "from_torch", "load"]
    for name in bvverify.__all__:
        assert getattr(bvverify, name).__doc__


def test_bundled_models_load_and_classify():
    from bvverify.bundled import resolve_model, test_images

    x, y = test_images()
    mlp = bvverify.load(resolve_model("digits-mlp"))
    cnn = bvverify.load(resolve_model("digits-cnn"))
    assert (mlp.evaluate(x.reshape(-1, 64)).argmax(1) == y).mean() >= 0.9
    assert (cnn.evaluate(x.reshape(-1, 1, 8, 8)).argmax(1) == y).mean() >= 0.9
