"""The ``bvverify`` command line: one module per command, shared options in ``app``.

Every :class:`~bvverify.errors.BvverifyError` becomes one line on stderr and exit code 2;
``--json`` prints one JSON document on stdout.
"""

from __future__ import annotations

import sys

from bvverify.cli import (  # noqa: F401  (each module registers its command on the app)
    equiv_cmd,
    eval_cmd,
    export_smt_cmd,
    inspect_cmd,
    overflow_cmd,
    robust_cmd,
    verify_cmd,
)
from bvverify.cli.app import app, err
from bvverify.errors import BvverifyError


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2, never a traceback."""
    try:
        app()
    except BvverifyError as e:
        err.print(f"bvverify: error: {e}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)


__all__ = ["app", "main"]
