"""The JSON documents the report reads: ``bvverify robust --json`` and ``bvverify radius --json``.

A missing or mistyped field is named by its path in the document (``results[3].status``), since a
JSON document has no rows to point at.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bvverify.engines.results import is_timeout
from bvverify.reports.records import Loaded, QueryResult, RadiusResult, Witness
from bvverify.reports.rows import ReportInputError

VERDICTS = ("holds", "violated", "unknown")


class Doc:
    """Typed access to one JSON document, every error naming the file and the field's path."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self, obj: Any, key: str, where: str, kinds: tuple[type, ...], optional: bool = False) -> Any:
        at = f"{where}.{key}" if where else key
        if not isinstance(obj, dict):
            raise ReportInputError(f"{self.path}: {where or 'the document'}: expected an object")
        if key not in obj or obj[key] is None:
            if optional:
                return None
            raise ReportInputError(f"{self.path}: field {at} is missing")
        v = obj[key]
        if isinstance(v, bool) and bool not in kinds or not isinstance(v, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise ReportInputError(f"{self.path}: field {at}: {str(v)[:40]!r} is not a {names}")
        return v

    def numbers(self, obj: Any, key: str, where: str) -> tuple[float, ...] | None:
        v = self.get(obj, key, where, (list,), optional=True)
        if v is None:
            return None
        if not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in v):
            raise ReportInputError(f"{self.path}: field {where}.{key}: expected a list of numbers")
        return tuple(float(a) for a in v)

    def status(self, obj: Any, where: str) -> str:
        s = self.get(obj, "status", where, (str,))
        if s not in VERDICTS:
            raise ReportInputError(f"{self.path}: field {where}.status: {s!r} is not a verdict ({', '.join(VERDICTS)})")
        stats = obj.get("stats") or {}
        if s == "unknown" and (isinstance(stats, dict) and stats.get("timed_out") or is_timeout(str(obj.get("reason") or ""))):
            return "timeout"
        return s

    def witness(self, obj: Any, where: str, **sample: Any) -> Witness | None:
        c = self.get(obj, "counterexample", where, (dict,), optional=True)
        if c is None:
            return None
        at = f"{where}.counterexample"
        x = self.numbers(c, "input", at)
        if x is None:
            raise ReportInputError(f"{self.path}: field {at}.input is missing")
        codes = self.numbers(c, "input_codes", at)
        out = self.numbers(c, "output_codes", at)
        return Witness(input=x, codes=None if codes is None else tuple(int(a) for a in codes), output=out, **sample)


def is_radius(doc: dict[str, Any]) -> bool:
    results = doc.get("results")
    return "model" in doc and isinstance(results, list) and "counts" in doc and isinstance(doc["counts"], dict) \
        and "exact" in doc["counts"]


def is_robust(doc: dict[str, Any]) -> bool:
    return "model" in doc and isinstance(doc.get("results"), list) and isinstance(doc.get("counts"), dict) \
        and "holds" in doc["counts"]


def _run_header(d: Doc, doc: dict[str, Any]) -> tuple[str, str, str | None]:
    """What a robust or radius run was asked: its model, eps unit and data file."""
    return (d.get(doc, "model", "", (str,)), d.get(doc, "eps_unit", "", (str,), optional=True) or "codes",
            d.get(doc, "data", "", (str,), optional=True))


def read_robust(path: Path, doc: dict[str, Any]) -> Loaded:
    d, out = Doc(path), Loaded()
    model, unit, data = _run_header(d, doc)
    for n, r in enumerate(d.get(doc, "results", "", (list,))):
        at = f"results[{n}]"
        index = d.get(r, "index", at, (int,))
        eps = d.get(r, "eps", at, (int, float))
        label = d.get(r, "label", at, (int,), optional=True)
        status = d.status(r, at)
        out.queries.append(QueryResult(
            source=f"{path}#{at}", kind="robust", model=model, query=str(index), engine=d.get(r, "engine", at, (str,)),
            status=status, seconds=float(d.get(r, "seconds", at, (int, float))), eps=f"{eps:g}",
            timed_out=status == "timeout", reason=d.get(r, "reason", at, (str,), optional=True) or "",
            witness=d.witness(r, at, label=label, sample=index, eps=float(eps), eps_unit=unit, data=data)))
    return out


def read_radius(path: Path, doc: dict[str, Any]) -> Loaded:
    """A radius search: one radius record per sample, and each eps the engine solved as a query (the
    reused ones cost no solve and are left out, except the one at ``refuted_at``, which carries the witness)."""
    d, out = Doc(path), Loaded()
    model, unit, data = _run_header(d, doc)
    for n, r in enumerate(d.get(doc, "results", "", (list,))):
        at = f"results[{n}]"
        index = d.get(r, "index", at, (int,))
        label = d.get(r, "label", at, (int,), optional=True)
        radius = d.get(r, "radius", at, (int, float), optional=True)
        refuted = d.get(r, "refuted_at", at, (int, float), optional=True)
        out.radii.append(RadiusResult(
            source=f"{path}#{at}", model=model, index=index, radius=radius, refuted_at=refuted,
            exact=bool(d.get(r, "exact", at, (bool,))), misclassified=bool(d.get(r, "misclassified", at, (bool,))),
            seconds=float(d.get(r, "seconds", at, (int, float))), eps_unit=unit))
        w = d.get(r, "witness", at, (dict,), optional=True)
        for k, s in enumerate(d.get(r, "steps", at, (list,), optional=True) or []):
            sat = f"{at}.steps[{k}]"
            eps = d.get(s, "eps", sat, (int, float))
            how = d.get(s, "how", sat, (str,))
            if d.get(s, "engine", sat, (str,)) == "clean" or (how != "solved" and eps != refuted):
                continue
            status = d.status(s, sat)
            witness = None
            if w is not None and status == "violated" and refuted is not None and eps == refuted:
                witness = d.witness({"counterexample": w.get("counterexample")}, f"{at}.witness", label=label, sample=index,
                                    eps=float(eps), eps_unit=unit, data=data)
            out.queries.append(QueryResult(
                source=f"{path}#{sat}", kind="radius", model=model, query=str(index), engine=d.get(s, "engine", sat, (str,)),
                status=status, seconds=float(d.get(s, "seconds", sat, (int, float))), eps=f"{eps:g}",
                timed_out=status == "timeout", reason=d.get(s, "reason", sat, (str,), optional=True) or "", witness=witness,
                extra={"how": how}))
    return out


# (name, does this document have the format's keys, reader), tried in order: radius before robust (both have
# model, results and counts)
JSON_FORMATS: list[tuple[str, Callable[[dict[str, Any]], bool], Callable[[Path, dict[str, Any]], Loaded]]] = [
    ("radius", is_radius, read_radius), ("robust", is_robust, read_robust)]

__all__ = ["JSON_FORMATS", "Doc", "is_radius", "is_robust", "read_radius", "read_robust"]
