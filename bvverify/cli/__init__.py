"""The ``bvverify`` command line: one module per command, shared options in ``app``.

Bad input (a :class:`~bvverify.errors.BvverifyError`) becomes one line on stderr and exit
code 2; a bug (an :class:`~bvverify.errors.InternalError`, or any other exception escaping)
says so, prints what to report and exits with ``INTERNAL_EXIT`` (70), so a script never
mistakes a bvverify bug for a bad file or a verdict. ``--json`` prints one JSON document on stdout.
"""

from __future__ import annotations

import sys

from bvverify.cli import (  # noqa: F401  (each module registers its command on the app)
    crosscheck_cmd,
    equiv_cmd,
    eval_cmd,
    export_smt_cmd,
    inspect_cmd,
    overflow_cmd,
    radius_cmd,
    report_cmd,
    robust_cmd,
    run_instances_cmd,
    verify_cmd,
    vnnlib_cmd,
)
from bvverify.cli.app import app, err
from bvverify.errors import INTERNAL_EXIT, BvverifyError, InternalError


def main(command=None) -> None:
    """Entry point: user errors are one line and exit 2; bugs are reported as bugs (exit 70)."""
    try:
        (command or app)()
    except InternalError as e:
        report_bug(e, trace=False)
    except BvverifyError as e:
        err.print(f"bvverify: error: {e}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as e:  # anything else escaping the library is a bug, not bad input
        report_bug(e, trace=True)


def vnnlib_main() -> None:
    """Entry point of ``bvverify-vnnlib``, the VNN-LIB 2.0 solver command line (``cli/vnnlib_cmd.py``)."""
    vnnlib_cmd.mark_process_start()
    main(vnnlib_cmd.vnnlib_app)


def report_bug(e: BaseException, trace: bool) -> None:
    """Say it is a bug, and what a useful report holds."""
    import platform
    import traceback

    from bvverify import __version__

    try:
        from bvverify.runtimes.target import host

        cpu = str(host())
    except Exception:  # the report must not fail on a second bug
        cpu = "unknown"
    if trace:
        err.print("".join(traceback.format_exception(e)), markup=False, highlight=False, soft_wrap=True)
    err.print(f"bvverify: internal error (a bug in bvverify, not in your input): {type(e).__name__}: {e}",
              markup=False, highlight=False, soft_wrap=True)
    err.print(f"Please report it with: the command line, the model and property files if you can share them, and "
              f"bvverify {__version__}, Python {platform.python_version()}, {platform.platform()}, CPU target {cpu}.",
              markup=False, highlight=False, soft_wrap=True)
    sys.exit(INTERNAL_EXIT)


__all__ = ["app", "main", "vnnlib_main"]
