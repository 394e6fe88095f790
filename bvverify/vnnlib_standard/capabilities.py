"""Answers to ``supports <capability>``: only what bvverify decides soundly.

An element type or operator is claimed only where bvverify's analysis is exact for it (the
standard's rule for claiming an element type). The ONNX answers come from the ONNX importer
when one is installed in ``bvverify.importers`` (its ``SUPPORTED_OPERATORS`` table: op name ->
element types, and ``OPSET_RANGE``); without one bvverify reads no ONNX file and claims no
operator.
"""

from __future__ import annotations

import importlib
import importlib.util

# Element types whose values bvverify models exactly: integer codes of activations and weights,
# int32 accumulators and biases (two's-complement wrap modelled), and float32 where a quantizer's
# float side is the network's input or output (its exact float32 -> code and code -> float32 rules).
ELEMENT_TYPES = ("int8", "uint8", "int32", "float32")
VNNLIB_VERSIONS = ("1.0", "2.0")  # VNN-LIB 1 files (VNN-COMP) are still read
DEFAULT_OPSETS = (10, 21)  # QuantizeLinear/DequantizeLinear appear in opset 10

THEORIES = {
    # one input and one output per network (a QNetwork has one of each)
    "multiple-input-output-theories": ("SIO",),
    # one network, or two on one shared input (equal inputs asserted element by element): the
    # two-network engine; other multi-network queries are answered unknown with the reason
    "multiple-network-theories": ("SNET", "MENET", "MINET", "MNET"),
    "hidden-node-theories": ("NH",),
    # comparisons never relate an input and an output of one network
    "multiple-node-comparison-theories": ("SNC",),
    # bounds on inputs, output comparisons; linear output terms over integer element types are
    # decided too, linear input constraints are not, so LIN is not claimed
    "arithmetic-complexity-theories": ("BND", "OUTC"),
}

BOOLEANS = {
    "optimised-disjunctive-reasoning": False,  # the output condition is expanded to DNF
    "serialise-assignments": False,  # assignments are printed on stdout (the default format)
}


def _onnx_importer():
    """The ONNX importer module, when one is installed (None otherwise)."""
    for name in ("bvverify.importers.onnx", "bvverify.importers.onnx_import"):
        try:
            if importlib.util.find_spec(name) is not None:
                return importlib.import_module(name)
        except ImportError:
            continue
    return None


def operators() -> list[str]:
    """``Op type type ...`` lines: the ONNX operators the importer models exactly, with their element types."""
    mod = _onnx_importer()
    table = getattr(mod, "SUPPORTED_OPERATORS", None) if mod is not None else None
    if not table:
        return []
    return [" ".join([op, *types]) for op, types in sorted(dict(table).items())]


def opsets() -> tuple[int, int]:
    mod = _onnx_importer()
    rng = getattr(mod, "OPSET_RANGE", None) if mod is not None else None
    return tuple(rng) if rng else DEFAULT_OPSETS  # type: ignore[return-value]


CAPABILITIES = ("onnx-opset-versions", "onnx-element-types", "onnx-operators", "vnnlib-versions", *THEORIES, *BOOLEANS)


def answer(capability: str) -> list[str]:
    """The lines ``supports --<capability>`` prints."""
    if capability == "onnx-opset-versions":
        return [str(v) for v in opsets()]
    if capability == "onnx-element-types":
        return list(ELEMENT_TYPES)
    if capability == "onnx-operators":
        return operators()
    if capability == "vnnlib-versions":
        return list(VNNLIB_VERSIONS)
    if capability in THEORIES:
        return list(THEORIES[capability])
    return ["true" if BOOLEANS[capability] else "false"]


__all__ = ["CAPABILITIES", "ELEMENT_TYPES", "THEORIES", "answer", "operators", "opsets"]
