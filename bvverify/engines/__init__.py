"""Engines: each decides a property and returns a Verdict."""

from bvverify.engines.base import Counterexample, Verdict, replay

__all__ = ["Counterexample", "Verdict", "replay"]
