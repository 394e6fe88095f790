"""One exception tree for everything bvverify raises.

Two kinds, told apart because a user must act differently on them: a
``BvverifyError`` is bad input (the CLI prints one line, exit code 2); an
``InternalError`` (also a ``BvverifyError``) is a broken invariant inside bvverify,
such as a counterexample that does not replay: a bug to report, exit code
``INTERNAL_EXIT``. Anything else escaping the library is a bug too. Leaves also
subclass a builtin so callers can catch them the usual way.
"""

from __future__ import annotations


class BvverifyError(Exception):
    """Root of all user-facing errors (bad files, bad parameters, bad inputs)."""


INTERNAL_EXIT = 70  # sysexits' EX_SOFTWARE: distinct from verdicts (0, 1, 3) and from bad input (2)


class InternalError(BvverifyError, RuntimeError):
    """A broken invariant inside bvverify (never the user's input): a bug to report."""


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
