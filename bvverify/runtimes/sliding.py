"""The output size of torch's sliding-window ops (convolution, max and average pooling).

The one rule for every window grid in the package: the pooling kernels here, and the IR's
shape check, interpreter and encoder geometry. It sits with the runtimes because they are
the lowest layer that needs it (the IR imports runtimes, never the reverse).
"""

from __future__ import annotations


def conv_out_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool = False) -> int:
    """torch's output-size rule (with the ceil-mode window that must start inside)."""
    span = n + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out
