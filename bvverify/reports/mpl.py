"""matplotlib, without pyplot's global state: each figure is a ``Figure`` drawn by the Agg canvas to
PNG bytes, so reports render on a machine with no display and two reports never share a figure."""

from __future__ import annotations

import io
from typing import Any

from bvverify.errors import BvverifyError


class MissingFigureLibrary(BvverifyError, ImportError):
    """matplotlib is not installed (it is an optional extra)."""


def check_figure_library() -> None:
    """Fail early (before any solving) when a picture will be needed and matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MissingFigureLibrary("the report's figures need matplotlib: pip install 'bvverify[report]'") from None


def new_figure(width: float, height: float) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingFigureLibrary("the report's figures need matplotlib: pip install 'bvverify[report]'") from None
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def png_bytes(fig: Any) -> bytes:
    """The figure as PNG (metadata left out, so the same figure gives the same bytes)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


__all__ = ["MissingFigureLibrary", "check_figure_library", "new_figure", "png_bytes"]
