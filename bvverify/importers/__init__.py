"""Model importers: each turns one file format or framework into a QNetwork."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bvverify.errors import ModelFormatError
from bvverify.ir.graph import QNetwork


def load(path: str | Path, *, input_shape: Sequence[int] | None = None, engine: str | None = None,
         bits: int | None = None, input_bits: int | None = None, target: str | None = None,
         check: int | None = None) -> QNetwork:
    """Load a model file of any supported format, detected from its content.

    - native bvverify files (``net.save``);
    - TorchScript files of converted quantized torch models (``torch.jit.save``;
      ``input_shape`` when the model does not start with a Linear, ``engine``);
    - Keras h5 fixed-point networks of the QVIP / AAAI'21 benchmarks (``bits`` and
      ``input_bits`` default to the ``_in_<I>_qu_<Q>`` parts of the file name);
    - int8 / uint8 ONNX files (QOperator or QDQ form) as onnxruntime runs them
      (``.onnx``, or any file that parses as an ONNX model).

    ``target`` is the deployment CPU of a torch model (default ``host``); a native
    file keeps the target it was imported for (naming another one is an error), and
    the fixed-point h5 networks compute the same integers everywhere. ``check``: the
    self-check inputs for a torch model imported for the host (default 2000; 0 skips).
    """
    p = Path(path)
    if not p.exists():
        raise ModelFormatError(f"{p}: no such file")
    if p.is_dir():
        raise ModelFormatError(f"{p}: is a directory, not a model file")
    try:
        with open(p, "rb") as f:
            magic = f.read(16)
    except OSError as e:
        raise ModelFormatError(f"{p}: cannot read ({e.strerror})") from None
    from bvverify.importers import native

    if magic.startswith(b"PK"):
        if native.is_native(p):
            return _native_for_target(native.load(p), target, p)
        from bvverify.importers.torch import CHECK_INPUTS, is_torchscript, load_torchscript

        if is_torchscript(p):
            return load_torchscript(p, input_shape=input_shape, engine=engine, target=target,
                                    check=CHECK_INPUTS if check is None else check)
        raise ModelFormatError(f"{p}: a zip file, but neither a bvverify model nor a TorchScript file")
    if magic.startswith(b"\x89HDF"):
        from bvverify.importers.keras_h5 import load_h5

        net = load_h5(p, bits=bits, input_bits=input_bits)
        net.meta.setdefault("target", PORTABLE)
        return net
    from bvverify.importers.torch_checkpoint import is_legacy_checkpoint

    if is_legacy_checkpoint(magic):
        from bvverify.importers.torch import refuse_legacy_checkpoint

        refuse_legacy_checkpoint(p)
    from bvverify.importers.onnx_model import is_onnx, load_onnx

    if is_onnx(p):
        return load_onnx(p, target)
    raise ModelFormatError(f"{p}: unrecognised model format (expected a bvverify model, TorchScript zip, Keras h5 or ONNX)")


PORTABLE = "any"  # arithmetic that is the same on every CPU (fixed-point networks)


def _native_for_target(net: QNetwork, target: str | None, path: Path) -> QNetwork:
    """A native model carries the arithmetic of the target it was imported for."""
    recorded = net.meta.get("target")
    if target is None or target.strip().lower() in ("", "host") and recorded is None:
        return net
    from bvverify.runtimes.target import parse

    want = parse(target).name
    if recorded in (None, PORTABLE):
        if recorded is None and any(n.op in ("Dense", "Conv2d", "Add") for n in net.nodes) and net.meta.get("engine"):
            raise ModelFormatError(f"{path}: this native model records no target; it cannot be re-targeted to {want} "
                                   "(re-import it from its torch file with --target)")
        return net
    if recorded != want:
        raise ModelFormatError(f"{path}: this native model was imported for target {recorded}, not {want}; "
                               f"re-import it from its torch file with --target {want}, or drop --target")
    return net
