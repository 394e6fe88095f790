"""An ONNX model's interface read straight from the protobuf wire format.

``verify`` checks every ONNX model against the query's declarations (element types of the graph
inputs and outputs, and whether any quantized operator is present) before anything else. The
``onnx`` package spends most of a second importing (its ml_dtypes extension), a fifth of a
typical 5 s conformance time limit, for three fields; this reader decodes just those fields of
``ModelProto`` (onnx.proto3): graph (7) -> node (1) op_type (4), initializer (5) name (8),
input (11) / output (12) ValueInfoProto name (1), type (2) -> tensor_type (1) -> elem_type (1);
functions (25) -> node (7) op_type (4).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bvverify.errors import BvverifyError


class WireError(BvverifyError, ValueError):
    """Bytes that are not a well-formed protobuf message."""


@dataclass
class OnnxInterface:
    inputs: list[tuple[str, int]] = field(default_factory=list)  # (name, elem_type) of graph inputs
    outputs: list[tuple[str, int]] = field(default_factory=list)
    initializers: set[str] = field(default_factory=set)
    ops: set[str] = field(default_factory=set)


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    out = shift = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise WireError("truncated or overlong varint")
        b = buf[i]
        i += 1
        out |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return out, i


def fields(buf: bytes):
    """(field number, wire type, value) of one message: ints for varints and fixed widths, bytes for
    length-delimited fields."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            val, i = _varint(buf, i)
        elif wt == 1:
            val, i = int.from_bytes(buf[i:i + 8], "little"), i + 8
        elif wt == 2:
            n, i = _varint(buf, i)
            if i + n > len(buf):
                raise WireError("length-delimited field runs past the end")
            val, i = buf[i:i + n], i + n
        elif wt == 5:
            val, i = int.from_bytes(buf[i:i + 4], "little"), i + 4
        else:
            raise WireError(f"unsupported wire type {wt}")
        if i > len(buf):
            raise WireError("field runs past the end")
        yield num, wt, val


def _first(buf: bytes, num: int, wt: int):
    return next((v for n, w, v in fields(buf) if n == num and w == wt), None)


def _value_info(buf: bytes) -> tuple[str, int]:
    name = _first(buf, 1, 2) or b""
    typ = _first(buf, 2, 2) or b""
    tensor = _first(typ, 1, 2) if typ else None
    elem = _first(tensor, 1, 0) if tensor else None
    return name.decode("utf-8", "replace"), int(elem or 0)


def _op(node: bytes) -> str:
    return (_first(node, 4, 2) or b"").decode("utf-8", "replace")


def read_interface(data: bytes) -> OnnxInterface:
    """The graph inputs (initializers removed by the caller's choice), outputs and op types of a ModelProto."""
    out = OnnxInterface()
    graph = None
    for num, wt, val in fields(data):
        if num == 7 and wt == 2:
            graph = val
        elif num == 25 and wt == 2:
            out.ops |= {_op(v) for n, w, v in fields(val) if n == 7 and w == 2}
    if graph is None:
        raise WireError("no graph")
    for num, wt, val in fields(graph):
        if wt != 2:
            continue
        if num == 1:
            out.ops.add(_op(val))
        elif num == 5:
            out.initializers.add((_first(val, 8, 2) or b"").decode("utf-8", "replace"))
        elif num == 11:
            out.inputs.append(_value_info(val))
        elif num == 12:
            out.outputs.append(_value_info(val))
    return out


__all__ = ["OnnxInterface", "WireError", "fields", "read_interface"]
