"""The VNN-LIB 2.0 solver command line: ``bvverify-vnnlib`` (also ``bvverify vnnlib ...``; the entry
point is ``bvverify.cli.vnnlib_main``, with the CLI's error handling).

    bvverify-vnnlib --name | --version
    bvverify-vnnlib verify QUERY --network NAME=FILE ... [--timeout S]
    bvverify-vnnlib supports --onnx-element-types | --onnx-operators | --vnnlib-versions | ...

``verify`` prints ``sat`` / ``unsat`` / ``unknown`` / ``timed-out`` on stdout (after ``sat``, the
assignment in the 2.0 format); reasons and errors go to stderr. Exit codes: 0 an answer; 2 bad
input (syntax, networks that do not match the query) or a refusal (outside bvverify's sound
domain: ``unknown`` is printed and the reason on stderr, the standard's error for types a
solver cannot analyse soundly); 70 a bug in bvverify.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer

from bvverify.cli import app as shared

_PROCESS_START: list[float] = []  # time.monotonic() at process start (set by main(): the standalone command)

vnnlib_app = typer.Typer(add_completion=False, no_args_is_help=True,
                         help="VNN-LIB 2.0 solver interface: verify a query over named networks, report capabilities.")


def _process_age() -> float:
    """Seconds since this process started (interpreter start-up and imports count against --timeout)."""
    try:
        import os

        ticks = os.sysconf("SC_CLK_TCK")
        start = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]) / ticks
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - start)
    except (OSError, ValueError, IndexError):
        return 0.0


def _name_cb(value: bool) -> None:
    if value:
        print("bvverify (exact verification of quantized neural networks)")
        raise typer.Exit(0)


def _version_cb(value: bool) -> None:
    if value:
        from bvverify import __version__

        print(__version__)
        raise typer.Exit(0)


@vnnlib_app.callback()
def _root(
    name: bool = typer.Option(False, "--name", is_eager=True, callback=_name_cb, help="Print the solver's name."),
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_version_cb,
                                 help="Print the solver's version."),
) -> None:
    """VNN-LIB 2.0 solver interface of bvverify."""


@vnnlib_app.command("verify")
def verify(
    query: Path = typer.Argument(..., help="VNN-LIB query file (2.0, or a VNN-LIB 1 file)."),
    network: list[str] = typer.Option([], "--network", help="NAME=FILE: the model of a declared network (once per "
                                      "network not marked equal-to). FILE: .onnx, .bvq, TorchScript .pt, Keras .h5, or "
                                      "a bundled model name."),
    timeout: float = typer.Option(300.0, "--timeout", help="Seconds for the whole call, start-up included."),
    serialise: Path | None = typer.Option(None, "--serialise-assignments", help="Not supported (supports says false): "
                                          "the assignment is printed on stdout."),
    engine: str = typer.Option("auto", "--engine", help="bvverify engine for one network (auto, ilp, bv, bounds, "
                               "attack); two networks run on ilp or bv."),
    solver: str | None = shared.SolverOpt,
    seed: int = shared.SeedOpt,
) -> None:
    """Is there an assignment satisfying the query? sat (with the assignment), unsat, unknown or timed-out."""
    from bvverify.vnnlib_standard.models import parse_networks
    from bvverify.vnnlib_standard.verify import run_verify

    if serialise is not None:
        shared.fail("--serialise-assignments is not supported (`supports --serialise-assignments` says false): "
                    "the assignment is printed on stdout")
    shared.check_timeout(timeout)
    shared.engine_options(engine, solver, "symbolic", seed)  # a wrong engine or solver: one line, exit 2
    started = _PROCESS_START[0] if _PROCESS_START else None
    outcome = run_verify(query, parse_networks(network), timeout, engine, solver, seed, started)
    print(outcome.word)
    for line in outcome.lines:
        print(line)
    sys.stdout.flush()
    for note in outcome.notes:
        shared.err.print(f"bvverify: note: {note}", markup=False, highlight=False, soft_wrap=True)
    if outcome.reason:
        label = "unknown" if outcome.word == "unknown" else "note"
        shared.err.print(f"bvverify: {label}: {outcome.reason}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2 if outcome.refused else 0)


def _flag(name: str) -> typer.Option:
    return typer.Option(False, f"--{name}", help=f"Report {name.replace('-', ' ')}.")


@vnnlib_app.command("supports")
def supports(
    opsets: bool = _flag("onnx-opset-versions"),
    element_types: bool = _flag("onnx-element-types"),
    operators: bool = _flag("onnx-operators"),
    vnnlib_versions: bool = _flag("vnnlib-versions"),
    io: bool = _flag("multiple-input-output-theories"),
    networks: bool = _flag("multiple-network-theories"),
    hidden: bool = _flag("hidden-node-theories"),
    comparisons: bool = _flag("multiple-node-comparison-theories"),
    arithmetic: bool = _flag("arithmetic-complexity-theories"),
    disjunctive: bool = _flag("optimised-disjunctive-reasoning"),
    serialise: bool = _flag("serialise-assignments"),
) -> None:
    """Which capabilities bvverify handles soundly: one capability flag per call."""
    from bvverify.vnnlib_standard.capabilities import answer

    asked = [name for name, on in (("onnx-opset-versions", opsets), ("onnx-element-types", element_types),
                                   ("onnx-operators", operators), ("vnnlib-versions", vnnlib_versions),
                                   ("multiple-input-output-theories", io), ("multiple-network-theories", networks),
                                   ("hidden-node-theories", hidden), ("multiple-node-comparison-theories", comparisons),
                                   ("arithmetic-complexity-theories", arithmetic),
                                   ("optimised-disjunctive-reasoning", disjunctive),
                                   ("serialise-assignments", serialise)) if on]
    if len(asked) != 1:
        shared.fail("supports takes exactly one capability flag, e.g. supports --onnx-element-types")
    for line in answer(asked[0]):
        print(line)


shared.app.add_typer(vnnlib_app, name="vnnlib", help="VNN-LIB 2.0 solver interface (also the bvverify-vnnlib command).")


def mark_process_start() -> None:
    """Count --timeout from the start of this process (the standalone command: start-up and imports count)."""
    _PROCESS_START.append(time.monotonic() - _process_age())
