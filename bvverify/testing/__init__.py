"""Regression testing for users: verified checks to put in your own pytest suite.

- :func:`assert_robust`, :func:`assert_agree`, :func:`assert_no_overflow` decide exact
  queries and fail (an ``AssertionError`` subclass) with the counterexample in the message;
  an undecided query fails too unless ``allow_unknown=True`` (then it warns).
- :class:`ProofCache`: decided verdicts on disk keyed by the model's content hash and the
  query; the pytest plugin (:mod:`bvverify.testing.plugin`, installed with the package) gives
  it as the ``bvverify_cache`` fixture, in ``.bvverify-cache/`` under the rootdir by default.
- :mod:`bvverify.testing.strategies`: hypothesis strategies (inputs inside a region, toy
  integer networks). Imported on its own: this package needs no hypothesis.

See ``docs/testing.md``.
"""

from bvverify.testing.assertions import (
    OverflowFailure,
    QueryResult,
    TestingArgumentError,
    UnknownVerdictWarning,
    VerificationFailure,
    assert_agree,
    assert_no_overflow,
    assert_robust,
    ball,
)
from bvverify.testing.cache import ProofCache
from bvverify.testing.models import Model, as_model, network_fingerprint

__all__ = ["Model", "OverflowFailure", "ProofCache", "QueryResult", "TestingArgumentError", "UnknownVerdictWarning",
           "VerificationFailure", "as_model", "assert_agree", "assert_no_overflow", "assert_robust", "ball",
           "network_fingerprint"]
