"""A VNN-LIB 2.0 query onto bvverify's networks, exactly, or refused by name.

Each declared input and output is matched to how the network takes and gives its values:

* an integer-typed input (``uint8``, ``int8``, ...) is the network's integer input codes: the
  codes an integer-input network takes, or the codes its input quantizer produces (the
  integer network behind the quantizer, a box in code units). The network's code range must
  lie inside the element type's range, and the query's box inside the network's code range;
* a ``float32`` input is the float input of a network with an input quantizer (its own exact
  float32 -> code rule), bounded on both sides by float32 constants;
* an integer-typed output is the network's output codes (their range must fit the type); a
  ``float32`` output is the runtime's dequantized float32 output, where the network has one;
* anything else (``real``, ``float16``, ``float64``, hidden nodes, several inputs or outputs
  per network, more than two networks) is outside what bvverify decides soundly: a
  :class:`Vnnlib2Unsupported` naming file, line and field, which callers answer ``unknown``.

One network gives a :class:`~bvverify.properties.spec.Property`. Two networks whose inputs the
query ties element by element (``(== X[i] X2[i])`` for every i) give one property over the
concatenation of their output codes, the shape of the two-network engine
(:mod:`bvverify.engines.equiv`); two networks on different inputs are refused by name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from bvverify.ir.graph import QNetwork
from bvverify.ir.ranges import intervals
from bvverify.properties.spec import OutputCondition, Property
from bvverify.properties.vnnlib import MAX_CLAUSES
from bvverify.properties.vnnlib2 import INT_RANGES, NetworkDecl, Query2, TensorDecl, Vnnlib2Unsupported, Where
from bvverify.properties.vnnlib_logic import And, Cmp, Const, Expr, Or, clause_count, dnf, var_kinds
from bvverify.properties.vnnlib_syntax import VnnlibError

__all__ = ["Plan", "Side", "Vnnlib2Unsupported", "plan_query"]


@dataclass(frozen=True)
class Side:
    """One network of the query as bvverify runs it."""

    decl: NetworkDecl
    net: QNetwork
    input: TensorDecl
    output: TensorDecl
    input_mode: str  # "codes" (integer-typed input) or "float32"
    over: str  # "codes" or "dequantized"


@dataclass
class Plan:
    """What to decide: one network (``prop`` over its outputs) or two on one shared input
    (``prop`` over the concatenation of their output codes). ``prop`` is None when the input
    constraints alone are unsatisfiable (``empty`` says where): the query is then unsat."""

    query: Query2
    sides: tuple[Side, ...]
    prop: Property | None
    empty: str = ""
    notes: list[str] = field(default_factory=list)

    def values(self, codes: np.ndarray, inputs: np.ndarray, outputs: np.ndarray,
               dequantized: np.ndarray | None) -> dict[tuple[str, int], Fraction]:
        """Every declared element's value for a counterexample: ``codes`` / ``inputs`` (model-domain
        input), ``outputs`` (output codes; the pair's concatenation) and ``dequantized``."""
        vals: dict[tuple[str, int], Fraction] = {}
        offset = 0
        for s in self.sides:
            x = np.asarray(codes if s.input_mode == "codes" else inputs).ravel()
            for i, v in enumerate(x):
                vals[(s.input.name, i)] = _exact(v)
            n = s.output.size
            src = outputs if s.over == "codes" else dequantized
            y = np.asarray(src).ravel()[offset:offset + n] if len(self.sides) > 1 else np.asarray(src).ravel()
            for j, v in enumerate(y):
                vals[(s.output.name, j)] = _exact(v)
            offset += n
        return vals

    def assignment(self, values: dict[tuple[str, int], Fraction]) -> list[str]:
        """The 2.0 command-line assignment: per declared tensor, in declaration order, its
        ``name type [dims]`` line and one value a line, row-major."""
        lines = []
        for d in self.query.networks:
            for t in d.tensors:
                lines.append(t.header())
                for k in range(t.size):
                    v = values[(t.name, k)]
                    lines.append(str(int(v)) if t.dtype in INT_RANGES else repr(float(v)))
        return lines


def _exact(v) -> Fraction:
    if isinstance(v, (int, np.integer)):
        return Fraction(int(v))
    return Fraction(float(np.float32(v)))


def _same_shape(declared: tuple[int, ...], actual: tuple[int, ...]) -> bool:
    """Shapes agree up to leading axes of size 1 (a batch of one)."""
    def core(s):
        s = list(s)
        while s and s[0] == 1:
            s.pop(0)
        return s
    return core(declared) == core(actual)


def dequantizes(net: QNetwork) -> bool:
    """Whether the network's runtime gives float32 dequantized outputs (its `Y` in float units)."""
    return bool(net.meta.get("dequantized_output")) and net.output.scale is not None


def _side(q: Query2, decl: NetworkDecl, net: QNetwork) -> Side:
    where = f"network {decl.name}"
    if decl.hidden:
        h = decl.hidden[0]
        raise Vnnlib2Unsupported(f"{q.source}:{h.line}: hidden node {h.name} ({h.onnx_name}): bvverify answers "
                                 "queries over network inputs and outputs only (hidden-node theory NH)")
    if len(decl.inputs) != 1 or len(decl.outputs) != 1:
        raise Vnnlib2Unsupported(f"{q.source}:{decl.line}: {where} declares {len(decl.inputs)} inputs and "
                                 f"{len(decl.outputs)} outputs: bvverify's networks have one of each (theory SIO)")
    x, y = decl.inputs[0], decl.outputs[0]
    for t, shape in ((x, tuple(net.input.shape)), (y, tuple(net.output_shape))):
        if not _same_shape(t.shape, shape):
            raise q.fail(t.line, f"{t.role} {t.name} of {where} is declared with shape [{','.join(map(str, t.shape))}], "
                                 f"but the model's {t.role} has shape [{','.join(map(str, shape))}]")
    # the input
    if x.dtype in INT_RANGES:
        lo, hi = INT_RANGES[x.dtype]
        if net.input.lo < lo or net.input.hi > hi:
            raise q.fail(x.line, f"input {x.name} of {where} is declared {x.dtype} ({lo}..{hi}), but the model's input "
                                 f"codes span {net.input.lo}..{net.input.hi}")
        mode = "codes"
    elif x.dtype == "float32":
        if net.integer_input:
            raise q.fail(x.line, f"input {x.name} of {where} is declared float32, but the model takes integer codes "
                                 f"{net.input.lo}..{net.input.hi} (declare it with an integer type such as "
                                 f"{'uint8' if net.input.lo >= 0 else 'int8'})")
        mode = "float32"
    else:
        raise Vnnlib2Unsupported(_type_reason(q, x))
    # the output
    if y.dtype in INT_RANGES:
        lo, hi = INT_RANGES[y.dtype]
        env = intervals(net.input, net.nodes, net.shapes)
        olo, ohi = int(np.min(env[net.output.name][0])), int(np.max(env[net.output.name][1]))
        if olo < lo or ohi > hi:
            raise q.fail(y.line, f"output {y.name} of {where} is declared {y.dtype} ({lo}..{hi}), but the model's output "
                                 f"codes can span {olo}..{ohi}")
        over = "codes"
    elif y.dtype == "float32":
        if not dequantizes(net):
            raise q.fail(y.line, f"output {y.name} of {where} is declared float32, but the model's runtime gives integer "
                                 "output codes (declare it with an integer type such as uint8 or int8)")
        over = "dequantized"
    else:
        raise Vnnlib2Unsupported(_type_reason(q, y))
    return Side(decl, net, x, y, mode, over)


def _type_reason(q: Query2, t: TensorDecl) -> str:
    if t.dtype == "real":
        why = ("a real-typed query permits reading the network over the real numbers; bvverify decides networks only "
               "in their exact element types")
    else:
        why = f"bvverify has no exact model of {t.dtype} values"
    return (f"{q.source}:{t.line}: {t.role} {t.name} of network {t.network} has element type {t.dtype}: {why} "
            "(integer types such as uint8 / int8 for codes, float32 for the float side of a quantizer)")


def plan_query(q: Query2, nets: dict[str, QNetwork]) -> Plan:
    """Match the query's networks (``nets``: every declared network name -> its loaded model,
    equal-to copies included) and convert its assertions. Raises :class:`VnnlibError` for a
    mismatch (bad input) and :class:`Vnnlib2Unsupported` outside the sound domain."""
    if len(q.networks) > 2:
        raise Vnnlib2Unsupported(f"{q.source}:{q.networks[2].line}: {len(q.networks)} networks: bvverify decides "
                                 "queries over one network or two networks on one shared input")
    sides = tuple(_side(q, d, nets[d.name]) for d in q.networks)
    if len(sides) == 2:
        a, b = sides
        if a.input_mode != b.input_mode or a.input.dtype != b.input.dtype:
            raise Vnnlib2Unsupported(f"{q.source}:{b.input.line}: inputs {a.input.name} ({a.input.dtype}) and "
                                     f"{b.input.name} ({b.input.dtype}) differ in element type: the two-network engine "
                                     "compares networks on one shared input")
        if a.over != "codes" or b.over != "codes":
            t = a.output if a.over != "codes" else b.output
            raise Vnnlib2Unsupported(f"{q.source}:{t.line}: output {t.name} is float32: bvverify compares two networks "
                                     "over their output codes (declare the outputs with their integer type)")
        if a.net.input != b.net.input:
            raise Vnnlib2Unsupported(f"{q.source}:{b.decl.line}: networks {a.decl.name} and {b.decl.name} take their "
                                     "inputs differently (shape, code range or input quantizer): the two-network engine "
                                     "needs the same input")
    return _Converter(q, sides).run()


class _Converter:
    def __init__(self, q: Query2, sides: tuple[Side, ...]) -> None:
        self.q = q
        self.sides = sides
        self.inputs = {s.input.name: s for s in sides}
        self.outputs = {s.output.name: s for s in sides}
        self.offset = {}
        off = 0
        for s in sides:
            self.offset[s.output.name] = off
            off += s.output.size
        self.notes: list[str] = []

    def fail(self, at: Where, msg: str) -> VnnlibError:
        return self.q.fail(at.line, msg)

    def unsupported(self, at: Where, msg: str) -> Vnnlib2Unsupported:
        return Vnnlib2Unsupported(f"{self.q.source}:{at.line}: {msg}")

    def run(self) -> Plan:
        first = self.sides[0]
        n = first.input.size
        lo: list = [None] * n
        hi: list = [None] * n
        lo_at: list = [None] * n
        hi_at: list = [None] * n
        tied: dict[int, set] = {}
        outputs = []
        always_false = False
        for f in self.q.conjuncts:
            if isinstance(f, Const):
                always_false |= not f.value
                continue
            kinds = var_kinds(f)
            if kinds <= set(self.inputs):
                if len(kinds) == 2:
                    self._tie(f, tied)
                else:
                    self._bounds(f, lo, hi, lo_at, hi_at)
            elif kinds <= set(self.outputs):
                outputs.append(f)
            else:
                names = ", ".join(sorted(kinds))
                raise self.unsupported(f.node, f"{f.node.text} relates inputs and outputs ({names}): bvverify takes "
                                               "bounds on the inputs and conditions on the outputs (theory SNC)")
        if len(self.sides) == 2:
            a, b = self.sides
            loose = [i for i in range(n) if tied.get(i) != {"le", "ge"}]
            if loose:
                i = loose[0]
                raise Vnnlib2Unsupported(
                    f"{self.q.source}:{b.input.line}: {b.input.label(i)} is not asserted equal to {a.input.label(i)}: "
                    "bvverify decides two-network queries on one shared input (assert (== X[i] X2[i]) for every element)")
        box = self._box(lo, hi, lo_at, hi_at)
        if isinstance(box, str):
            return Plan(self.q, self.sides, None, box, self.notes)
        blo, bhi = box
        clauses = () if always_false else self._clauses(outputs)
        over = first.over if len(self.sides) == 1 else "codes"
        units = "model" if first.input_mode == "float32" or first.net.integer_input else "codes"
        shape = tuple(first.net.input.shape)
        prop = Property(blo.reshape(shape), bhi.reshape(shape), OutputCondition(clauses, over=over),
                        name=Path(self.q.source).stem if not self.q.source.startswith("<") else "", units=units,
                        meta={"source": self.q.source, "vnnlib_version": self.q.version,
                              "networks": [s.decl.name for s in self.sides]})
        return Plan(self.q, self.sides, prop, "", self.notes)

    # ---- the input box

    def _tie(self, f, tied: dict[int, set]) -> None:
        a, b = (s.input.name for s in self.sides)
        ok = isinstance(f, Cmp) and not f.strict and f.expr.const == 0 and len(f.expr.coefs) == 2
        if ok:
            (k1, c1), (k2, c2) = sorted(f.expr.coefs.items())
            ok = k1[1] == k2[1] and {k1[0], k2[0]} == {a, b} and {c1, c2} == {Fraction(1), Fraction(-1)}
        if not ok:
            raise self.unsupported(f.node, f"{f.node.text} relates the inputs of the two networks other than by "
                                           "element-wise equality (== X[i] X2[i]), which is all the two-network engine takes")
        i = k1[1]
        positive = k1[0] if c1 > 0 else k2[0]  # positive - negative <= 0
        tied.setdefault(i, set()).add("le" if positive == a else "ge")

    def _bounds(self, f, lo, hi, lo_at, hi_at) -> None:
        atoms = f.children if isinstance(f, And) else (f,)
        for atom in atoms:
            if isinstance(atom, Or) or not isinstance(atom, Cmp):
                raise self.unsupported(atom.node, f"disjunctive input regions are not supported: {atom.node.text}")
            variables = atom.expr.vars()
            if len(variables) != 1:
                raise self.unsupported(atom.node, f"input constraint {atom.node.text} is not a bound on one element "
                                                  "(linear input constraints, theory LIN, are not supported)")
            var = variables[0]
            side = self.inputs[var[0]]
            i = var[1]
            coef = atom.expr.coefs[var]
            value = -atom.expr.const / coef
            upper = coef > 0
            if side.input_mode == "codes":
                if upper:
                    value = Fraction(math.ceil(value) - 1 if atom.strict else math.floor(value))
                else:
                    value = Fraction(math.floor(value) + 1 if atom.strict else math.ceil(value))
            elif atom.strict:  # float32 values: the next float32 inside the strict bound
                step = np.float32(-np.inf) if upper else np.float32(np.inf)
                value = Fraction(float(np.nextafter(np.float32(float(value)), step)))
            if upper:
                if hi[i] is None or value <= hi[i]:
                    hi[i], hi_at[i] = value, atom.node
            elif lo[i] is None or value >= lo[i]:
                lo[i], lo_at[i] = value, atom.node

    def _box(self, lo, hi, lo_at, hi_at) -> tuple[np.ndarray, np.ndarray] | str:
        first = self.sides[0]
        x = first.input
        net = first.net
        n = x.size
        if first.input_mode == "codes":
            tlo, thi = INT_RANGES[x.dtype]
            lo = [max(Fraction(tlo), v) if v is not None else Fraction(tlo) for v in lo]
            hi = [min(Fraction(thi), v) if v is not None else Fraction(thi) for v in hi]
        else:
            for i in range(n):
                if lo[i] is None or hi[i] is None:
                    side = "lower" if lo[i] is None else "upper"
                    raise self.q.fail(x.line, f"input {x.label(i)} has no {side} bound: a float32 input must be bounded "
                                              "from both sides by constants (every float32, inf and NaN otherwise)")
        for i in range(n):
            if lo[i] > hi[i]:
                at = max((a for a in (lo_at[i], hi_at[i]) if a is not None), key=lambda w: w.line, default=None)
                line = at.line if at is not None else x.line
                return f"{self.q.source}:{line}: the input constraints are unsatisfiable: {x.label(i)} in [{lo[i]}, {hi[i]}]"
        if first.input_mode == "codes":
            for i in range(n):
                if lo[i] < net.input.lo or hi[i] > net.input.hi:
                    at = lo_at[i] if lo[i] < net.input.lo else hi_at[i]
                    line = at.line if at is not None else x.line
                    raise self.q.fail(line, f"{x.label(i)} ({x.dtype}) may be {lo[i] if lo[i] < net.input.lo else hi[i]} "
                                            f"in this query, but the model takes input codes {net.input.lo}.."
                                            f"{net.input.hi} only: bound it inside that range")
        return np.array([float(v) for v in lo]), np.array([float(v) for v in hi])

    # ---- the output condition

    def _rekey(self, f):
        if isinstance(f, Cmp):
            coefs = {("Y", self.offset[k] + j): c for (k, j), c in f.expr.coefs.items()}
            return Cmp(Expr(coefs, f.expr.const), f.strict, f.node)
        if isinstance(f, (And, Or)):
            return type(f)(tuple(self._rekey(c) for c in f.children), f.node)
        return f

    def _clauses(self, outputs: list) -> tuple:
        total = 1
        for f in outputs:
            total *= clause_count(f)
            if total > MAX_CLAUSES:
                raise self.unsupported(f.node, f"output condition too large: the constraints up to here expand to {total} "
                                               f"clauses in disjunctive normal form (limit {MAX_CLAUSES})")
        clauses: list[tuple] = [()]
        for f in outputs:
            clauses = [x + y for x in clauses for y in dnf(self._rekey(f))]
        seen: dict = {}
        for clause in clauses:
            seen.setdefault(tuple(dict.fromkeys(clause)), None)
        return tuple(seen)
