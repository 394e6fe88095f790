"""VNN-LIB 2.0 queries, read through the official parser (``vnnlib`` on PyPI), exactly.

The official parser checks the syntax, the scopes and the types; this module turns its typed
tree into bvverify's own exact formulas (``vnnlib_logic``): every variable element is a key
``(tensor name, flat row-major index)``, every numeral an exact ``Fraction`` read from its
lexeme (never from the parser's float). What the element types mean is decided here, once:

* integer element types (``int8``, ``uint8``, ...): values are integers; terms (``+``, ``-``,
  ``*`` by a constant) are read as exact integer arithmetic (no wrap-around);
* ``float32``: a numeral compared with a float32 variable is first rounded to the nearest
  float32 (ties to even), as the float32 theory types it; float32 *arithmetic* rounds at every
  step, so an atom must compare a variable with a constant or with another variable, anything
  else is refused by name (file, line, the atom);
* every other element type (``real``, ``float16``, ``float64``, ...) is kept as declared and
  refused later, where a network is matched to it (``vnnlib2_convert``).

A file without ``declare-network`` is a VNN-LIB 1 file: :func:`is_vnnlib2` tells them apart and
the caller reads those with :mod:`bvverify.properties.vnnlib`. Errors are
:class:`~bvverify.properties.vnnlib_syntax.VnnlibError` naming ``file:line`` and the field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from fractions import Fraction
from os import PathLike
from pathlib import Path

import numpy as np

from bvverify.errors import BvverifyError
from bvverify.properties.vnnlib_logic import And, Cmp, Const, Expr, Or, atom, top_conjuncts
from bvverify.properties.vnnlib_syntax import VnnlibError

__all__ = ["INT_RANGES", "NetworkDecl", "Query2", "TensorDecl", "Vnnlib2Unsupported", "Where", "is_vnnlib2", "parse_vnnlib2",
           "read_query_text", "read_vnnlib2", "round_f32"]

# the parser's element types by the names VNN-LIB 2.0 (ONNX "Set 1") writes them
_DTYPE_NAMES = {"Real": "real", "F16": "float16", "F32": "float32", "F64": "float64", "BF16": "bfloat16",
                "I8": "int8", "I16": "int16", "I32": "int32", "I64": "int64", "U8": "uint8", "U16": "uint16",
                "U32": "uint32", "U64": "uint64", "Bool": "bool", "String": "string", "C64": "complex64",
                "C128": "complex128"}
INT_RANGES = {"int8": (-(2**7), 2**7 - 1), "uint8": (0, 2**8 - 1), "int16": (-(2**15), 2**15 - 1),
              "uint16": (0, 2**16 - 1), "int32": (-(2**31), 2**31 - 1), "uint32": (0, 2**32 - 1),
              "int64": (-(2**63), 2**63 - 1), "uint64": (0, 2**64 - 1)}
"""Value range of each integer element type."""

_COMMENT = re.compile(r";[^\n]*")
_V2_HEAD = re.compile(r"\(\s*(vnnlib-version|declare-network)\b")


class Vnnlib2Unsupported(BvverifyError, NotImplementedError):
    """A well-formed query outside what bvverify decides soundly (the answer is ``unknown``, with this reason)."""


@dataclass(frozen=True)
class Where:
    """Where an atom or declaration is, for messages: its line and its text."""

    line: int
    text: str


@dataclass(frozen=True)
class TensorDecl:
    """One ``declare-input`` / ``declare-output`` / ``declare-hidden`` of a network."""

    name: str
    dtype: str  # "uint8", "float32", "real", ...
    shape: tuple[int, ...]
    role: str  # "input", "output", "hidden"
    network: str
    line: int
    onnx_name: str = ""

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    def label(self, flat: int) -> str:
        """``X[0,3]`` for a flat index (``X`` for a scalar)."""
        if not self.shape:
            return self.name
        return f"{self.name}[{','.join(map(str, np.unravel_index(flat, self.shape)))}]"

    def header(self) -> str:
        """The tensor's line in the 2.0 assignment format: ``X uint8 [1,64]``."""
        return f"{self.name} {self.dtype} [{','.join(map(str, self.shape))}]"


