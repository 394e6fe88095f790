"""Integer IR, its validation and its numpy reference semantics."""

from bvverify.ir.graph import QNetwork
from bvverify.ir.ops import InputQuantizer, InputSpec, OutputSpec

__all__ = ["InputQuantizer", "InputSpec", "OutputSpec", "QNetwork"]
