"""PyTorch models -> QNetwork: eager / FX-converted modules and TorchScript files."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bvverify.errors import ModelFormatError
from bvverify.importers.torch_script import ENGINES, from_script_module
from bvverify.ir.graph import QNetwork


def _engine(engine: str | None) -> str:
    import torch

    e = engine or torch.backends.quantized.engine
    if e not in ENGINES:
        from bvverify.errors import UnsupportedOpError

        raise UnsupportedOpError(f"quantized engine {e!r} not supported (choose from {', '.join(ENGINES)})")
    return e


def from_torch(model: Any, example_input: Any, engine: str | None = None) -> QNetwork:
    """Import a converted (eager or FX) quantized torch model.

    ``example_input`` is one batch of float inputs (any batch size); it fixes
    the input shape. The engine is ``torch.backends.quantized.engine`` unless
    given: the same weights requantize differently on each engine.
    """
    import torch

    eng = _engine(engine)
    x = torch.as_tensor(example_input, dtype=torch.float32)
    if isinstance(model, torch.jit.ScriptModule):
        return from_script_module(model, eng, type(model).__name__, tuple(x.shape[1:]))
    with torch.no_grad():
        traced = torch.jit.trace(model.eval(), x[:1], check_trace=False)
    net = from_script_module(traced, eng, type(model).__name__)
    return net


def is_torchscript(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return any(n.endswith("/data.pkl") or n.endswith("constants.pkl") for n in zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def load_torchscript(path: str | Path, input_shape: Sequence[int] | None = None, engine: str | None = None) -> QNetwork:
    """Load a ``torch.jit.save`` file of a quantized model.

    TorchScript files do not record input shapes; give ``input_shape``
    (without the batch axis) unless the model starts with a Linear layer.
    """
    import torch

    eng = _engine(engine)
    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except Exception as e:  # torch raises many types for corrupt files
        first = str(e).splitlines()[0] if str(e) else ""
        raise ModelFormatError(f"{path}: not a loadable TorchScript file ({type(e).__name__}: {first})") from None
    shape = tuple(input_shape) if input_shape else _guess_input_shape(module)
    if shape is None:
        raise ModelFormatError(f"{path}: TorchScript files do not record the input shape; give it (e.g. --input-shape 1,8,8)")
    return from_script_module(module, eng, str(path), shape)


def _guess_input_shape(module: Any) -> tuple[int, ...] | None:
    """The input width when the first quantized op is a Linear."""
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
        if kind.startswith("quantized::") or kind in ("aten::flatten", "aten::view", "aten::reshape"):
            return None
    return None


def torch_runtime(path: str | Path, engine: str, net: QNetwork):
    """The real runtime for counterexample replay: the TorchScript model itself, run
    by torch on ``engine`` with one thread; returns output *codes* (a dequantized
    float output is mapped back through the injective dequantization table)."""
    import numpy as np
    import torch

    module = torch.jit.load(str(path), map_location="cpu")
    table = None
    if net.output.scale is not None:
        codes = np.arange(-(2**15), 2**15)
        table = (net.dequantize(codes), codes)

    def run(x: np.ndarray) -> np.ndarray:
        prev = torch.backends.quantized.engine
        threads = torch.get_num_threads()
        try:
            torch.backends.quantized.engine = engine
            torch.set_num_threads(1)
            with torch.no_grad():
                y = module(torch.from_numpy(np.asarray(x, dtype=np.float32)))
        finally:
            torch.backends.quantized.engine = prev
            torch.set_num_threads(threads)
        if y.is_quantized:
            return y.int_repr().numpy().astype(np.int64)
        vals = y.numpy()
        deq, codes = table  # type: ignore[misc]
        order = np.argsort(deq, kind="stable")
        pos = np.searchsorted(deq[order], vals)
        pos = np.clip(pos, 0, len(order) - 1)
        out = codes[order][pos]
        if not np.array_equal(net.dequantize(out), vals):
            raise ModelFormatError(f"{path}: the torch output is not a dequantized code of the model's output qparams")
        return out

    return run
