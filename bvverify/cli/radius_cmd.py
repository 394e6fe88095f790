"""``bvverify radius``: the maximum robustness radius of data samples, proven, with a replayed witness
right above it. The search itself is engine-agnostic (:mod:`bvverify.engines.radius`); this module
turns a grid eps into a robustness query, answers eps 0 from the clean sample, and replays a known
witness in a smaller box instead of solving it.

Comparing with the published MRR: QVIP's maximum robustness radius (Figure 7 of the paper, file
``qvip22_data/derived/qvip_mrr_long.csv``: ``network, sample_id, mrr, qvip_time_s``) is the largest
radius in pixel codes proven robust, our ``radius`` with ``--eps-unit codes``. ``--published FILE``
reads such a CSV (``--published-network P1-6`` picks one network) and says per sample whether the
published value ``p`` agrees (``radius == p`` and ``refuted_at == p + 1``), is consistent (``p`` lies in
an undecided gap) or differs (``p`` contradicts a proof or a replayed witness).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.table import Table

from bvverify.cli import app as shared
from bvverify.engines.results import verdict_doc

MAX_GRID = 1_000_000  # grid points of a float search: beyond this --step is a typo, not a plan


@shared.app.command()
def radius(
    model: str = typer.Argument(..., help=shared.MODEL_HELP),
    data: Path | None = typer.Option(None, "--data", help="Samples: .npy [N, ...] inputs, .npz with x (and y), or a CSV of "
                                    "rows 'label, v1, ..., vn'. Default for bundled models: their test images."),
    index: str | None = typer.Option(None, "--index", help="Sample indices: 3, 0-4 or 1,5,7 (required: each is a search)."),
    max_eps: float | None = typer.Option(None, "--max", help="Largest radius tried (default with codes: the whole code "
                                         "range; required with --eps-unit float)."),
    eps_unit: str = typer.Option("codes", "--eps-unit", help="codes: radii in whole input codes; float: in the model's "
                                 "float input units, on a grid of --step."),
    step: float | None = typer.Option(None, "--step", help="With --eps-unit float: the grid of radii (e.g. 0.001)."),
    clip: str | None = typer.Option(None, "--clip", help="With --eps-unit float: clip the ball to LO,HI (e.g. 0,1)."),
    data_scale: float = typer.Option(1.0, "--data-scale", help="Multiply the data values by this (e.g. 0.00392156862745098 "
                                     "to turn 0..255 pixels into 0..1)."),
    label: int | None = typer.Option(None, "--label", help="Override the data's label."),
    engine: str = shared.VerifyEngineOpt,
    solver: str | None = shared.SolverOpt,
    bounds: str = shared.BoundsOpt,
    seed: int = shared.SeedOpt,
    timeout: float = typer.Option(60.0, "--timeout", help="Seconds per query (one eps), everything included, before "
                                  "that eps is 'unknown'."),
    total_timeout: float | None = typer.Option(None, "--total-timeout", help="Seconds for the whole search of one sample; "
                                               "eps left untried are listed (default: 10 x --timeout)."),
    published: Path | None = typer.Option(None, "--published", help="CSV of published MRRs (columns sample_id, mrr, "
                                          "optionally network), e.g. qvip22_data/derived/qvip_mrr_long.csv: compare."),
    published_network: str | None = typer.Option(None, "--published-network", help="The network's rows in --published "
                                                  "(e.g. P1-6)."),
    input_shape: str | None = shared.InputShapeOpt,
    qengine: str | None = shared.EngineOpt,
    target: str | None = shared.TargetOpt,
    bits: int | None = shared.BitsOpt,
    input_bits: int | None = shared.InBitsOpt,
    as_json: bool = shared.JsonOpt,
) -> None:
    """Maximum robustness radius: the largest eps (codes, or a float grid of --step) at which the
    sample is proven robust, the smallest eps with a replayed counterexample, and any eps in between
    that stayed unknown. Exit 0 when the radius is exact, 3 when unknown eps leave a gap, 1 when a
    clean sample is misclassified (no radius), 2 bad input."""
    from bvverify.properties.robustness import DataError, argmax_lowest, robustness_property

    shared.check_timeout(timeout)
    if total_timeout is not None and not (math.isfinite(total_timeout) and total_timeout > 0):
        shared.fail(f"--total-timeout {total_timeout:g}: expected a positive number of seconds")
    total = total_timeout if total_timeout is not None else 10 * timeout  # past unknowns, every gap eps is tried: bound it
    if eps_unit not in ("codes", "float"):
        shared.fail(f"--eps-unit {eps_unit!r}: expected codes or float")
    if eps_unit == "float":
        if step is None:
            shared.fail("--eps-unit float needs --step, the grid of radii (e.g. --step 0.001)")
        if not (math.isfinite(step) and step > 0):  # type: ignore[arg-type]
            shared.fail(f"--step {step:g}: expected a positive number")
        if max_eps is None:
            shared.fail("--eps-unit float needs --max, the largest radius to try (e.g. --max 0.1)")
    else:
        if step is not None:
            shared.fail("--step applies to --eps-unit float only (a radius in codes is a whole number of codes)")
        if clip is not None:
            shared.fail("--clip applies to --eps-unit float only (a ball in codes is clipped to the code range)")
    if max_eps is not None:
        if not math.isfinite(max_eps) or max_eps < 0:
            shared.fail(f"--max {max_eps:g}: expected a radius >= 0")
        if eps_unit == "codes" and max_eps != int(max_eps):
            shared.fail(f"--max {max_eps:g}: a radius in codes is a whole number (or use --eps-unit float --step S)")
    if published_network is not None and published is None:
        shared.fail("--published-network applies with --published only")
    if published is not None and eps_unit != "codes":
        shared.fail("--published compares radii in input codes (pixel units, as QVIP reports them): use --eps-unit codes")
    if index is None:
        shared.fail("--index is required (e.g. --index 0 or 0-4): each sample is a search of several queries")
    clip_range = tuple(shared.parse_floats(clip, "--clip")) if clip else None
    if clip_range is not None and len(clip_range) != 2:
        shared.fail(f"--clip {clip!r}: expected LO,HI")
    published_mrr = load_published(published, published_network) if published is not None else None
    options = shared.engine_options(engine, solver, bounds, seed)

    net = shared.load_model(model, input_shape, qengine, bits, input_bits, target)
    if eps_unit == "float" and net.integer_input:
        shared.fail(f"{model} takes integer input codes: a radius in float units has no meaning for it (use --eps-unit codes)")
    xs, ys, src = shared.load_samples(model, net, data, data_scale, label)
    indices = shared.parse_indices(index, len(xs))

    if eps_unit == "codes":
        grid = int(max_eps) if max_eps is not None else int(net.input.hi - net.input.lo)
    else:
        grid = int(math.floor(max_eps / step + 1e-9))  # type: ignore[operator]
        if grid > MAX_GRID:
            shared.fail(f"--max {max_eps:g} / --step {step:g} is {grid} radii (at most {MAX_GRID}): use a coarser --step")

    def value(k: int) -> int | float:
        """Grid point k as a radius in the chosen unit (float radii without binary noise: 3 * 0.1 is 0.3)."""
        return k if eps_unit == "codes" else float(f"{k * step:.12g}")  # type: ignore[operator]

    def show(k: int) -> str:
        return f"{value(k):g}"

    samples = []
    for i in indices:
        y = int(label if label is not None else ys[i])  # type: ignore[index]
        try:  # every sample's query is well formed before any solving
            robustness_property(net, xs[i], y, 0, eps_unit, None, clip_range)
        except DataError as e:
            shared.fail(f"sample {i}: {e}")
        samples.append((i, y))

    runtime = shared.runtime_for(model, net, qengine)
    rows: list[dict[str, Any]] = []
    columns = ["index", "label", "radius", "refuted at", "unknown", "seconds"] + ["published"] * (published_mrr is not None)
    table = Table(*columns, "note")
    for i, y in samples:
        x = xs[i]
        predicted = argmax_lowest(net.evaluate(x.reshape((1,) + tuple(net.input.shape)))[0])
        query = Queries(net, x, y, eps_unit, clip_range, f"{src}#{i}", value, runtime, options, timeout, total)

        def progress(s: Any, i: int = i) -> None:
            if as_json:
                return
            how = f", reused from eps {show(s.reused_from)}" if s.how == "reused" else ""
            note = s.verdict.reason if s.how == "solved" else ""
            if not note and s.verdict.counterexample is not None:
                note = f"counterexample -> {argmax_lowest(s.verdict.counterexample.output)}"
            shared.err.print(f"#{i} eps {show(s.eps)}: {s.status} ({s.seconds:.2f} s, {s.engine}{how})"
                             f"{' - ' + note if note else ''}", highlight=False, soft_wrap=True)

        from bvverify.engines.radius import search_radius

        r = search_radius(query.decide, grid, query.reuse, query.total, progress, show)
        doc = result_doc(r, i, y, predicted, value)
        note = describe(r, predicted, show)
        undecided = spans(r.unknown, show) + (f" (untried {spans(r.untried, show)})" if r.untried else "")
        cells = [str(i), str(y), "-" if r.radius is None else show(r.radius), "-" if r.refuted_at is None else show(r.refuted_at),
                 undecided or "-", f"{r.seconds:.2f}"]
        if published_mrr is not None:
            p = published_mrr.get(i, "missing")
            doc["published"] = None if p == "missing" else p
            doc["published_check"] = compare(p, r)
            cells.append(f"{'NA' if p is None else p} ({doc['published_check']})")
        table.add_row(*cells, note)
        rows.append(doc)
    counts = {"exact": sum(r["exact"] and not r["misclassified"] for r in rows), "gap": sum(not r["exact"] for r in rows),
              "misclassified": sum(r["misclassified"] for r in rows)}
    if as_json:
        print(json.dumps({"model": model, "data": src, "eps_unit": eps_unit, "step": step if eps_unit == "float" else 1,
                          "max": value(grid), "engine": options.label, "timeout": timeout, "total_timeout": total,
                          "target": net.meta.get("target"), "counts": counts, "results": rows}))
    else:
        shared.print_table(table)
        shared.out.print(f"exact {counts['exact']}, gap {counts['gap']}, misclassified {counts['misclassified']}; "
                         f"total {sum(r['seconds'] for r in rows):.1f} s", highlight=False)
    raise typer.Exit(1 if counts["misclassified"] else 3 if counts["gap"] else 0)


class Queries:
    """The robustness queries of one sample on the grid: ``decide`` answers eps 0 from the clean
    sample and every other eps with the engine; ``reuse`` replays a known witness in the box of an
    eps when the witness lies inside it (no solve)."""

    def __init__(self, net: Any, x: np.ndarray, label: int, unit: str, clip: Any, name: str, value: Any, runtime: Any,
                 options: Any, timeout: float, total_timeout: float) -> None:
        from bvverify.backends.budget import Budget

        self.net, self.x, self.label, self.unit, self.clip, self.name, self.value = net, x, label, unit, clip, name, value
        self.runtime, self.options, self.timeout = runtime, options, timeout
        self.total = Budget(total_timeout)
        self.props: dict[int, Any] = {}

    def prop(self, k: int) -> Any:
        from bvverify.properties.robustness import robustness_property

        if k not in self.props:
            self.props[k] = robustness_property(self.net, self.x, self.label, self.value(k), self.unit, None, self.clip,
                                                name=self.name)
        return self.props[k]

    def decide(self, k: int) -> Any:
        import time

        from bvverify.engines.base import Verdict, replay
        from bvverify.properties.boxes import code_box
        from bvverify.properties.robustness import argmax_lowest

        prop = self.prop(k)
        if k == 0:  # the clean sample: its box is one code vector, evaluated rather than solved
            t0 = time.perf_counter()
            lo, hi = code_box(self.net, prop)
            if np.array_equal(lo, hi):
                out = self.net.evaluate_codes(np.asarray(lo)[None])[0]
                got = argmax_lowest(out)
                if not prop.output.holds(np.asarray(out).ravel()):
                    return Verdict("holds", "clean", time.perf_counter() - t0, reason=f"the clean input is predicted {got}")
                cex = replay(self.net, prop, lo, self.runtime, prefer=self.x)
                return Verdict("violated", "clean", time.perf_counter() - t0, counterexample=cex,
                               reason=f"misclassified: the clean input is predicted {got}")
        left = self.total.left()
        limit = self.timeout if left is None else min(self.timeout, max(left, 1e-3))
        return shared.run_engine(self.options, self.net, prop, limit, self.runtime, prefer=self.x)

    def reuse(self, cex: Any, k: int) -> Any:
        from bvverify.engines.base import replay
        from bvverify.properties.boxes import code_box

        prop = self.prop(k)
        lo, hi = code_box(self.net, prop)
        codes = np.asarray(cex.codes, dtype=np.int64).reshape(lo.shape)
        if np.any(codes < lo) or np.any(codes > hi):
            return None
        return replay(self.net, prop, codes, self.runtime, prefer=self.x)


def result_doc(r: Any, i: int, y: int, predicted: int, value: Any) -> dict[str, Any]:
    """One sample's JSON: ``radius`` (the MRR: largest eps proven), ``refuted_at``, ``unknown``,
    ``untried`` (as [first, last] spans), every step, and the replayed witness at ``refuted_at``."""
    w = r.witness
    return {
        "index": i, "label": y, "predicted": predicted,
        "radius": None if r.radius is None else value(r.radius),
        "refuted_at": None if r.refuted_at is None else value(r.refuted_at),
        "exact": r.exact, "misclassified": r.misclassified,
        "unknown": [value(k) for k in r.unknown],
        "untried": [[value(a), value(b)] for a, b in runs(r.untried)],
        "seconds": round(r.seconds, 4), "stopped": r.stopped,
        "steps": [{"eps": value(s.eps), "status": s.status, "seconds": round(s.seconds, 4), "engine": s.engine, "how": s.how,
                   "reused_from": None if s.reused_from is None else value(s.reused_from), "reason": s.verdict.reason}
                  for s in r.steps],
        "witness": None if w is None else verdict_doc(w),
    }


def describe(r: Any, predicted: int, show: Any) -> str:
    if r.misclassified:
        return f"radius undefined: the clean input is misclassified (predicted {predicted})"
    if r.exact:
        return "exact" if r.refuted_at is not None else f"holds up to --max {show(r.max_eps)}"
    return "gap: " + (r.stopped or "unknown eps between radius and refuted at")


def runs(ks: list[int]) -> list[tuple[int, int]]:
    """Sorted grid points as maximal [first, last] spans."""
    out: list[tuple[int, int]] = []
    for k in ks:
        if out and k == out[-1][1] + 1:
            out[-1] = (out[-1][0], k)
        else:
            out.append((k, k))
    return out


def spans(ks: list[int], show: Any) -> str:
    return ",".join(show(a) if a == b else f"{show(a)}-{show(b)}" for a, b in runs(ks))


def load_published(path: Path, network: str | None) -> dict[int, int | None]:
    """sample_id -> published MRR (None for NA) of one network, from a CSV with columns sample_id and
    mrr (and network: then one network's rows, --published-network when there are several)."""
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            fields = [c.strip() for c in reader.fieldnames or []]
            rows = [({k.strip(): (v or "").strip() for k, v in row.items() if k is not None}, n)
                    for n, row in enumerate(reader, start=2)]
    except OSError as e:
        shared.fail(f"--published {path}: cannot read ({e.strerror})")
    except UnicodeDecodeError:
        shared.fail(f"--published {path}: not a text CSV file")
    missing = [c for c in ("sample_id", "mrr") if c not in fields]
    if missing:
        shared.fail(f"--published {path}: no column {' or '.join(missing)} (expected sample_id, mrr and optionally network)")
    if "network" in fields:
        nets = sorted({row["network"] for row, _ in rows})
        if network is None and len(nets) > 1:
            shared.fail(f"--published {path} has the MRRs of {', '.join(nets)}: pick one with --published-network")
        if network is not None and network not in nets:
            shared.fail(f"--published-network {network!r}: not in {path} (it has {', '.join(nets)})")
        rows = [(row, n) for row, n in rows if network is None or row["network"] == network]
    elif network is not None:
        shared.fail(f"--published-network: {path} has no network column")
    out: dict[int, int | None] = {}
    for row, n in rows:
        try:
            sample = int(row["sample_id"])
            out[sample] = None if row["mrr"].upper() in ("NA", "") else int(row["mrr"])
        except ValueError:
            shared.fail(f"--published {path}:{n}: sample_id {row['sample_id']!r} / mrr {row['mrr']!r}: expected whole numbers "
                        "(mrr may be NA)")
    return out


def compare(p: int | str | None, r: Any) -> str:
    """How a published MRR ``p`` stands to what this run proved: agrees, consistent (inside the
    undecided gap, or above --max), differs (contradicts a proof or a replayed witness)."""
    if p == "missing":
        return "not published"
    if p is None:
        return "published NA"
    lo = -1 if r.radius is None else r.radius
    if p < lo or (r.refuted_at is not None and p >= r.refuted_at):
        return "differs"
    return "agrees" if r.radius == p and r.refuted_at == p + 1 else "consistent"


__all__ = ["radius"]
