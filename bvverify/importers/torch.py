"""PyTorch models -> QNetwork: eager / FX-converted modules and TorchScript files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bvverify.errors import BvverifyError, ModelFormatError
from bvverify.importers.torch_check import load_module, pinned, require_agreement, self_check
from bvverify.importers.torch_checkpoint import refuse_checkpoint
from bvverify.importers.torch_script import ENGINES, EXPORT_HINT, from_script_module, refuse_float
from bvverify.ir.graph import QNetwork
from bvverify.runtimes.target import Target, can_run_here, host, parse

CHECK_INPUTS = 2000  # self-check inputs on import for the host target (milliseconds per model)


def _engine(engine: str | None) -> str:
    import torch

    e = engine or torch.backends.quantized.engine
    if e not in ENGINES:
        from bvverify.errors import UnsupportedOpError

        raise UnsupportedOpError(f"quantized engine {e!r} not supported (choose from {', '.join(ENGINES)})")
    return e


def _checked(module: Any, net: QNetwork, target: Target, check: int, source: str) -> QNetwork:
    """Run the self-check when the model is imported for the machine it runs on."""
    if check and target == host():
        require_agreement(self_check(module, net, check), source)
    return net


def from_torch(model: Any, example_input: Any, engine: str | None = None, target: str | Target | None = None,
               check: int = CHECK_INPUTS) -> QNetwork:
    """Import a converted (eager or FX) quantized torch model.

    ``example_input`` is one batch of float inputs (any batch size); it fixes
    the input shape. The engine is ``torch.backends.quantized.engine`` unless
    given: the same weights requantize differently on each engine. ``target`` is
    the deployment CPU (``host`` by default, or e.g. ``avx2``, ``avx512-vnni``):
    the same model computes different integers on each. For the host target the
    import runs torch against the interpreter on ``check`` inputs and refuses the
    model by layer name when they disagree (``check=0`` skips it).
    """
    import torch

    eng = _engine(engine)
    tgt = parse(target)
    x = torch.as_tensor(example_input, dtype=torch.float32)
    if isinstance(model, torch.jit.ScriptModule):
        net = from_script_module(model, eng, type(model).__name__, tuple(x.shape[1:]), tgt)
        return _checked(model, net, tgt, check, type(model).__name__)
    with torch.no_grad():
        traced = torch.jit.trace(model.eval(), x[:1], check_trace=False)
    net = from_script_module(traced, eng, type(model).__name__, None, tgt)
    return _checked(traced, net, tgt, check, type(model).__name__)


def is_torchscript(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return any(n.endswith("/data.pkl") or n.endswith("constants.pkl") for n in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def load_torchscript(path: str | Path, input_shape: Sequence[int] | None = None, engine: str | None = None,
                     target: str | Target | None = None, check: int = CHECK_INPUTS) -> QNetwork:
    """Load a ``torch.jit.save`` file of a quantized model.

    TorchScript files do not record input shapes; give ``input_shape``
    (without the batch axis) unless the model starts with a Linear layer.
    ``target`` and ``check`` as in :func:`from_torch`.
    """

    eng = _engine(engine)
    tgt = parse(target)
    _refuse_checkpoint(Path(path))
    try:
        module = load_module(path, eng)
    except Exception as e:  # torch raises many types for corrupt files
        first = str(e).splitlines()[0] if str(e) else ""
        raise ModelFormatError(f"{path}: not a loadable TorchScript file ({type(e).__name__}: {first})") from None
    refuse_float(module.inlined_graph, str(path))
    shape = tuple(input_shape) if input_shape else _guess_input_shape(module)
    if shape is None:
        raise ModelFormatError(f"{path}: TorchScript files do not record the input shape; give it (e.g. --input-shape 1,8,8)")
    net = from_script_module(module, eng, str(path), shape, tgt)
    return _checked(module, net, tgt, check, str(path))


def _refuse_checkpoint(path: Path) -> None:
    """A ``torch.save`` file is a zip too, but holds pickled Python objects, not a TorchScript
    program: say what it is instead of torch's "checkpoint file is corrupted"."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return
    if any(n.endswith("constants.pkl") or "/code/" in n for n in names):
        return
    refuse_checkpoint(path, legacy=False, hint=EXPORT_HINT)


def refuse_legacy_checkpoint(path: Path) -> None:
    """A legacy-format ``torch.save`` file (not a zip): named as such, with how to export the model."""
    refuse_checkpoint(path, legacy=True, hint=EXPORT_HINT)