@dataclass(frozen=True)
class NetworkDecl:
    name: str
    line: int
    equal_to: str
    isomorphic_to: str
    inputs: tuple[TensorDecl, ...]
    hidden: tuple[TensorDecl, ...]
    outputs: tuple[TensorDecl, ...]

    @property
    def tensors(self) -> tuple[TensorDecl, ...]:
        """In declaration order as the assignment format lists them: inputs, hidden, outputs."""
        return self.inputs + self.hidden + self.outputs


@dataclass
class Query2:
    """A parsed 2.0 query: its networks and the simplified top-level conjuncts of its assertions
    (``vnnlib_logic`` formulas over keys ``(tensor name, flat index)``)."""

    source: str
    version: str
    networks: tuple[NetworkDecl, ...]
    conjuncts: list
    tensors: dict[str, TensorDecl] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # readings worth saying (integer terms beyond their type)

    def fail(self, line: int, msg: str) -> VnnlibError:
        return VnnlibError(f"{self.source}:{line}: {msg}")

    def holds(self, values: dict[tuple[str, int], Fraction]) -> bool:
        """Exact truth of every assertion under an assignment of every element (the check a
        printed counterexample must pass)."""
        return all(_truth(f, values) for f in self.conjuncts)


def _truth(f, values) -> bool:
    if isinstance(f, Const):
        return f.value
    if isinstance(f, Cmp):
        total = f.expr.const + sum((c * values[v] for v, c in f.expr.coefs.items()), Fraction(0))
        return total < 0 if f.strict else total <= 0
    if isinstance(f, And):
        return all(_truth(c, values) for c in f.children)
    return any(_truth(c, values) for c in f.children)


def is_vnnlib2(text: str) -> bool:
    """Whether ``text`` is a 2.0 query (it declares networks) rather than a VNN-LIB 1 file."""
    return _V2_HEAD.search(_COMMENT.sub("", text)) is not None


def round_f32(q: Fraction) -> Fraction | None:
    """The float32 nearest to ``q`` (ties to even), exactly; None outside float32's finite range."""
    top = Fraction(float(np.finfo(np.float32).max))
    if abs(q) > 2 * top:
        return None
    with np.errstate(over="ignore"):
        f = np.float32(float(q))
    if not np.isfinite(f):
        return None
    best = None
    for c in (np.nextafter(f, np.float32(-np.inf)), f, np.nextafter(f, np.float32(np.inf))):
        if not np.isfinite(c):
            continue
        d = abs(Fraction(float(c)) - q)
        even = int(np.asarray(c, np.float32).view(np.int32)) % 2 == 0
        key = (d, not even)
        if best is None or key < best[0]:
            best = (key, c)
    return Fraction(float(best[1]))


def _line_of(text: str, pattern: str) -> int:
    m = re.search(pattern, _COMMENT.sub(lambda t: " " * len(t.group()), text))
    return text.count("\n", 0, m.start()) + 1 if m else 1


def _parser_error(source: str, e: Exception) -> VnnlibError:
    """The official parser's message (a syntax error line, or its JSON report) as one bvverify line."""
    text = str(e).strip()
    m = re.match(r"Parse error: syntax error at line (\d+), column (\d+): (.*)", text, re.S)
    if m:
        return VnnlibError(f"{source}:{m.group(1)}:{m.group(2)}: syntax error at {m.group(3).strip()} "
                           "(VNN-LIB 2.0 grammar, official parser)")
    try:
        doc = json.loads(text)
        first = doc["errors"][0]
        more = f" (and {doc['error_count'] - 1} more)" if doc.get("error_count", 1) > 1 else ""
        return VnnlibError(f"{source}:{first.get('line', '?')}: {first.get('message', 'error')} at "
                           f"{first.get('offendingSymbol', '?')!r}: {first.get('hint', '')}{more}")
    except (ValueError, KeyError, IndexError, TypeError):
        return VnnlibError(f"{source}: {text}")


