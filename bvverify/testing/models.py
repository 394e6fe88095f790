"""What a user's test passes as ``model``, resolved once: a path, a bundled name or a loaded
:class:`~bvverify.ir.graph.QNetwork`, and the content hash the proof cache keys verdicts by.

The hash is taken over the *loaded integer network* (its native serialization, entry by
entry, without the zip's timestamps), not over the file: what is verified is the network
after import for one target, so a TorchScript file imported for ``avx2`` and for
``avx512-vnni`` hashes differently, and re-saving an unchanged model hashes the same.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bvverify.bundled import BUNDLED, resolve_model
from bvverify.engines.base import Runtime
from bvverify.importers import load
from bvverify.ir.graph import QNetwork
from bvverify.testing.report import TestingArgumentError


@dataclass
class Model:
    """A network under test, with the name messages use and (for TorchScript files) the torch
    runtime that replays counterexamples alongside the interpreter."""

    net: QNetwork
    name: str
    path: Path | None = None
    runtime: Runtime | None = None
    _fingerprint: str | None = field(default=None, repr=False)

    @property
    def fingerprint(self) -> str:
        """sha256 of the network's integer semantics and provenance (see the module docstring)."""
        if self._fingerprint is None:
            self._fingerprint = network_fingerprint(self.net)
        return self._fingerprint


ModelLike = str | Path | QNetwork | Model  # what the assertions accept as a model


def network_fingerprint(net: QNetwork) -> str:
    """Hash of the native serialization's entries (names and bytes, in order): deterministic,
    unlike the zip file itself, whose entries carry the time they were written."""
    buf = io.BytesIO()
    net.save(buf)  # type: ignore[arg-type]  # zipfile takes a file object as well as a path
    h = hashlib.sha256(b"bvverify-qnet\0")
    with zipfile.ZipFile(buf) as zf:
        for info in zf.infolist():
            h.update(info.filename.encode() + b"\0")
            h.update(hashlib.sha256(zf.read(info)).digest())
    return h.hexdigest()


def as_model(model: ModelLike, *, target: str | None = None, input_shape: tuple[int, ...] | None = None,
             qengine: str | None = None, name: str | None = None) -> Model:
    """Load ``model`` (a path, a bundled name such as ``"digits-mlp"``, a QNetwork or a Model).

    ``target``, ``input_shape`` and ``qengine`` are :func:`bvverify.load`'s options for files;
    a loaded network is taken as it is (naming a target for it is an error: it has one). ``name``
    is what messages call it (default: the path or bundled name, else ``meta["name"]`` or "the network")."""
    if isinstance(model, Model):
        return model
    if isinstance(model, QNetwork):
        if target is not None:
            raise TestingArgumentError("a loaded QNetwork already has its target; pass target= only with a path or bundled name")
        return Model(model, name or model.meta.get("name") or "the network")
    if not isinstance(model, (str, Path)):
        raise TestingArgumentError(f"model must be a path, a bundled name ({', '.join(BUNDLED)}) or a QNetwork, "
                        f"not {type(model).__name__}")
    path = resolve_model(str(model))
    net = load(path, input_shape=input_shape, engine=qengine, target=target)
    return Model(net, name or str(model), path, _torch_runtime(path, net, qengine))


def _torch_runtime(path: Path, net: QNetwork, qengine: str | None) -> Runtime | None:
    """torch itself for a TorchScript file (when this machine can run its target), else None."""
    if path.suffix not in (".pt", ".pth"):
        from bvverify.importers import native

        if native.is_native(path):
            return None
    try:
        from bvverify.importers.torch import is_torchscript, torch_runtime
    except ImportError:  # no torch: the interpreter alone replays
        return None
    if not is_torchscript(path):
        return None
    return torch_runtime(path, net.meta.get("engine") or qengine or "fbgemm", net)


def sample_codes(net: QNetwork, x: np.ndarray) -> np.ndarray:
    """The input codes of one sample (floats through the model's quantizer, or codes as given)."""
    x = np.asarray(x).reshape((1,) + tuple(net.input.shape))
    return net.quantize_input(x)[0] if not net.integer_input else x.astype(np.int64)[0]


__all__ = ["Model", "ModelLike", "as_model", "network_fingerprint", "sample_codes"]
