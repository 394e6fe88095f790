"""The report's plots as PNG bytes: verdict counts, the cactus plot and the radius histogram."""

from __future__ import annotations

from collections import Counter

import numpy as np

from bvverify.reports.mpl import new_figure, png_bytes
from bvverify.reports.records import Loaded
from bvverify.reports.summary import by_engine, used_statuses, verdict_counts

COLORS = {"holds": "#2ca02c", "violated": "#d62728", "unknown": "#bcbd22", "timeout": "#ff7f0e",
          "misclassified": "#9467bd", "error": "#000000", "pending": "#c7c7c7"}


def verdict_bars(data: Loaded) -> bytes:
    """Stacked bars: each engine's queries by verdict."""
    rows = verdict_counts(data)
    statuses = used_statuses(rows)
    fig = new_figure(7.5, 0.9 + 0.45 * max(len(rows), 2))
    ax = fig.subplots()
    left = np.zeros(len(rows))
    ys = np.arange(len(rows))
    for s in statuses:
        v = np.array([r.counts[s] for r in rows], dtype=float)
        ax.barh(ys, v, left=left, color=COLORS[s], label=s, height=0.6)
        for y, (x0, w) in enumerate(zip(left, v)):
            if w >= 0.03 * max(left.max() + v.max(), 1):  # a label only where it fits
                ax.text(x0 + w / 2, y, str(int(w)), ha="center", va="center", fontsize=8, color="white")
        left += v
    ax.set_yticks(ys, [r.engine for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("queries")
    ax.legend(fontsize=8, ncols=len(statuses), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    return png_bytes(fig)


def cactus(data: Loaded) -> bytes:
    """Queries decided (holds or violated) within t seconds, per engine, t on a log axis."""
    fig = new_figure(7.5, 4.2)
    ax = fig.subplots()
    lo = None
    for name, qs in by_engine(data).items():
        t = np.sort([max(q.seconds, 1e-3) for q in qs if q.solved and q.seconds is not None])
        if len(t) == 0:
            continue
        lo = t[0] if lo is None else min(lo, t[0])
        ax.step(np.concatenate([[t[0]], t]), np.arange(0, len(t) + 1), where="post", label=f"{name} ({len(t)}/{len(qs)})")
    ax.set_xscale("log")
    ax.set_xlabel("time per query (s, log scale)")
    ax.set_ylabel("queries decided within that time")
    ax.grid(True, which="both", alpha=0.3)
    if lo is not None:
        ax.legend(fontsize=8, loc="best")  # the curves rise to the upper left: let matplotlib find the free corner
    else:
        ax.text(0.5, 0.5, "no query decided", transform=ax.transAxes, ha="center")
    return png_bytes(fig)


def radius_histogram(data: Loaded) -> bytes:
    """Samples per proven radius; a search that left a gap is drawn apart (its radius is a lower bound)."""
    fig = new_figure(7.5, 3.6)
    ax = fig.subplots()
    exact = Counter(r.radius for r in data.radii if r.exact and not r.misclassified and r.radius is not None)
    gap = Counter(r.radius for r in data.radii if not r.exact and r.radius is not None)
    values = sorted(set(exact) | set(gap))
    if values:
        xs = np.array(values, dtype=float)  # on the radius axis itself: radii never reached stay visible as holes
        step = float(np.min(np.diff(xs))) if len(xs) > 1 else 1.0
        e = np.array([exact.get(v, 0) for v in values])
        g = np.array([gap.get(v, 0) for v in values])
        ax.bar(xs, e, width=0.8 * step, color="#2ca02c", label="exact (refuted one step above)")
        ax.bar(xs, g, width=0.8 * step, bottom=e, color="#bcbd22", label="gap (the radius is a lower bound)")
        if len(xs) <= 30:
            ax.set_xticks(xs, [f"{v:g}" for v in values])
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no radius proven", transform=ax.transAxes, ha="center")
    mis = sum(r.misclassified for r in data.radii)
    unit = data.radii[0].eps_unit if data.radii else "codes"
    ax.set_xlabel(f"largest radius proven robust ({unit})" + (f"; {mis} misclassified sample(s) not shown" if mis else ""))
    ax.set_ylabel("samples")
    ax.yaxis.get_major_locator().set_params(integer=True)
    return png_bytes(fig)


__all__ = ["COLORS", "cactus", "radius_histogram", "verdict_bars"]
