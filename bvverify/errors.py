"""One exception tree for everything bvverify reports to a user.

The CLI turns any ``BvverifyError`` into a single line and exit code 2; anything
else escaping is a bug. Leaves also subclass a builtin so callers can catch them
the usual way.
"""

from __future__ import annotations


class BvverifyError(Exception):
    """Root of all user-facing errors (bad files, bad parameters, bad inputs)."""


class ModelFormatError(BvverifyError, ValueError):
    """A model file cannot be read: corrupt, wrong format, inconsistent fields."""


class UnsupportedOpError(BvverifyError, NotImplementedError):
    """The model uses an operation (or a variant of one) bvverify cannot model exactly."""


class QuantParamError(BvverifyError, ValueError):
    """A quantization parameter is invalid: NaN/inf/zero/negative scale, zero point out of range."""


class InputShapeError(BvverifyError, ValueError):
    """An input array does not fit the model (shape, dtype or value range)."""


def where(path: object | None, place: str | None) -> str:
    """Format the 'file: place: ' prefix used by every error message."""
    parts = [str(p) for p in (path, place) if p]
    return ": ".join(parts) + (": " if parts else "")
