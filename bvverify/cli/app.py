"""Shared pieces of the command line: the typer app, the consoles, model loading and the
options every command takes. User errors go through :func:`fail` (one line, exit 2)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

os.environ.setdefault("TORCH_CPP_LOG_LEVEL", "ERROR")  # torch's C++ deprecation chatter is not our output

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Verify quantized neural networks as they run: exact integer semantics, bit for bit.",
)
out = Console()
err = Console(stderr=True)

MODEL_HELP = ("Model file: native .bvq, TorchScript .pt of a converted quantized torch model, or a QVIP/AAAI'21 Keras .h5; "
              "or a bundled model name (digits-mlp, digits-cnn).")



def fail(msg: str) -> None:
    err.print(f"bvverify: error: {msg}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def parse_shape(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    try:
        shape = tuple(int(v) for v in text.replace("x", ",").split(",") if v.strip())
    except ValueError:
        fail(f"--input-shape {text!r}: expected integers separated by commas, e.g. 1,8,8")
    if not shape or min(shape) < 1:
        fail(f"--input-shape {text!r}: dimensions must be positive")
    return shape


def load_model(model: str, input_shape: str | None, engine: str | None, bits: int | None, input_bits: int | None,
          target: str | None = None, check: int | None = None):
    from bvverify.bundled import resolve_model
    from bvverify.importers import load

    return load(resolve_model(model), input_shape=parse_shape(input_shape), engine=engine, bits=bits, input_bits=input_bits,
                target=target, check=check)


InputShapeOpt = typer.Option(None, "--input-shape", help="Input shape without batch axis (TorchScript files), e.g. 1,8,8.")
EngineOpt = typer.Option(None, "--qengine", help="Quantized engine a torch model runs on: fbgemm, x86 or qnnpack "
                         "(default: torch.backends.quantized.engine).")
TargetOpt = typer.Option(None, "--target", help="Deployment CPU of a torch model: host (default: what torch runs here, "
                         "FBGEMM_ENABLE_INSTRUCTIONS and ATEN_CPU_CAPABILITY included), avx2, avx512, avx512-vnni, or "
                         "CPU,fbgemm=ISA,aten=ISA. The same model computes different integers on each; `inspect` says what "
                         "each changes. Native files keep the target they were imported for.")
BitsOpt = typer.Option(None, "--bits", help="Keras h5 networks: weight/activation bit width Q (default: from the file name).")
InBitsOpt = typer.Option(None, "--input-bits", help="Keras h5 networks: input bit width (default: from the file name).")
JsonOpt = typer.Option(False, "--json", help="Print one JSON document instead of tables.")



EXIT = {"holds": 0, "violated": 1, "unknown": 3}
VerifyEngineOpt = typer.Option("auto", "--engine", help="Verification engine: auto (default: gradient attack, bounds, "
                               "branching, then the exact ILP on what is left), ilp (exact integer linear program, see "
                               "--solver), bv (exact z3 bit-vector encoding), all sound and complete; bounds "
                               "(bound propagation: holds, a violating box centre, or unknown) or attack (search only: "
                               "a replayed counterexample or unknown).")
SeedOpt = typer.Option(0, "--seed", help="Seed of the attack's random restarts (auto, attack): the same seed, the same search.")
SolverOpt = typer.Option(None, "--solver", help="ILP back-end for --engine ilp and auto: cpsat (OR-Tools CP-SAT, exact integer "
                         "arithmetic), highs (HiGHS MILP, floating point), lpbab (LP branch-and-bound with "
                         "exactly checked certificates), z3 (exact linear integer arithmetic) or z3opt (z3 "
                         "Optimize). Default: cpsat, and for auto CP-SAT then lpbab on what it leaves open.")
BoundsOpt = typer.Option("symbolic", "--bounds", help="Bound propagation that decides (bounds engine) or sizes the "
                         "exact encodings (bv, ilp): symbolic "
                         "(DeepPoly-style back-substitution; default) or interval.")
TimeoutOpt = typer.Option(300.0, "--timeout", help="Seconds per query, everything included (bounds, encoding, solving), "
                          "before the verdict is 'unknown'.")
ResultOpt = typer.Option(None, "--result-file", help="Write the VNN-COMP result file (sat/unsat/timeout/unknown + witness).")


def runtime_for(model: str, net: Any, engine: str | None):
    """The real runtime for counterexample replay, when the model file is one torch or onnxruntime
    can run (for a target this machine cannot run, None: the interpreter alone replays, and a note says so)."""
    from bvverify.bundled import resolve_model
    from bvverify.importers.torch import is_torchscript, torch_runtime

    path = resolve_model(model)
    if path.suffix in (".pt", ".pth") or is_torchscript(path):
        runtime = torch_runtime(path, net.meta.get("engine") or engine or "fbgemm", net)
        if runtime is None:
            from bvverify.runtimes.target import host

            err.print(f"note: {model}: this machine ({host()}) cannot run torch as target {net.meta.get('target')}; "
                      "counterexamples are replayed by the reference interpreter only", highlight=False, soft_wrap=True)
        return runtime
    if net.meta.get("runtime") == "onnxruntime":
        from bvverify.importers.onnx_runtime import onnx_runtime

        return onnx_runtime(path, net)
    return None



def engine_options(engine: str, solver: str | None = None, bounds: str = "symbolic", seed: int = 0) -> Any:
    """The typed options of a run, checked once here: a wrong or inapplicable option is one line, exit 2."""
    from bvverify.engines.config import EngineOptions, OptionError

    try:
        return EngineOptions(engine, solver=solver, bounds=bounds, seed=seed)
    except OptionError as e:
        fail(str(e))


def load_samples(model: str, net: Any, data: Any, data_scale: float, label: int | None) -> tuple[Any, Any, str]:
    """The samples of ``robust`` and ``radius``: ``--data`` (or a bundled model's test images), flattened
    and scaled by ``--data-scale``, with their labels and a name for messages; no labels and no
    ``--label`` is one line, exit 2."""
    import numpy as np

    from bvverify.bundled import BUNDLED, test_images
    from bvverify.properties.robustness import load_data

    if data is None:
        if model not in BUNDLED:
            fail("--data is required for a model that is not bundled")
        xs, ys = test_images()
        xs, src = xs.reshape(len(xs), -1).astype(np.float64), "bundled digits test images"
    else:
        xs, ys = load_data(data, int(np.prod(net.input.shape)))
        src = str(data)
    if ys is None and label is None:
        fail(f"{src} has no labels: give --label")
    return xs * data_scale, ys, src


def run_engine(options: Any, net: Any, prop: Any, timeout: float, runtime: Any, prefer: Any = None) -> Any:
    """One query through the engine registry, within one budget of ``timeout`` seconds for all of it."""
    from bvverify.engines.registry import verify

    return verify(net, prop, options, timeout, runtime, prefer)


def outputs_are(net: Any) -> str:
    return "dequantized" if net.meta.get("dequantized_output") and net.output.scale is not None else "codes"



def parse_indices(spec: str | None, n: int) -> list[int]:
    if spec is None:
        return list(range(n))
    out: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        try:
            if "-" in part[1:]:
                a, b = part.split("-", 1)
                if int(b) < int(a):
                    fail(f"--index {part!r}: an empty range ({a} > {b}); a run that checks nothing proves nothing")
                out += list(range(int(a), int(b) + 1))
            else:
                out.append(int(part))
        except ValueError:
            fail(f"--index {spec!r}: expected indices like 3 or 0-19 or 1,5,7")
    if not out:
        fail(f"--index {spec!r}: no index given")
    for i in out:
        if not 0 <= i < n:
            fail(f"--index {i} out of range: the data has {n} samples (0..{n - 1})")
    return out


def parse_floats(spec: str, what: str) -> list[float]:
    try:
        vals = [float(v) for v in spec.split(",") if v.strip()]
    except ValueError:
        fail(f"{what} {spec!r}: expected numbers separated by commas")
    if not vals:
        fail(f"{what}: no value given")
    return vals




def check_timeout(seconds: float) -> None:
    """A time limit is a finite positive number of seconds."""
    from bvverify.backends.budget import Budget, BudgetError

    try:
        Budget(seconds)  # the library's one rule for a time limit
    except BudgetError:
        fail(f"--timeout {seconds:g}: expected a positive number of seconds")


def print_table(table: Table) -> None:
    """A table on a terminal; one tab-separated row a line when piped (no wrapping at 80 columns)."""
    if out.is_terminal:
        out.print(table)
        return
    print("\t".join(str(c.header) for c in table.columns))
    for row in zip(*(c._cells for c in table.columns)):
        print("\t".join(str(v) for v in row))


def check_writable(path: Path) -> None:
    from bvverify.engines.results import ResultFileError
    from bvverify.engines.results import check_writable as check

    try:
        check(path)
    except ResultFileError as e:
        fail(str(e))


def check_cex_ready(folder: Path, net: object) -> None:
    """matplotlib is there when an image counterexample will be drawn (one line, exit 2, before solving)."""
    from bvverify.reports.counterexamples import check_ready

    check_ready(folder, net)


def check_cex_folder(folder: Path) -> None:
    """The counterexample folder is made (or refused, one line) before any solving."""
    from bvverify.engines.results import ResultFileError
    from bvverify.reports.counterexamples import check_folder

    try:
        check_folder(folder)
    except ResultFileError as e:
        fail(str(e))


def version_callback(value: bool) -> None:
    if value:
        from bvverify import __version__

        print(f"bvverify {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=version_callback, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Verify quantized neural networks as they run: exact integer semantics, bit for bit."""
