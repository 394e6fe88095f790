"""Hypothesis strategies for inputs inside a property's region: a box, or an eps ball around a
sample, in input codes or in the model's float units.

Every drawn input lies in the region *and* its codes lie in the region's code box, checked
with the same functions the engines use (``properties.boxes``), so a property-based test
that samples here tests the same set the verifier reasons about. Codes are drawn per element
(shrinking towards the box's lower corner), with a share of pure corner points; float inputs
are then placed anywhere inside their code's cell, clipped to the region.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from bvverify.ir.graph import QNetwork
from bvverify.properties.boxes import code_box, float_region, floats_for_codes
from bvverify.properties.robustness import argmax_lowest, robustness_property
from bvverify.properties.spec import OutputCondition, Property


def box_property(net: QNetwork, lo: Any, hi: Any, units: str = "model") -> Property:
    """A region-only property (no output condition) for the box [lo, hi] in ``units``."""
    shape = tuple(net.input.shape)
    return Property(np.broadcast_to(np.asarray(lo, np.float64), shape).copy(),
                    np.broadcast_to(np.asarray(hi, np.float64), shape).copy(), OutputCondition(()), units=units)


def ball_property(net: QNetwork, x: Any, eps: float, unit: str = "codes",
                  clip: tuple[float, float] | None = None) -> Property:
    """The L-infinity ball of :func:`bvverify.robustness_property` around ``x`` (label: its prediction)."""
    x = np.asarray(x).reshape(net.input.shape)
    return robustness_property(net, x, argmax_lowest(net.evaluate(x[None])[0]), eps, unit, clip=clip)


@st.composite
def codes_in(draw: Any, net: QNetwork, prop: Property) -> np.ndarray:
    """Integer input codes (int64, the input shape) inside ``prop``'s code box."""
    clo, chi = (np.asarray(b).ravel() for b in code_box(net, prop))
    if draw(st.integers(0, 3)) == 0:  # a corner: every element at one end of its range
        ends = draw(st.lists(st.booleans(), min_size=len(clo), max_size=len(clo)))
        flat = np.where(ends, chi, clo)
    else:
        flat = np.array([draw(st.integers(int(a), int(b))) for a, b in zip(clo, chi)], np.int64)
    return flat.astype(np.int64).reshape(net.input.shape)


@st.composite
def inputs_in(draw: Any, net: QNetwork, prop: Property) -> np.ndarray:
    """Model-domain inputs inside ``prop``'s region: codes for an integer-input network, else
    float32 values inside the region whose codes are drawn by :func:`codes_in` (the float sits
    anywhere in its code's cell, at its ends included, intersected with the region)."""
    codes = draw(codes_in(net, prop))
    if net.integer_input:
        return codes
    q = net.input.quantizer
    n = codes.size
    offset = np.array(draw(st.lists(st.sampled_from([-0.5, -0.25, 0.0, 0.25, 0.5]) | st.floats(-0.5, 0.5),
                                    min_size=n, max_size=n)), np.float64).reshape(codes.shape)
    near = ((codes - q.zero_point + offset) * float(q.scale)).astype(np.float32)
    flo, fhi = float_region(net, prop)
    # the float nearest ``near`` whose code is ``codes`` inside the region (``near`` itself when it is one)
    return floats_for_codes(net, codes, flo, fhi, prefer=near).astype(np.float32)


def boxes_in(net: QNetwork, prop: Property) -> st.SearchStrategy[Property]:
    """Sub-boxes (in codes) of ``prop``'s code box: smaller regions to verify or sample."""

    @st.composite
    def sub(draw: Any) -> Property:
        a, b = draw(codes_in(net, prop)), draw(codes_in(net, prop))
        return box_property(net, np.minimum(a, b), np.maximum(a, b), units="codes")

    return sub()


def eps_ball(net: QNetwork, x: Any, eps: float, unit: str = "codes",
             clip: tuple[float, float] | None = None) -> st.SearchStrategy[np.ndarray]:
    """Inputs inside the L-infinity ball of radius ``eps`` around ``x`` (codes or float units)."""
    return inputs_in(net, ball_property(net, x, eps, unit, clip))


__all__ = ["ball_property", "box_property", "boxes_in", "codes_in", "eps_ball", "inputs_in"]