def _guess_input_shape(module: Any) -> tuple[int, ...] | None:
    """The input width when the first quantized op is a Linear. A flatten or ``reshape(N, -1)``
    before it (float pre-processing) leaves a flat input as it is; a reshape to fixed sizes
    that does not fit is refused by the walk, naming it."""
    import torch

    for node in module.inlined_graph.nodes():
        kind = node.kind()
        if kind in ("quantized::linear", "quantized::linear_relu"):
            obj: Any = module
            src = list(node.inputs())[1].node()
            path = []
            while src.kind() == "prim::GetAttr":
                path.append(src.s("name"))
                src = list(src.inputs())[0].node()
            for name in reversed(path):
                obj = getattr(obj, name)
            w, _ = torch.ops.quantized.linear_unpack(obj)
            return (int(w.shape[1]),)
        if kind.startswith("quantized::") or kind in ("prim::If", "prim::Loop"):
            return None
    return None


def run_module(module: Any, engine: str, x: np.ndarray) -> tuple[np.ndarray, bool]:
    """Run a torch module on ``engine`` with one thread (quantized add depends on the
    thread count); returns (values, quantized): codes when the output is quantized."""
    import torch

    with pinned(engine):
        y = module(torch.from_numpy(np.asarray(x, dtype=np.float32)))
    if y.is_quantized:
        return y.int_repr().numpy().astype(np.int64), True
    return y.numpy(), False


def _as_codes(values: np.ndarray, quantized: bool, net: QNetwork, path: str | Path) -> np.ndarray:
    """Output codes from torch's output: a dequantized float output is mapped back
    through the injective dequantization table."""
    if quantized:
        return values
    codes = np.arange(-(2**15), 2**15)
    deq = net.dequantize(codes)
    order = np.argsort(deq, kind="stable")
    pos = np.clip(np.searchsorted(deq[order], values), 0, len(order) - 1)
    out = codes[order][pos]
    if not np.array_equal(net.dequantize(out), values):
        raise ModelFormatError(f"{path}: the torch output is not a dequantized code of the model's output qparams")
    return out


def torch_runtime(path: str | Path, engine: str, net: QNetwork):
    """The real runtime for counterexample replay: the TorchScript model itself, run
    by torch on ``engine`` with one thread, in this process when the model's target is
    the host's, else in a fresh process whose environment selects that target's
    kernels; returns output *codes*. None when this machine cannot run the target."""

    tgt = parse(net.meta.get("target"))
    if tgt == host():
        module = load_module(path, engine)

        def run(x: np.ndarray) -> np.ndarray:
            return _as_codes(*run_module(module, engine, x), net, path)

        return run
    if not can_run_here(tgt):
        return None

    def run_elsewhere(x: np.ndarray) -> np.ndarray:
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp) / "x.npy", Path(tmp) / "y.npz"
            np.save(src, np.asarray(x, dtype=np.float32))
            cmd = [sys.executable, "-m", "bvverify.importers.torch_worker", str(path), engine, str(src), str(dst)]
            proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **tgt.env()}, timeout=600)
            if proc.returncode != 0:
                raise ModelFormatError(f"{path}: torch for target {tgt} failed in its own process: "
                                       f"{proc.stderr.strip().splitlines()[-1:]}")
            with np.load(dst) as z:
                return _as_codes(z["values"], bool(z["quantized"]), net, path)

    return run_elsewhere


def check_model(path: Path, net: QNetwork, n: int, input_shape: str | None = None) -> dict[str, Any]:
    """``inspect --check``: the self-check for ``net`` loaded from the TorchScript file
    ``path``, run here when its target is the host's, else in a fresh process whose
    environment makes torch compute that target (when this CPU can)."""
    if not (path.suffix in (".pt", ".pth") or is_torchscript(path)):
        raise BvverifyError(f"{path}: --check compares with torch and needs the TorchScript file of the model")
    target = parse(net.meta.get("target"))
    engine = str(net.meta.get("engine"))
    if target == host():
        import torch

        module = load_module(path, engine)
        doc = self_check(module, net, n).as_dict()
        doc.update(ok=doc["first_layer"] is None, runtime=f"torch {torch.__version__} ({engine}) in this process")
        return doc
    if not can_run_here(target):
        raise BvverifyError(f"{path}: this machine ({host()}) cannot run torch as target {target}; run --check on such a "
                            "machine")
    cmd = [sys.executable, "-m", "bvverify", "inspect", str(path), "--target", target.name, "--qengine", engine,
           "--check", str(n), "--json"] + (["--input-shape", input_shape] if input_shape else [])
    env = {**os.environ, **target.env()}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    try:
        doc = json.loads(proc.stdout)["check"]
    except (ValueError, KeyError):
        raise BvverifyError(f"{path}: the self-check process for target {target} failed: "
                            f"{(proc.stderr or proc.stdout).strip().splitlines()[-1:]}") from None
    doc["runtime"] += f" (a fresh process with {' '.join(f'{k}={v}' for k, v in target.env().items())})"
    return doc
