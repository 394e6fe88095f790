"""``torch.save`` files (checkpoints) named for what they are, instead of torch's "checkpoint file
is corrupted" or an unrecognised format: a state_dict or a pickled ``nn.Module``, float or
quantized, in the zip or the legacy (``_use_new_zipfile_serialization=False``) format.

A pickled module is described from the class names its pickle refers to (``pickletools``
reads the opcodes; nothing in it is run): loading it would execute arbitrary code.
"""

from __future__ import annotations

import pickletools
import warnings
import zipfile
from pathlib import Path

from bvverify.errors import ModelFormatError

# the legacy format starts with pickle protocol 2's PROTO, then LONG1 of torch's magic number
_LEGACY_MAGIC = b"\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")
_NOT_LAYERS = {"Parameter", "OrderedDict"}


def is_legacy_checkpoint(head: bytes) -> bool:
    """Whether a file's first 14 bytes open a legacy-format ``torch.save`` file."""
    return len(head) >= 14 and head[0] == 0x80 and head[2:14] == _LEGACY_MAGIC


def _pickle_bytes(path: Path) -> bytes:
    """The object's pickle: ``data.pkl`` of a zip checkpoint, the whole file of a legacy one."""
    try:
        with zipfile.ZipFile(path) as zf:
            name = next((n for n in zf.namelist() if n.endswith("data.pkl")), None)
            return zf.read(name) if name else b""
    except (zipfile.BadZipFile, OSError):
        pass
    try:
        return path.read_bytes()
    except OSError:
        return b""


def _globals(data: bytes) -> list[tuple[str, str]]:
    """(module, name) of every class or function the pickle stream(s) refer to, in order."""
    found: list[tuple[str, str]] = []
    pos = 0
    while pos < len(data):
        strings: list[str] = []
        end = pos
        try:
            for op, arg, at in pickletools.genops(data[pos:]):
                end = pos + at + 1
                if op.name in ("GLOBAL", "INST") and isinstance(arg, str):
                    module, _, name = arg.partition(" ")
                    found.append((module, name))
                elif op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE"):
                    strings.append(arg)
                elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                    found.append((strings[-2], strings[-1]))
                if op.name == "STOP":
                    break
        except Exception:  # noqa: BLE001 - raw tensor storage after the pickles is no pickle
            break
        if end <= pos:
            break
        pos = end
    return found


def describe_module(path: Path) -> str:
    """``a pickled nn.Module (...) of float layers: Linear, ReLU`` (or of quantized layers), read
    from the pickle's class references; a plain phrase when it names no torch layer."""
    refs = _globals(_pickle_bytes(path))
    layers = sorted({name for module, name in refs if module.startswith(("torch.nn.", "torch.ao.nn."))
                     and name[:1].isupper() and name not in _NOT_LAYERS})
    own = sorted({f"{module}.{name}" for module, name in refs
                  if not module.startswith(("torch", "collections", "builtins", "__builtin__", "numpy", "_codecs", "copyreg"))})
    if not layers:
        return "a pickled Python object (torch.save(model))" + (f" of class {', '.join(own)}" if own else "")
    quantized = any(".quantized" in module or name == "_rebuild_qtensor" for module, name in refs)
    return (f"a pickled nn.Module (torch.save(model)) of {'quantized' if quantized else 'float'} layers: "
            f"{', '.join(layers)}" + (f" (classes {', '.join(own)})" if own else ""))


def refuse_checkpoint(path: Path, legacy: bool, hint: str) -> None:
    """Raise a ModelFormatError saying what the checkpoint holds and how to export the model."""
    what = None
    quantized = False
    try:
        import torch

        with warnings.catch_warnings():  # torch's deprecation chatter on quantized tensors is not our message
            warnings.simplefilter("ignore")
            obj = torch.load(str(path), map_location="cpu", weights_only=True)  # tensors and containers only
        if isinstance(obj, dict):
            quantized = any(getattr(v, "is_quantized", False) or "_packed_params" in str(k) for k, v in obj.items())
            what = (f"a state_dict of {len(obj)} entries ({'quantized' if quantized else 'float'} weights, "
                    "torch.save(model.state_dict()))")
    except Exception:  # noqa: BLE001 - anything torch.load refuses under weights_only is a pickled object
        pass
    if what is None:
        what = describe_module(path)
        quantized = "of quantized layers" in what
    form = " in the legacy format (_use_new_zipfile_serialization=False)" if legacy else ""
    if quantized and what.startswith("a pickled nn.Module"):
        hint = ("the model is quantized already: load it in Python and save it as TorchScript with "
                "torch.jit.save(torch.jit.trace(qmodel, example_input), 'model.pt') (or torch.jit.script(qmodel))")
    raise ModelFormatError(f"{path}: a torch.save checkpoint{form}, {what}, not a TorchScript program; it holds "
                           f"weights, not the computation. {hint}")


__all__ = ["describe_module", "is_legacy_checkpoint", "refuse_checkpoint"]
