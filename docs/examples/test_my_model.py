"""Example: bvverify checks in a project's own pytest suite (see docs/testing.md).

Copy this file into your tests and point MODEL at your model file. Run it with
``pytest test_my_model.py``: the first test passes; the second FAILS ON PURPOSE, to show the
message a regression gives (the sample, eps, label, the counterexample's class, its input
codes and outputs). bvverify's own suite does not collect docs/ (testpaths = tests); its
tests/testing/test_plugin.py runs this file through pytester and checks both outcomes.

The ``bvverify_cache`` fixture comes with bvverify (a pytest plugin): verdicts of unchanged
models are read back from ``.bvverify-cache/`` on the next run instead of being proved again.
"""

from __future__ import annotations

from bvverify.bundled import test_images as bundled_images  # not test_*: pytest would collect it
from bvverify.testing import assert_no_overflow, assert_robust

MODEL = "digits-mlp"  # a bundled model; yours is a path: "models/classifier.bvq", a TorchScript .pt, a Keras .h5
IMAGES, LABELS = bundled_images()  # yours: a handful of reference inputs and their labels


def test_reference_images_keep_their_class(bvverify_cache):
    """Images 0-2 keep their label under every change of at most one input code per pixel
    (proved: the model's int8 arithmetic exactly as the runtime computes it), and no
    accumulator can overflow int32 on any input."""
    assert_robust(MODEL, IMAGES[:3], eps=1, labels=LABELS[:3], timeout=60, cache=bvverify_cache)
    assert_no_overflow(MODEL)


def test_image_3_keeps_its_class(bvverify_cache):
    """Fails on purpose: image 3 (a 6) can be turned into a 4 by changing pixels by one code;
    the failure message shows that input."""
    assert_robust(MODEL, IMAGES[3], eps=1, labels=LABELS[3], timeout=60, cache=bvverify_cache, ids=["image 3"])
