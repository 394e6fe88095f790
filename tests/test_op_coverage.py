"""Every IR op type has an entry in every per-op table, or an explicit, tested refusal.

A new op added to ``ir/ops.py`` must be taught to each layer that dispatches on op type
(load-time checks, interpreter, interval and symbolic bounds, bit-vector and ILP
lowerings, the attack surrogate); this test names every (table, op) pair that was forgotten. A table that
deliberately does not handle an op holds ``ir.interp.refusal(...)`` for it, which
raises ``UnsupportedOpError`` naming the op.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pytest

from bvverify.attacks import surrogate
from bvverify.bounds import symbolic
from bvverify.encoders import bv, ilp
from bvverify.errors import UnsupportedOpError
from bvverify.ir import check, interp, ops, ranges

Table = Mapping[type, Callable[..., object]]

TABLES: dict[str, Table] = {
    "checks (ir.check.SHAPE)": check.SHAPE,
    "interpreter (ir.interp.EVAL)": interp.EVAL,
    "intervals (ir.ranges.INTERVAL)": ranges.INTERVAL,
    "symbolic bounds (bounds.symbolic.RELAX)": symbolic.RELAX,
    "bit-vector (encoders.bv.LOWER)": bv.LOWER,
    "ILP (encoders.ilp.LOWER)": ilp.LOWER,
    "attack surrogate (attacks.surrogate.SURROGATE)": surrogate.SURROGATE,
}


def op_types() -> list[type[ops.Node]]:
    """Every concrete op: the Node subclasses defined in ``ir/ops.py`` (whether or not the
    serializer's ``NODE_TYPES`` lists them), in definition order."""
    found: list[type[ops.Node]] = []
    todo = list(ops.Node.__subclasses__())
    while todo:
        t = todo.pop(0)
        if t.__module__ == ops.__name__ and t not in found:
            found.append(t)
        todo.extend(t.__subclasses__())
    return found


def missing_entries(types: Iterable[type], tables: Mapping[str, Table]) -> list[tuple[str, str]]:
    """The (table, op) pairs with no entry: neither a rule nor an explicit refusal."""
    return [(name, t.__name__) for name, table in tables.items() for t in types if t not in table]


def refusals(tables: Mapping[str, Table]) -> list[tuple[str, type, Callable[..., object]]]:
    """The (table, op, entry) of every explicit refusal (``ir.interp.refusal``)."""
    return [(name, t, fn) for name, table in tables.items() for t, fn in table.items()
            if getattr(fn, "refuses", None) is not None]


def coverage_report(types: Iterable[type], tables: Mapping[str, Table]) -> str:
    """One line per missing pair, empty when every table covers every op."""
    return "\n".join(f"table {name} has no entry for op {op} (add a rule or an explicit refusal)"
                     for name, op in missing_entries(types, tables))


def assert_covered(types: Iterable[type], tables: Mapping[str, Table]) -> None:
    """Fail with one line per (table, op) gap."""
    report = coverage_report(types, tables)
    if report:
        raise AssertionError("\n" + report)


def test_every_op_is_in_every_table() -> None:
    assert_covered(op_types(), TABLES)


def test_the_serializer_knows_every_op() -> None:
    assert set(ops.NODE_TYPES.values()) == set(op_types())


def test_tables_hold_only_op_types_and_callables() -> None:
    known = set(op_types())
    for name, table in TABLES.items():
        assert set(table) <= known, f"{name}: entries for non-ops {set(table) - known}"
        assert all(callable(fn) for fn in table.values()), name


def test_every_refusal_raises_by_name() -> None:
    for name, op, fn in refusals(TABLES):
        with pytest.raises(UnsupportedOpError, match=op.__name__):
            fn()
        assert fn.refuses is op, name


# ---- the check itself fails on injected violations -----------------------------------------


@dataclass(frozen=True, eq=False)
class Softmax(ops.Node):
    """An op no table knows (defined here, so ``op_types`` never sees it)."""


def test_a_new_op_is_reported_in_every_table() -> None:
    with pytest.raises(AssertionError) as failed:
        assert_covered([*op_types(), Softmax], TABLES)
    report = str(failed.value)
    print(report)
    assert report.count("no entry for op Softmax") == len(TABLES)
    for name in TABLES:
        assert f"table {name} has no entry for op Softmax" in report


def test_a_removed_entry_is_reported_by_table_and_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(ranges.INTERVAL, ops.Lookup)
    assert missing_entries(op_types(), TABLES) == [("intervals (ir.ranges.INTERVAL)", "Lookup")]
    with pytest.raises(AssertionError) as failed:
        assert_covered(op_types(), TABLES)
    print(failed.value)
    assert "table intervals (ir.ranges.INTERVAL) has no entry for op Lookup" in str(failed.value)
    node = ops.Lookup("t", ("input",), np.arange(4, dtype=np.int64))  # and the dispatch itself refuses by name
    with pytest.raises(UnsupportedOpError, match="no rule for op Lookup"):
        ranges.node_interval(node, [(np.zeros(1, np.int64), np.ones(1, np.int64))], (1,))


def test_an_explicit_refusal_covers_the_op_and_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = interp.refusal("ILP engine", ops.Lookup, "no exact encoding yet")
    monkeypatch.setitem(ilp.LOWER, ops.Lookup, entry)
    assert_covered(op_types(), TABLES)
    assert [(n, t) for n, t, _ in refusals(TABLES)] == [("ILP (encoders.ilp.LOWER)", ops.Lookup)]
    with pytest.raises(UnsupportedOpError, match="ILP engine: op Lookup is not supported"):
        entry(None, ops.Lookup("t", ("input",), np.arange(4, dtype=np.int64)), None)
