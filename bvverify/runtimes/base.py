"""Requantizer profiles: the exact accumulator -> output-code map of a runtime.

A profile is a pure function ``g(acc, params) -> int`` (before the final clamp),
monotone non-decreasing in ``acc`` for every channel. The IR stores the profile
*name* and the parameters the runtime itself keeps (float32 scales, float bias,
Q31 multipliers, shifts), so a saved network is the runtime's own data and a new
runtime is one new module here. Everything downstream only sees the exact step
function, through :func:`step_table`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from bvverify.errors import InternalError, QuantParamError

Params = Mapping[str, np.ndarray]
ApplyFn = Callable[[np.ndarray, Params], np.ndarray]


@dataclass(frozen=True)
class Profile:
    """A named requantizer.

    ``apply(acc, params)`` takes an int64 accumulator array whose *last* axis is
    the channel axis (params broadcast along it) and returns int64 codes before
    the node's final clamp. ``check(params)`` validates the parameters and
    raises :class:`QuantParamError` naming the bad field. ``monotone_range``
    gives the accumulator interval on which ``apply`` is proven monotone (a
    fixed-point left shift can wrap outside it).
    """

    name: str
    apply: ApplyFn
    check: Callable[[Params], None]
    describe: Callable[[Params], str]
    monotone_range: Callable[[Params], tuple[int, int]] = lambda p: (-(2**31), 2**31 - 1)


_PROFILES: dict[str, Profile] = {}


def register(profile: Profile) -> Profile:
    _PROFILES[profile.name] = profile
    return profile


def get_profile(name: str) -> Profile:
    from bvverify import runtimes  # noqa: F401  (registers the built-in profiles)

    try:
        return _PROFILES[name]
    except KeyError:
        raise QuantParamError(
            f"unknown requantizer profile {name!r} (known: {', '.join(sorted(_PROFILES))})"
        ) from None


def profile_names() -> list[str]:
    from bvverify import runtimes  # noqa: F401

    return sorted(_PROFILES)


def check_scale(name: str, value: np.ndarray) -> None:
    """Scales must be finite, positive float32 values (a zero or negative scale
    would make the step function constant or decreasing)."""
    v = np.asarray(value, dtype=np.float64)
    if v.size == 0:
        raise QuantParamError(f"{name}: empty scale")
    if not np.all(np.isfinite(v)):
        raise QuantParamError(f"{name}: scale is NaN or infinite ({v.ravel()[~np.isfinite(v.ravel())][0]})")
    if np.any(v <= 0):
        raise QuantParamError(f"{name}: scale must be positive, got {v.ravel()[v.ravel() <= 0][0]}")
    v32 = v.astype(np.float32)
    if np.any(v32 == 0) or np.any(~np.isfinite(v32)):
        raise QuantParamError(f"{name}: scale {v.ravel()[0]} under- or overflows float32")


def check_finite(name: str, value: np.ndarray) -> None:
    v = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(v)):
        raise QuantParamError(f"{name}: contains NaN or infinite values")


def check_zero_point(name: str, value: object, lo: int, hi: int) -> None:
    v = np.asarray(value)
    if v.size and (np.any(v < lo) or np.any(v > hi)):
        bad = v.ravel()[(v.ravel() < lo) | (v.ravel() > hi)][0]
        raise QuantParamError(f"{name}: zero point {bad} outside [{lo}, {hi}]")


@dataclass(frozen=True)
class StepTable:
    """The exact step function of one channel over ``[acc_lo, acc_hi]``.

    ``f(acc) = v_lo + #{t in thresholds : t <= acc}`` where ``thresholds[i]`` is
    the least accumulator whose code reaches ``v_lo + i + 1``. Several equal
    thresholds mean the code jumps by more than one at that accumulator.
    """

    acc_lo: int
    acc_hi: int
    v_lo: int
    thresholds: np.ndarray  # int64, non-decreasing

    @property
    def v_hi(self) -> int:
        return self.v_lo + len(self.thresholds)

    def __call__(self, acc: np.ndarray) -> np.ndarray:
        a = np.asarray(acc, dtype=np.int64)
        return self.v_lo + np.searchsorted(self.thresholds, a, side="right")


def step_table(fn: Callable[[np.ndarray], np.ndarray], acc_lo: int, acc_hi: int) -> StepTable:
    """Exact thresholds of a monotone integer function over an integer interval.

    Bisection over the reference function itself, for all output values at
    once: whatever float rounding happens inside ``fn``, the table reproduces it
    exactly (given monotonicity, which callers test).
    """
    if acc_lo > acc_hi:
        raise InternalError(f"empty accumulator interval [{acc_lo}, {acc_hi}]")
    v_lo = int(fn(np.array([acc_lo], dtype=np.int64))[0])
    v_hi = int(fn(np.array([acc_hi], dtype=np.int64))[0])
    targets = np.arange(v_lo + 1, v_hi + 1, dtype=np.int64)
    lo = np.full(targets.shape, acc_lo, dtype=np.int64)  # f(lo) < target
    hi = np.full(targets.shape, acc_hi, dtype=np.int64)  # f(hi) >= target
    while targets.size and np.any(hi - lo > 1):
        mid = lo + (hi - lo) // 2
        ge = fn(mid) >= targets
        hi = np.where(ge, mid, hi)
        lo = np.where(ge, lo, mid)
    return StepTable(int(acc_lo), int(acc_hi), v_lo, hi)
