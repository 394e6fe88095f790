"""Answers to ``supports <capability>``: only what bvverify decides soundly.

An element type or operator is claimed only where bvverify's analysis is exact for it (the
standard's rule for claiming an element type). The operator list is the ONNX importer's own
(``bvverify.importers.onnx_qoperator.Walk``: one ``op_<OpType>`` method per operator it models).
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


# element types of the ops the ONNX importer walks: integer codes, and float32 on the float side
# of the quantize / dequantize steps (the importer's exact rules); every other op runs on codes
_OP_TYPES = {"QuantizeLinear": ("float32", "int8", "uint8"), "DequantizeLinear": ("int8", "uint8", "int32", "float32"),
             # static MatMulInteger / ConvInteger and only the float ops onnxruntime runs after them
             # (Cast -> Mul -> [Add] -> [Relu | Clip] -> QuantizeLinear, constants per tensor or channel)
             "MatMulInteger": ("int8", "uint8", "int32"), "ConvInteger": ("int8", "uint8", "int32"),
             "Cast": ("int32", "float32"), "Mul": ("float32",), "Add": ("float32",),
             "Relu": ("int8", "uint8", "float32"), "Clip": ("int8", "uint8", "float32")}


def _onnx_walk():
    """The ONNX importer's graph walk (its ``op_<OpType>`` methods are the operators it models), when installed."""
    try:
        if importlib.util.find_spec("bvverify.importers.onnx_qoperator") is None:
            return None
        return getattr(importlib.import_module("bvverify.importers.onnx_qoperator"), "Walk", None)
    except ImportError:
        return None


def operators() -> list[str]:
    """``Op type type ...`` lines: the ONNX operators the importer models exactly, with their element
    types (empty without an ONNX importer). The importer works on the graph onnxruntime runs, where
    DequantizeLinear -> Gemm / MatMul / Conv -> QuantizeLinear groups are fused into QGemm /
    QLinearMatMul / QLinearConv; a float Gemm / MatMul / Conv left unfused is refused, so none is listed."""
    walk = _onnx_walk()
    if walk is None:
        return []
    ops = sorted(name[3:] for name in dir(walk) if name.startswith("op_") and callable(getattr(walk, name)))
    return [" ".join([op, *_OP_TYPES.get(op, ("int8", "uint8"))]) for op in ops]


def opsets() -> tuple[int, int]:
    return DEFAULT_OPSETS


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
