"""Counterexamples of image models as pictures: the original, the perturbed input, their difference,
and the outputs of the two classes involved (the one the sample should keep and the one it became).

Which inputs are images is read from the shape: ``[C, H, W]`` or ``[H, W]`` with C in (1, 3), or a flat
vector of ``k*k`` or ``3*k*k`` values (k >= 4: the flattened MNIST / digits / CIFAR inputs of the
benchmark networks).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bvverify.reports.mpl import new_figure, png_bytes


def image_shape(shape: Sequence[int]) -> tuple[int, int, int] | None:
    """``(C, H, W)`` of an input that looks like an image, else None."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 3 and shape[0] in (1, 3) and min(shape[1:]) >= 4:
        return shape  # type: ignore[return-value]
    if len(shape) == 2 and min(shape) >= 4:
        return (1, *shape)
    n = int(np.prod(shape)) if shape else 0
    for c in (1, 3):
        k = math.isqrt(n // c) if n % c == 0 else 0
        if k >= 4 and c * k * k == n:
            return (c, k, k)
    return None


def as_picture(values: np.ndarray, chw: tuple[int, int, int]) -> np.ndarray:
    """``[H, W]`` for one channel, ``[H, W, 3]`` for three."""
    a = np.asarray(values, dtype=np.float64).reshape(chw)
    return a[0] if chw[0] == 1 else np.moveaxis(a, 0, -1)


def argmax_lowest(y: Sequence[float]) -> int:
    """The decision rule of the robustness queries: argmax, ties to the lowest index."""
    return int(np.argmax(np.asarray(y)))


def counterexample_png(perturbed: Sequence[float], chw: tuple[int, int, int], *, original: Sequence[float] | None = None,
                       out_perturbed: Sequence[float] | None = None, out_original: Sequence[float] | None = None,
                       label: int | None = None, title: str = "", diff_note: str = "",
                       difference: Sequence[float] | None = None) -> bytes:
    """One picture of a counterexample as PNG bytes. The difference panel (perturbed - original) uses a
    diverging map centred on 0 with its largest change in the caption; without an original only the
    perturbed input is drawn. ``difference`` replaces perturbed - original (the change in input codes, which
    is what an eps ball in codes bounds); ``diff_note`` adds to that panel's title. The
    bar panel shows every output, light the original's, dark the perturbed input's: blue the class the sample
    should keep, red the class it became."""
    panels = 3 if original is not None else 1
    has_out = out_perturbed is not None
    fig = new_figure(2.4 * panels + (3.2 if has_out else 0), 2.9)
    axes = fig.subplots(1, panels + has_out, squeeze=False)[0]
    p = as_picture(np.asarray(perturbed), chw)
    lo, hi = float(np.min(p)), float(np.max(p))
    if original is not None:
        o = as_picture(np.asarray(original), chw)
        lo, hi = min(lo, float(np.min(o))), max(hi, float(np.max(o)))
    span = (lo, hi if hi > lo else lo + 1)

    def show(ax, img, name, cmap="gray", vmin=span[0], vmax=span[1]):
        if img.ndim == 3:  # colour: scale into [0, 1] for display
            drawn = ax.imshow(np.clip((img - vmin) / (vmax - vmin), 0, 1), interpolation="nearest")
        else:
            drawn = ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        return drawn

    pred = argmax_lowest(out_perturbed) if has_out else None
    if original is not None:
        was = f" (class {argmax_lowest(out_original)})" if out_original is not None else ""
        show(axes[0], o, f"original{was}")
        show(axes[1], p, f"perturbed (class {pred})" if pred is not None else "perturbed")
        d = p - o if difference is None else as_picture(np.asarray(difference), chw)
        m = float(np.max(np.abs(d))) or 1.0
        note = diff_note or f"max |d| {np.max(np.abs(d)):.3g}"
        drawn = show(axes[2], d.mean(axis=-1) if d.ndim == 3 else d, f"difference ({note})", cmap="RdBu_r", vmin=-m, vmax=m)
        from matplotlib.ticker import MaxNLocator

        ticks = MaxNLocator(integer=difference is not None)  # a change in codes is a whole number
        bar = fig.colorbar(drawn, ax=axes[2], shrink=0.8, pad=0.02, ticks=ticks)  # red: the input went up, blue: down
        bar.ax.tick_params(labelsize=7)
    else:
        show(axes[0], p, f"counterexample (class {pred})" if pred is not None else "counterexample")
    if has_out:
        ax = axes[-1]
        y = np.asarray(out_perturbed, dtype=np.float64)
        xs = np.arange(len(y))
        keep = label if label is not None else (argmax_lowest(out_original) if out_original is not None else None)
        width = 0.4 if out_original is not None else 0.8
        if out_original is not None:
            ax.bar(xs - 0.2, np.asarray(out_original, dtype=np.float64), width, color="#9db4d0", label="original")
        colors = ["#d62728" if j == pred else "#1f77b4" if j == keep else "#7f7f7f" for j in xs]
        ax.bar(xs + (0.2 if out_original is not None else 0), y, width, color=colors, label="perturbed")
        ax.set_xticks(xs)
        ax.tick_params(labelsize=7)
        ax.set_title(f"outputs: class {keep} -> {pred}" if keep is not None else f"outputs (argmax {pred})", fontsize=9)
        from matplotlib.patches import Patch

        keys = [Patch(color="#9db4d0", label="original")] if out_original is not None else []
        keys.append(Patch(color="#7f7f7f", label="perturbed"))
        if keep is not None and keep != pred:
            keys.append(Patch(color="#1f77b4", label=f"class {keep}"))
        keys.append(Patch(color="#d62728", label=f"class {pred}"))
        ax.legend(handles=keys, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=2, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    return png_bytes(fig)


__all__ = ["argmax_lowest", "as_picture", "counterexample_png", "image_shape"]
