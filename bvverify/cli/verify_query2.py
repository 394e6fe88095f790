"""A VNN-LIB 2.0 query in ``bvverify verify``: read by the official parser and matched to the one
model exactly as ``bvverify-vnnlib verify`` does it (``vnnlib2`` / ``vnnlib2_convert``), so the
two commands cannot read one query two ways.

The version is told by the content (``vnnlib-version`` / ``declare-network``), never by the file
name. A query over several networks needs one model per network, which ``verify MODEL PROPERTY``
cannot name: it is refused with the ``bvverify-vnnlib verify`` command line that decides it.
A counterexample is printed only after the query's own assertions hold exactly on its values
(the check ``bvverify-vnnlib`` makes before it prints ``sat``).
"""

from __future__ import annotations

from pathlib import Path

from bvverify.engines.base import Verdict
from bvverify.engines.results import ResultFileError, is_timeout
from bvverify.errors import BvverifyError, InternalError
from bvverify.properties.vnnlib2 import NetworkDecl, Query2, is_vnnlib2, parse_vnnlib2, read_query_text
from bvverify.properties.vnnlib2_convert import Plan, plan_query
from bvverify.properties.vnnlib_syntax import VnnlibError


def read_query2(path: Path) -> Query2 | None:
    """The parsed 2.0 query, or None for a VNN-LIB 1 file (an unreadable file too: the VNN-LIB 1
    reader then says what is wrong with it, as it always did)."""
    try:
        text = read_query_text(path)
    except VnnlibError:
        return None
    if not is_vnnlib2(text):
        return None
    return parse_vnnlib2(text, str(path))


def single_network(q: Query2, model: str) -> NetworkDecl:
    """The query's one network, or a one-line refusal naming the command for several."""
    if len(q.networks) == 1:
        return q.networks[0]
    names = [d.name for d in q.networks]
    needed = [d.name for d in q.networks if not d.equal_to]  # an equal-to copy takes its original's model
    given = " ".join(f"--network {n}={model if len(needed) == 1 else 'FILE'}" for n in needed)
    raise BvverifyError(f"{q.source}:{q.networks[1].line}: this VNN-LIB 2.0 query declares {len(names)} networks "
                        f"({', '.join(names)}), and `bvverify verify` takes one model ({model}): decide it with "
                        f"`bvverify-vnnlib verify {q.source} {given}`")


def load_for_query(q: Query2, decl: NetworkDecl, model: str, load_model, target: str | None) -> object:
    """The model as the query sees it. An ONNX file goes through ``bvverify-vnnlib``'s loader (its
    declared element types checked against the graph's, a float32 graph output read as the
    runtime's dequantized output); any other model through ``load_model`` (the command's options)."""
    from bvverify.bundled import resolve_model
    from bvverify.vnnlib_standard.models import is_onnx, load_network

    path = resolve_model(model)
    if path.is_file() and is_onnx(path):
        if target is not None and target.strip().lower() not in ("", "host"):
            load_model()  # the ONNX importer's own answer to --target (this host's name only, or why not)
        return load_network(model, decl, q.source)
    return load_model()


def plan_for(q: Query2, decl: NetworkDecl, net) -> Plan:
    """The query as one property over ``net`` (raises with file and line when they do not match)."""
    return plan_query(q, {decl.name: net})


def empty_region_verdict(plan: Plan) -> Verdict:
    """No input satisfies the query's input constraints: nothing can violate it (``unsat``)."""
    return Verdict("holds", "input-constraints", 0.0, reason=plan.empty)


def assignment(plan: Plan, v: Verdict) -> list[str]:
    """The 2.0 assignment of a violated verdict (``name type [dims]`` then one value a line), after
    checking that the query's assertions hold exactly on those values; [] for other verdicts."""
    c = v.counterexample
    if v.status != "violated" or c is None:
        return []
    values = plan.values(c.codes, c.input, c.output, c.dequantized)
    if not plan.query.holds(values):
        raise InternalError(f"{plan.query.source}: the replayed counterexample does not satisfy the query's assertions "
                            "when evaluated exactly on its values")
    return plan.assignment(values)


def compact(lines: list[str]) -> list[str]:
    """The assignment for a terminal: one line per tensor, ``X uint8 [1,64]: 3 4 ...``."""
    out: list[str] = []
    for line in lines:
        if " [" in line:
            out.append(line + ":")
        else:
            out[-1] += " " + line
    return out


def answer_word(v: Verdict) -> str:
    """The 2.0 answer word: ``unsat`` (holds), ``sat`` (violated), ``timed-out`` or ``unknown``."""
    if v.status in ("holds", "violated"):
        return {"holds": "unsat", "violated": "sat"}[v.status]
    return "timed-out" if v.stats.get("timed_out") or is_timeout(v.reason) else "unknown"


def write_result(path: Path, v: Verdict, lines: list[str]) -> None:
    """The result file of a 2.0 query in the 2.0 answer format: the word, then the assignment."""
    try:
        Path(path).write_text("\n".join([answer_word(v), *lines]) + "\n")
    except OSError as e:
        raise ResultFileError(f"{path}: cannot write ({e.strerror})") from None


__all__ = ["answer_word", "assignment", "compact", "empty_region_verdict", "load_for_query", "plan_for", "read_query2",
           "single_network", "write_result"]
