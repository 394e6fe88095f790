"""What :class:`bvverify.importers.onnx_qoperator.Walk` provides to its op-builder mixins (declared once,
so each mixin type-checks against the same helpers instead of repeating their signatures)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bvverify.errors import UnsupportedOpError
from bvverify.importers.onnx_values import AccChain, Sym
from bvverify.ir import ops


class WalkApi:
    """Declarations only: ``Walk`` defines every one of these."""

    env: dict[str, Any]
    refuse: Callable[..., UnsupportedOpError]
    sym: Callable[..., Sym]
    emit: Callable[[ops.Node], str]
    fresh: Callable[[str], str]
    const: Callable[..., np.ndarray]
    attr: Callable[..., Any]
    shape_of: Callable[[Sym], tuple[int, ...]]
    scale_zp: Callable[..., tuple[float, int, int, int]]
    conv_attrs: Callable[..., dict]
    chain_clamp: Callable[..., AccChain]
    _check_in: Callable[..., None]
    _flat_input: Callable[..., None]
    _why_not: Callable[..., str]
