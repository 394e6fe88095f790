"""Model importers: each turns one file format or framework into a QNetwork."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bvverify.errors import ModelFormatError
from bvverify.ir.graph import QNetwork


def load(path: str | Path, *, input_shape: Sequence[int] | None = None, engine: str | None = None,
         bits: int | None = None, input_bits: int | None = None) -> QNetwork:
    """Load a model file of any supported format, detected from its content.

    - native bvverify files (``net.save``);
    - TorchScript files of converted quantized torch models (``torch.jit.save``;
      ``input_shape`` when the model does not start with a Linear, ``engine``);
    - Keras h5 fixed-point networks of the QVIP / AAAI'21 benchmarks (``bits`` and
      ``input_bits`` default to the ``_in_<I>_qu_<Q>`` parts of the file name).
    """
    p = Path(path)
    if not p.exists():
        raise ModelFormatError(f"{p}: no such file")
    if p.is_dir():
        raise ModelFormatError(f"{p}: is a directory, not a model file")
    try:
        with open(p, "rb") as f:
            magic = f.read(8)
    except OSError as e:
        raise ModelFormatError(f"{p}: cannot read ({e.strerror})") from None
    from bvverify.importers import native

    if magic.startswith(b"PK"):
        if native.is_native(p):
            return native.load(p)
        from bvverify.importers.torch import is_torchscript, load_torchscript

        if is_torchscript(p):
            return load_torchscript(p, input_shape=input_shape, engine=engine)
        raise ModelFormatError(f"{p}: a zip file, but neither a bvverify model nor a TorchScript file")
    if magic.startswith(b"\x89HDF"):
        from bvverify.importers.keras_h5 import load_h5

        return load_h5(p, bits=bits, input_bits=input_bits)
    raise ModelFormatError(f"{p}: unrecognised model format (expected a bvverify model, TorchScript zip or Keras h5)")
