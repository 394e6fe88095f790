"""The native single-file format: a zip (numpy ``.npz``) holding ``bvverify.json``
(graph, scalar fields, provenance) and one ``.npy`` entry per array. It lives in the IR
(``QNetwork.save`` writes it); ``importers.native`` reads it as one of the formats.

Lossless by construction: arrays keep their dtype (float32 scales stay float32,
integer weights stay integers) and JSON floats are float64 reprs, exact for any
float32. Loading never unpickles.
"""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from bvverify.errors import BvverifyError, ModelFormatError
from bvverify.ir import ops

FORMAT = "bvverify-qnet"
VERSION = 1
HEADER = "bvverify.json"

Net = TypeVar("Net")


class Stored(Protocol):
    """The parts of a network the file holds: a ``QNetwork``, not named here because
    ``ir.graph`` imports this module."""

    @property
    def input(self) -> ops.InputSpec: ...

    @property
    def nodes(self) -> tuple[ops.Node, ...]: ...

    @property
    def output(self) -> ops.OutputSpec: ...

    @property
    def meta(self) -> dict[str, Any]: ...


def _encode_node(i: int, node: ops.Node, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    d: dict[str, Any] = {"op": node.op}
    for f in dataclasses.fields(node):
        v = getattr(node, f.name)
        key = f"n{i}.{f.name}"
        if isinstance(v, np.ndarray):
            arrays[key] = v
            d[f.name] = {"array": key}
        elif f.name == "params":
            d[f.name] = {}
            for k, pv in v.items():
                arrays[f"{key}.{k}"] = np.asarray(pv)
                d[f.name][k] = {"array": f"{key}.{k}"}
        elif isinstance(v, tuple):
            d[f.name] = list(v)
        elif isinstance(v, (np.integer, np.floating)):
            d[f.name] = v.item()
        else:
            d[f.name] = v
    return d


def save(net: Stored, path: str | Path) -> None:
    arrays: dict[str, np.ndarray] = {}
    header = {
        "format": FORMAT,
        "version": VERSION,
        "input": dataclasses.asdict(net.input),
        "output": dataclasses.asdict(net.output),
        "meta": json.loads(json.dumps(net.meta, default=str)),
        "nodes": [_encode_node(i, n, arrays) for i, n in enumerate(net.nodes)],
    }
    header["input"]["shape"] = list(net.input.shape)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(HEADER, json.dumps(header, indent=1))
        for key, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=False)
            zf.writestr(key + ".npy", buf.getvalue())


def is_native(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return HEADER in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def load(path: str | Path, build: Callable[..., Net]) -> Net:
    """Read a native file; ``build(input, nodes, output, meta)`` makes the network (the
    ``QNetwork`` class), inside the error handling so its validation names the file."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            header = json.loads(zf.read(HEADER))
            arrays = {
                name[:-4]: np.lib.format.read_array(io.BytesIO(zf.read(name)), allow_pickle=False)
                for name in zf.namelist() if name.endswith(".npy")
            }
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as e:
        raise ModelFormatError(f"{path}: not a readable bvverify model file ({e})") from None
    try:
        return _decode(header, arrays, build)
    except BvverifyError as e:
        raise type(e)(f"{path}: {e}") from None
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise ModelFormatError(f"{path}: malformed model header ({type(e).__name__}: {e})") from None


def _decode(header: dict[str, Any], arrays: dict[str, np.ndarray], build: Callable[..., Net]) -> Net:
    if header.get("format") != FORMAT:
        raise ModelFormatError(f"field 'format' is {header.get('format')!r}, expected {FORMAT!r}")
    if header.get("version") != VERSION:
        raise ModelFormatError(f"field 'version' is {header.get('version')!r}; this bvverify reads version {VERSION}")

    def arr(ref: Any, where: str) -> np.ndarray:
        if not isinstance(ref, dict) or ref.get("array") not in arrays:
            raise ModelFormatError(f"{where}: array {ref!r} missing from the file")
        return arrays[ref["array"]]

    nodes = []
    for i, nd in enumerate(header["nodes"]):
        op = nd.get("op")
        cls = ops.NODE_TYPES.get(op)
        if cls is None:
            raise ModelFormatError(f"node {i}: unknown op {op!r}")
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            where = f"node {i} ({nd.get('name', '?')}) field {f.name!r}"
            if f.name not in nd:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:  # type: ignore[misc]
                    raise ModelFormatError(f"{where} missing")
                continue
            v = nd[f.name]
            if f.name == "params":
                kwargs[f.name] = {k: arr(r, f"{where}.{k}") for k, r in v.items()}
            elif isinstance(v, dict) and "array" in v:
                kwargs[f.name] = arr(v, where)
            elif isinstance(v, list):
                kwargs[f.name] = tuple(v)
            else:
                kwargs[f.name] = v
        nodes.append(cls(**kwargs))
    inp = dict(header["input"])
    q = inp.pop("quantizer", None)
    spec = ops.InputSpec(shape=tuple(inp["shape"]), lo=int(inp["lo"]), hi=int(inp["hi"]),
                         quantizer=None if q is None else ops.InputQuantizer(**q))
    out = ops.OutputSpec(**header["output"])
    return build(spec, tuple(nodes), out, dict(header.get("meta", {})))
