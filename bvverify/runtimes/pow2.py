"""Power-of-two fixed point (the QVIP / AAAI'21 benchmark networks).

``r = (acc + 2^(k-1)) >> k``: round half up (toward +inf on exact ties, also
for negatives), an arithmetic shift; ``k = 0`` is the identity. The bias is an
integer already scaled into the accumulator.
"""

from __future__ import annotations

import numpy as np

from bvverify.errors import QuantParamError
from bvverify.runtimes.base import Params, Profile, register


def apply(acc: np.ndarray, params: Params) -> np.ndarray:
    k = np.asarray(params["shift"], dtype=np.int64)
    a = np.asarray(acc, dtype=np.int64)
    half = np.where(k > 0, np.int64(1) << np.maximum(k - 1, 0), 0)
    return (a + half) >> k


def check(params: Params) -> None:
    k = np.asarray(params["shift"])
    if np.any(k < 0) or np.any(k > 31):
        raise QuantParamError(f"shift: must be in [0, 31], got {k.ravel()[0]}")


def describe(params: Params) -> str:
    k = np.unique(np.asarray(params["shift"]))
    return f"pow2 round-half-up shift by {', '.join(str(int(v)) for v in k)}"


PROFILE = register(Profile("pow2", apply, check, describe))