class _Reader:
    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.tensors: dict[str, TensorDecl] = {}
        self.notes: list[str] = []

    def fail(self, line: int, msg: str) -> VnnlibError:
        return VnnlibError(f"{self.source}:{line}: {msg}")

    def unsupported(self, line: int, msg: str) -> Vnnlib2Unsupported:
        return Vnnlib2Unsupported(f"{self.source}:{line}: {msg}")

    def decl(self, d, role: str, network: str) -> TensorDecl:
        dtype = _DTYPE_NAMES.get(d.dtype.name, d.dtype.name.lower())
        line = _line_of(self.text, rf"\(\s*declare-{role}\s+{re.escape(d.name)}\b")
        t = TensorDecl(d.name, dtype, tuple(int(s) for s in d.shape), role, network, line, (d.onnx_name or "").strip('"'))
        self.tensors[t.name] = t
        return t

    def network(self, n) -> NetworkDecl:
        line = _line_of(self.text, rf"\(\s*declare-network\s+{re.escape(n.name)}\b")
        return NetworkDecl(n.name, line, n.equal_to or "", n.isometric_to or "",
                           tuple(self.decl(d, "input", n.name) for d in n.inputs),
                           tuple(self.decl(d, "hidden", n.name) for d in n.hidden),
                           tuple(self.decl(d, "output", n.name) for d in n.outputs))

    # ---- terms

    def where(self, node) -> Where:
        return Where(_first_line(node), str(node).strip())

    def term(self, node, at: Where) -> Expr:
        kind = type(node).__name__
        if kind == "Var":
            t = self.tensors[node.name]
            idx = list(node.indices)
            flat = int(np.ravel_multi_index(idx, t.shape)) if t.shape else 0
            return Expr({(t.name, flat): Fraction(1)}, Fraction(0))
        if hasattr(node, "lexeme"):
            return Expr({}, Fraction(node.lexeme))
        kids = [self.term(c, at) for c in node.children()]
        if kind == "Negate":
            return kids[0].scaled(Fraction(-1))
        if kind == "Plus":
            out = kids[0]
            for k in kids[1:]:
                out = out.plus(k)
            return out
        if kind == "Minus":
            out = kids[0]
            for k in kids[1:]:
                out = out.plus(k.scaled(Fraction(-1)))
            return out
        if kind == "Multiply":
            var = None
            factor = Fraction(1)
            for k in kids:
                if k.vars():
                    if var is not None:
                        raise self.unsupported(at.line, f"nonlinear term in {at.text}: a product of variables (polynomial "
                                                 "arithmetic, theory POLY) is not supported")
                    var = k
                else:
                    factor *= k.const
            return (var or Expr({}, Fraction(1))).scaled(factor)
        raise self.fail(at.line, f"unsupported term {str(node).strip()!r} in {at.text}")

    def dtype_of(self, node) -> str | None:
        if type(node).__name__ == "Var":
            return self.tensors[node.name].dtype
        for c in node.children():
            d = self.dtype_of(c)
            if d is not None:
                return d
        return None

    def float_side(self, node, at: Where) -> Expr:
        """One side of a float32 comparison: a variable, or a numeral rounded to float32."""
        kind = type(node).__name__
        if kind == "Var":
            return self.term(node, at)
        neg = kind == "Negate" and hasattr(node.children()[0], "lexeme")
        lit = node.children()[0] if neg else node
        if hasattr(lit, "lexeme"):
            value = Fraction(lit.lexeme) * (-1 if neg else 1)
            rounded = round_f32(value)
            if rounded is None:
                raise self.fail(at.line, f"constant {lit.lexeme} in {at.text} is outside the float32 range")
            return Expr({}, rounded)
        raise self.unsupported(at.line, f"float32 arithmetic in {at.text}: float32 terms round at every step, so bvverify "
                                 "decides float32 atoms that compare a variable with a constant or with another "
                                 "variable only (integer element types take linear terms)")

    # ---- formulas

    def formula(self, node):
        kind = type(node).__name__
        if kind in ("And", "Or"):
            kids = tuple(self.formula(c) for c in node.children())
            return And(kids, self.where(node)) if kind == "And" else Or(kids, self.where(node))
        at = self.where(node)
        lhs, rhs = node.children()
        dtype = self.dtype_of(node)
        if dtype == "float32":
            a, b = self.float_side(lhs, at), self.float_side(rhs, at)
        else:
            a, b = self.term(lhs, at), self.term(rhs, at)
            if dtype in INT_RANGES:
                self.note_range(dtype, (lhs, a), (rhs, b), at=at)
        diff = a.plus(b.scaled(Fraction(-1)))  # a - b
        neg = b.plus(a.scaled(Fraction(-1)))  # b - a
        if kind == "LessEqual":
            return atom(diff, False, at)
        if kind == "LessThan":
            return atom(diff, True, at)
        if kind == "GreaterEqual":
            return atom(neg, False, at)
        if kind == "GreaterThan":
            return atom(neg, True, at)
        if kind == "Equal":
            return And((atom(diff, False, at), atom(neg, False, at)), at)
        if kind == "NotEqual":
            return Or((atom(diff, True, at), atom(neg, True, at)), at)
        raise self.fail(at.line, f"unsupported comparison {kind} in {at.text}")

    def note_range(self, dtype: str, *sides, at: Where = None) -> None:
        """Say so when an integer term can leave its element type's range: it is read as exact integers."""
        lo, hi = INT_RANGES[dtype]
        for node, e in sides:
            if type(node).__name__ == "Var" or hasattr(node, "lexeme"):
                continue
            low = e.const + sum(c * (lo if c > 0 else hi) for c in e.coefs.values())
            high = e.const + sum(c * (hi if c > 0 else lo) for c in e.coefs.values())
            if low < lo or high > hi:
                self.notes.append(f"{self.source}:{at.line}: {str(node).strip()} can leave the {dtype} range "
                                  f"({low}..{high}); it is read as exact integer arithmetic (no wrap-around)")
                return


