"""The networks of a ``verify`` call: ``--network NAME=FILE`` matched to the query's declarations
and loaded, with the standard's checks: a declared network without a model, or a model for no
declared network, is an error; so is an ONNX model whose input / output element types differ
from the declared ones (``real`` excepted). A float ONNX network is outside bvverify's sound
domain (:class:`Vnnlib2Unsupported`: the answer is ``unknown``, with the reason)."""

from __future__ import annotations

from pathlib import Path

from bvverify.errors import BvverifyError, InternalError
from bvverify.ir.graph import QNetwork
from bvverify.properties.vnnlib2 import NetworkDecl, Query2
from bvverify.properties.vnnlib2_convert import Vnnlib2Unsupported


class NetworkOptionError(BvverifyError, ValueError):
    """``--network`` options that do not match the query (the standard's error condition 1)."""


# ops whose presence makes an ONNX graph a quantized one (anything else is float arithmetic)
QUANT_OPS = {"QuantizeLinear", "DequantizeLinear", "QLinearMatMul", "QLinearConv", "QLinearAdd", "QLinearMul",
             "QLinearAveragePool", "QLinearGlobalAveragePool", "MatMulInteger", "ConvInteger", "DynamicQuantizeLinear"}


def parse_networks(specs: list[str]) -> dict[str, str]:
    """``NAME=FILE`` options as a dict (a name given twice is an error)."""
    out: dict[str, str] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise NetworkOptionError(f"--network {spec!r}: expected NAME=FILE (the name of a declare-network)")
        if name.strip() in out:
            raise NetworkOptionError(f"--network {name.strip()} is given twice")
        out[name.strip()] = path.strip()
    return out


def match_networks(q: Query2, given: dict[str, str]) -> dict[str, str]:
    """Model file per declared network (an ``equal-to`` copy takes its original's file)."""
    needed = [d.name for d in q.networks if not d.equal_to]
    missing = [n for n in needed if n not in given]
    extra = sorted(set(given) - set(needed))
    if missing:
        d = next(d for d in q.networks if d.name == missing[0])
        raise NetworkOptionError(f"{q.source}:{d.line}: network {d.name} has no model: give --network {d.name}=FILE")
    if extra:
        copies = {d.name for d in q.networks if d.equal_to}
        why = "is an equal-to copy (it takes its original's model)" if extra[0] in copies else "is not declared in the query"
        raise NetworkOptionError(f"--network {extra[0]}: {extra[0]} {why} (declared: {', '.join(needed)})")
    return {d.name: given[d.equal_to or d.name] for d in q.networks}


def is_onnx(path: Path) -> bool:
    """An ONNX file by name, or by content where the name says nothing (a protobuf, not a zip or HDF5)."""
    if path.suffix.lower() == ".onnx":
        return True
    try:
        with open(path, "rb") as f:
            magic = f.read(8)
    except OSError:
        return False
    return not (magic.startswith(b"PK") or magic.startswith(b"\x89HDF")) and path.suffix.lower() not in (".bvq", ".pt", ".h5")


_ONNX_TYPES = {1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64", 9: "bool",
               10: "float16", 11: "float64", 12: "uint32", 13: "uint64", 16: "bfloat16"}


def onnx_interface(path: Path) -> tuple[list[str], list[str], set[str]]:
    """(input element types, output element types, op types) of an ONNX model's graph (read from the
    protobuf wire format: no onnx import on this path, see ``onnx_wire``)."""
    from bvverify.vnnlib_standard.onnx_wire import WireError, read_interface

    try:
        iface = read_interface(path.read_bytes())
    except (WireError, OSError) as e:
        raise BvverifyError(f"{path}: not a readable ONNX model ({e})") from None

    def names(items):
        return [_ONNX_TYPES.get(t, f"type{t}") for _, t in items]

    return names([v for v in iface.inputs if v[0] not in iface.initializers]), names(iface.outputs), iface.ops


def _check_onnx(path: Path, decl: NetworkDecl, source: str) -> None:
    ins, outs, ops = onnx_interface(path)
    for role, declared, actual in (("input", decl.inputs, ins), ("output", decl.outputs, outs)):
        if len(declared) != len(actual):
            raise BvverifyError(f"{source}:{decl.line}: network {decl.name} declares {len(declared)} {role}s, but "
                                f"{path} has {len(actual)}")
        for t, a in zip(declared, actual):
            if t.dtype != "real" and t.dtype != a:
                raise BvverifyError(f"{source}:{t.line}: {role} {t.name} of network {decl.name} is declared {t.dtype}, "
                                    f"but {path} gives {a}")
    if not ops & QUANT_OPS:
        raise Vnnlib2Unsupported(f"{path}: a float ONNX network (no quantized operator among "
                                 f"{', '.join(sorted(ops)) or 'its nodes'}): its float arithmetic is outside "
                                 "bvverify's sound domain, which is quantized (integer) networks as their runtime "
                                 "computes them")


def load_network(path_text: str, decl: NetworkDecl, source: str) -> QNetwork:
    """Load one named model (a file or a bundled name); ONNX interfaces are checked first."""
    from bvverify.bundled import resolve_model
    from bvverify.importers import load

    path = resolve_model(path_text)
    if path.exists() and path.is_file() and is_onnx(path):
        _check_onnx(path, decl, source)
        try:
            net = load(path)
        except InternalError:
            raise
        except BvverifyError as e:
            raise Vnnlib2Unsupported(f"{path}: bvverify cannot model this ONNX network exactly: {e}") from None
        # a float32 graph output is the output codes through the final DequantizeLinear: onnxruntime's
        # RN(scale * (q - zero_point)) in float32, the rule of QNetwork.dequantize (measured bit-exact)
        if onnx_interface(path)[1] == ["float32"] and net.output.scale is not None:
            net.meta["dequantized_output"] = True
        return net
    return load(path)


__all__ = ["NetworkOptionError", "is_onnx", "load_network", "match_networks", "onnx_interface", "parse_networks"]
