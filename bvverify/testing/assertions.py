"""Assertions for a user's own test suite: a model keeps its predictions on eps balls, two
models agree, no accumulator overflows. Each one decides exact queries with bvverify's engines
and raises :class:`~bvverify.testing.report.VerificationFailure` (an ``AssertionError``) with the
counterexample in the message when the model fails.

An ``unknown`` verdict (not decided within ``timeout``) fails too, with a message saying so:
a check that silently passes when the verifier gave up would hide exactly the regressions it
exists to catch. ``allow_unknown=True`` lets it pass, with an :class:`UnknownVerdictWarning`.

``model`` is a path (native ``.bvq``, TorchScript ``.pt``, Keras ``.h5``), a bundled name
(``"digits-mlp"``) or a loaded :class:`~bvverify.ir.graph.QNetwork`. ``cache`` is a
:class:`~bvverify.testing.cache.ProofCache` (the ``bvverify_cache`` pytest fixture gives one):
decided verdicts of unchanged models and queries are then read back instead of re-proved.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from bvverify.engines.base import Verdict, replay
from bvverify.engines.config import EngineOptions
from bvverify.engines.equiv import equiv_property, pair_network, verify_equiv
from bvverify.engines.overflow import OverflowResult, check_overflow
from bvverify.engines.registry import verify
from bvverify.errors import BvverifyError, InternalError
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork
from bvverify.properties.boxes import code_box
from bvverify.properties.robustness import argmax_lowest, robustness_property
from bvverify.properties.spec import OutputCondition, Property
from bvverify.testing.cache import ProofCache, query_key
from bvverify.testing.models import Model, ModelLike, as_model, sample_codes
from bvverify.testing.report import (
    QueryResult,
    TestingArgumentError,
    UnknownVerdictWarning,
    VerificationFailure,
    changes_line,
    codes_line,
    outputs_line,
    unknown_line,
    verdict_note,
)

Box = Property | tuple[Any, Any]


def _samples(net: QNetwork, inputs: Any) -> np.ndarray:
    """``inputs`` as a batch [N, *input_shape]: one sample (any shape with the right size) or many."""
    x = np.asarray(inputs)
    n_in = int(np.prod(net.input.shape))
    if x.size == 0 or x.size % n_in:
        raise TestingArgumentError(f"inputs of shape {list(x.shape)} do not hold whole samples of {n_in} values "
                         f"(input shape {list(net.input.shape)})")
    return x.reshape((-1,) + tuple(net.input.shape))


def _labels(labels: Any, n: int) -> list[int | None]:
    if labels is None:
        return [None] * n
    if np.ndim(labels) == 0:
        return [int(labels)] * n
    ys = [int(y) for y in np.asarray(labels).ravel()]
    if len(ys) != n:
        raise TestingArgumentError(f"{len(ys)} labels for {n} samples")
    return ys


def _check_unknowns(results: list[QueryResult], allow_unknown: bool, subject: str) -> list[QueryResult]:
    """The results that fail the assertion; allowed unknowns warn instead of passing silently."""
    unknown = [r for r in results if r.status == "unknown"]
    if allow_unknown and unknown:
        warnings.warn(f"{subject}: {len(unknown)} of {len(results)} queries not decided "
                      f"({', '.join(r.what for r in unknown)}); passing because allow_unknown=True",
                      UnknownVerdictWarning, stacklevel=3)
    return [r for r in results if r.status == "violated" or (r.status == "unknown" and not allow_unknown)]


# --------------------------------------------------------------------------- robustness


def assert_robust(model: ModelLike, inputs: Any, eps: float | Sequence[float], *, labels: Any = None,
                  eps_unit: str = "codes", clip: tuple[float, float] | None = None, timeout: float = 60.0,
                  engine: str = "auto", solver: str | None = None, seed: int = 0, target: str | None = None,
                  allow_unknown: bool = False, cache: ProofCache | None = None,
                  name: str | None = None, ids: Sequence[Any] | None = None) -> list[QueryResult]:
    """Every sample keeps its class on the L-infinity ball of radius ``eps`` around it.

    ``inputs``: one sample or a batch ``[N, ...]`` in the model's input domain (floats, or codes
    for an integer-input network). ``labels``: one class for all, one per sample, or ``None``:
    the model's own prediction on the clean sample (a regression test of "the prediction does
    not move"). A sample already predicted differently from its label fails (the sample itself
    is the counterexample). ``eps_unit="codes"``: the ball in integer input codes; ``"float"``:
    in the model's float units, clipped to ``clip``. ``timeout``: seconds per query. Returns one
    :class:`QueryResult` per (sample, eps) when every query holds. ``name``: the model in messages;
    ``ids``: the samples in messages (default ``sample 0``, ``sample 1``, ... in the order given)."""
    __tracebackhide__ = True  # pytest shows the caller's line and the message, not this function
    m = as_model(model, target=target, name=name)
    net = m.net
    xs = _samples(net, inputs)
    ys = _labels(labels, len(xs))
    names = [f"sample {i}" for i in range(len(xs))] if ids is None else [str(s) for s in ids]
    if len(names) != len(xs):
        raise TestingArgumentError(f"{len(names)} ids for {len(xs)} samples")
    radii = [float(eps)] if np.ndim(eps) == 0 else [float(e) for e in eps]  # type: ignore[arg-type]
    options = EngineOptions(engine, solver=solver, seed=seed)
    cache = cache or ProofCache(None)
    results: list[QueryResult] = []
    for i, (x, y) in enumerate(zip(xs, ys)):
        clean = argmax_lowest(net.evaluate(x[None])[0])
        label = clean if y is None else y
        for r in radii:
            what = f"{names[i]}, eps {r:g} {eps_unit}, label {label}"
            prop = robustness_property(net, x, label, r, eps_unit, clip=clip, name=f"{m.name}#{i}")
            if clean != label:  # the clean sample is its own counterexample (cheap: never cached)
                cex = replay(net, prop, sample_codes(net, x), m.runtime, prefer=x)
                v = Verdict("violated", "clean", 0.0, f"misclassified: the clean sample is predicted {clean}", cex)
            else:
                key = query_key("robust", [m.fingerprint], prop, options)
                v = cache.decide(key, net, prop, lambda prop=prop, x=x: verify(net, prop, options, timeout, m.runtime, x),
                                 runtime=m.runtime, prefer=x, note=f"{m.name} {what}")
            pred = argmax_lowest(v.counterexample.output) if v.counterexample is not None else None
            results.append(QueryResult(what, v, i, r, label, pred))
    failed = _check_unknowns(results, allow_unknown, f"{m.name} robustness")
    if failed:
        raise VerificationFailure(_robust_message(m, xs, results, failed, timeout), results)
    return results


def _robust_message(m: Model, xs: np.ndarray, results: list[QueryResult], failed: list[QueryResult],
                    timeout: float) -> str:
    lines = [f"{m.name} is not proven robust: {len(failed)} of {len(results)} queries failed"]
    for r in failed:
        v = r.verdict
        if v.status == "unknown":
            lines.append(f"  {r.what}: {unknown_line(v, timeout)}")
            continue
        cex = v.counterexample
        if cex is None or r.index is None:
            raise InternalError("a violated robustness verdict without its counterexample")
        why = v.reason if v.engine == "clean" else f"the counterexample is predicted {r.predicted}"
        lines.append(f"  {r.what}: VIOLATED - {why} ({verdict_note(v)}, replayed by {', '.join(cex.replayed_by)})")
        lines.append(f"    input codes: {codes_line(cex.codes)}")
        lines.append(f"    changed from the sample's codes: {changes_line(cex.codes, sample_codes(m.net, xs[r.index]))}")
        lines.append(f"    outputs: {outputs_line(cex)}")
        out = np.asarray(cex.output).ravel()
        tie = " (a tie: the lower index wins)" if out[r.label] == out[r.predicted] else ""
        lines.append(f"    output codes: label {r.label} -> {out[r.label]}, class {r.predicted} -> {out[r.predicted]}{tie}")
    return "\n".join(lines)


def ball(model: ModelLike, x: Any, eps: float, unit: str = "codes", clip: tuple[float, float] | None = None,
         target: str | None = None) -> Property:
    """The L-infinity ball around ``x`` as a box for :func:`assert_agree` / :func:`assert_no_overflow`."""
    net = as_model(model, target=target).net
    x = np.asarray(x).reshape(net.input.shape)
    return robustness_property(net, x, argmax_lowest(net.evaluate(x[None])[0]), eps, unit, clip=clip)


def _region(net: QNetwork, box: Box | None) -> Property:
    """A property whose input region is ``box`` (a Property's region, or (lo, hi) in model units)."""
    if box is None:
        shape = net.input.shape
        return Property(np.full(shape, float(net.input.lo)), np.full(shape, float(net.input.hi)), OutputCondition(()),
                        units="codes")
    if isinstance(box, Property):
        return box
    lo, hi = box
    return Property(np.broadcast_to(np.asarray(lo, np.float64), net.input.shape).copy(),
                    np.broadcast_to(np.asarray(hi, np.float64), net.input.shape).copy(), OutputCondition(()))


# --------------------------------------------------------------------------- agreement


def assert_agree(model_a: ModelLike, model_b: ModelLike, box_or_property: Box, within: int | None = None, *,
                 timeout: float = 60.0, engine: str = "ilp", solver: str | None = None,
                 targets: tuple[str | None, str | None] = (None, None), allow_unknown: bool = False,
                 cache: ProofCache | None = None, names: tuple[str | None, str | None] = (None, None)) -> QueryResult:
    """The two models cannot disagree anywhere on the box: same argmax (ties to the lowest index),
    or with ``within=K`` no output more than ``K`` codes apart.

    ``box_or_property``: a :class:`Property` (its input region; its output condition is not used),
    e.g. :func:`ball`, or ``(lo, hi)`` in model units. ``engine``: ``ilp`` or ``bv`` (exact). ``targets``:
    the deployment CPU of each (one file on two targets is a typical pair); ``names``: in messages."""
    __tracebackhide__ = True
    a = as_model(model_a, target=targets[0], name=names[0] or (None if not isinstance(model_a, QNetwork) else "model A"))
    b = as_model(model_b, target=targets[1], name=names[1] or (None if not isinstance(model_b, QNetwork) else "model B"))
    region = _region(a.net, box_or_property)
    prop = equiv_property(a.net, b.net, region.lo, region.hi, within, region.units == "codes", name="agree")
    options = EngineOptions(engine, solver=solver)
    cache = cache or ProofCache(None)
    key = query_key("agree", [a.fingerprint, b.fingerprint], prop, options)
    pair = pair_network(a.net, b.net)
    what = f"{a.name} vs {b.name}, " + ("argmax" if within is None else f"within {within} codes")
    v = cache.decide(key, pair, prop,
                     lambda: verify_equiv(a.net, b.net, prop, options, timeout, runtimes=(a.runtime, b.runtime)),
                     note=what)
    result = QueryResult(what, v)
    if _check_unknowns([result], allow_unknown, f"{a.name} vs {b.name}"):
        raise VerificationFailure(_agree_message(a, b, result, within, timeout), [result])
    return result


def _agree_message(a: Model, b: Model, r: QueryResult, within: int | None, timeout: float) -> str:
    v = r.verdict
    head = f"{a.name} and {b.name} " + ("may disagree (undecided)" if v.status == "unknown" else "disagree")
    if v.status == "unknown":
        return f"{head}: {r.what}: {unknown_line(v, timeout)}"
    cex = v.counterexample
    if cex is None:
        raise InternalError("a violated agreement verdict without its counterexample")
    n = int(np.prod(a.net.output_shape))
    out = np.asarray(cex.output).ravel()
    oa, ob = out[:n], out[n:]
    ia, ib = argmax_lowest(oa), argmax_lowest(ob)
    gap = np.abs(oa - ob)
    k = int(np.argmax(gap))
    why = (f"argmax {ia} vs {ib}" if within is None else
           f"output {k} differs by {gap[k]} codes > within {within}")
    return "\n".join([
        f"{head}: {why} ({verdict_note(v)}, replayed by {', '.join(cex.replayed_by)})",
        f"    input codes: {codes_line(cex.codes)}",
        f"    outputs {a.name}: {np.array2string(oa, separator=' ')} (argmax {ia})",
        f"    outputs {b.name}: {np.array2string(ob, separator=' ')} (argmax {ib})",
        f"    largest difference: output {k}, {gap[k]} codes",
    ])


# --------------------------------------------------------------------------- overflow


class OverflowFailure(BvverifyError, AssertionError):
    """:func:`assert_no_overflow` failed; ``results`` holds every layer's :class:`OverflowResult`."""

    def __init__(self, message: str, results: list[OverflowResult]) -> None:
        super().__init__(message)
        self.results = results


def assert_no_overflow(model: ModelLike, box: Box | None = None, *, timeout: float = 60.0, target: str | None = None,
                       allow_unknown: bool = False, name: str | None = None) -> list[OverflowResult]:
    """No Dense / Conv2d accumulator can leave its declared width (int32) on ``box`` (default:
    every valid input). Not cached: interval bounds settle most layers in milliseconds."""
    __tracebackhide__ = True
    m = as_model(model, target=target, name=name)
    clo, chi = code_box(m.net, _region(m.net, box))
    results = check_overflow(m.net, np.asarray(clo), np.asarray(chi), timeout)
    bad = [r for r in results if r.status == "yes" or (r.status == "unknown" and not allow_unknown)]
    unknown = [r for r in results if r.status == "unknown"]
    if allow_unknown and unknown:
        warnings.warn(f"{m.name} overflow: layers {', '.join(r.node for r in unknown)} not decided; passing because "
                      "allow_unknown=True", UnknownVerdictWarning, stacklevel=2)
    if bad:
        lines = [f"{m.name}: {sum(r.status == 'yes' for r in bad)} accumulator(s) can overflow, "
                 f"{sum(r.status == 'unknown' for r in bad)} undecided"]
        for r in bad:
            if r.status == "unknown":
                lines.append(f"  layer {r.node}: UNKNOWN - not decided within the {timeout:g} s timeout ({r.how}); "
                             "raise timeout= or pass allow_unknown=True")
                continue
            if r.witness is None:
                raise InternalError(f"an overflow of {r.node} without its witness")
            value = _wide_accumulator(m.net, r.node, r.witness)
            node = next(n for n in m.net.nodes if n.name == r.node)
            lim = 2 ** (node.acc_bits - 1)  # type: ignore[attr-defined]
            lines.append(f"  layer {r.node}: OVERFLOWS int{node.acc_bits} - exact accumulator "  # type: ignore[attr-defined]
                         f"in [{value.min()}, {value.max()}] on the witness, outside [{-lim}, {lim - 1}]")
            lines.append(f"    witness input codes: {codes_line(r.witness)}")
        raise OverflowFailure("\n".join(lines), results)
    return results


def _wide_accumulator(net: QNetwork, name: str, codes: np.ndarray) -> np.ndarray:
    """The witness's accumulator computed without wrapping (64 bits), for the message."""
    k = next(i for i, n in enumerate(net.nodes) if n.name == name)
    wide = dataclasses.replace(net.nodes[k], acc_bits=64)
    prefix = QNetwork(net.input, (*net.nodes[:k], wide), ops.OutputSpec(name))
    return np.asarray(prefix.evaluate_codes(np.asarray(codes)[None])[0])


__all__ = ["OverflowFailure", "QueryResult", "UnknownVerdictWarning", "VerificationFailure", "assert_agree", "assert_no_overflow",
           "assert_robust", "ball"]