def _first_line(node) -> int:
    line = getattr(node, "line", None)
    if isinstance(line, int) and line > 0:
        return line
    for c in node.children():
        got = _first_line(c)
        if got:
            return got
    return 0


def parse_vnnlib2(text: str, source: str = "<string>") -> Query2:
    """Parse 2.0 ``text`` with the official parser and return its exact :class:`Query2`."""
    try:
        import vnnlib
    except ImportError:
        raise VnnlibError(f"{source}: reading a VNN-LIB 2.0 query needs the official parser: "
                          "pip install 'bvverify[vnnlib]' (the `vnnlib` package)") from None
    try:
        tree = vnnlib.parse_query_string(text)
    except vnnlib.VNNLibException as e:
        raise _parser_error(source, e) from None
    except (IndexError, ValueError, OverflowError, RuntimeError) as e:  # the C++ parser's own failures (stoll, ...)
        raise VnnlibError(f"{source}: the official VNN-LIB parser failed ({type(e).__name__}: {e}); "
                          "a numeral beyond 64 bits?") from None
    m = re.search(r"\(\s*vnnlib-version\s*<([0-9]+\.[0-9]+)>", text)
    reader = _Reader(text, source)
    networks = tuple(reader.network(n) for n in tree.networks)
    conjuncts = []
    for a in tree.assertions:
        conjuncts.extend(top_conjuncts(reader.formula(a.expr)))
    return Query2(source, m.group(1) if m else "2.0", networks, conjuncts, reader.tensors, reader.notes)


def read_query_text(path: str | PathLike) -> str:
    """A query file's text, or a one-line error naming the file (and the byte that is not UTF-8)."""
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise VnnlibError(f"{source}: cannot read VNN-LIB file: {e.strerror or e}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise VnnlibError(f"{source}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x})") from None


def read_vnnlib2(path: str | PathLike) -> Query2:
    """Read a 2.0 query file; see :func:`parse_vnnlib2`."""
    return parse_vnnlib2(read_query_text(path), str(path))
