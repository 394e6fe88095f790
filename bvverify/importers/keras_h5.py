"""Keras h5 power-of-two fixed-point networks (the QVIP / AAAI'21 benchmarks).

The files are Keras ``save_weights`` files of fully connected networks: the root
attribute ``layer_names`` lists the layers, each layer group's ``weight_names``
gives its datasets (kernel ``(inputs, outputs)`` then bias, float32), and a layer
computes ``x @ kernel + bias``. ``dropout`` / ``flatten`` groups hold no weights.

The integer semantics the published verifiers encode (benchmarks README 3.2-3.3),
with Q the quantization bits and I the input bits:

* ``R(s)``: round half away from zero on the float32 value ``s``;
  ``Wq = R(clip(w, -1, (2^(Q-1)-1)/2^(Q-1)) * 2^(Q-1))`` and
  ``Bq = R(clip(b, -2, (2^(Q-1)-1)/2^(Q-2)) * 2^(Q-2))``, clipped and scaled in float32.
* a layer whose input has F fractional bits (F = I for the first layer, Q-2 later)
  computes ``acc = sum Wq*a + Bq*2^k`` and ``r = (acc + 2^(k-1)) >> k`` with ``k = F+1``;
  hidden layers clamp to ``[0, 2^Q-1]``, the output layer to ``[-2^(Q-1), 2^(Q-1)-1]``.
  An output code ``o`` stands for the real value ``o / 2^(Q-2)``.

Each layer becomes a :class:`~bvverify.ir.ops.Dense` (``<layer>.acc``) and a
``pow2`` :class:`~bvverify.ir.ops.Requantize` (``<layer>``). The network takes
integer input codes ``0 .. 2^I-1`` (raw pixels for I = 8).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from bvverify.errors import ModelFormatError
from bvverify.ir import ops
from bvverify.ir.graph import QNetwork

#: AAAI'21 file names that carry no ``_in_<I>_qu_<Q>`` suffix (README section 1).
KNOWN_NAMES: dict[str, tuple[int, int]] = {"mnist_mlp": (6, 8), "fashion-mnist_mlp": (6, 8)}

_FORMAT = "keras-h5 pow2 fixed point"


def round_half_away(s: np.ndarray) -> np.ndarray:
    """``R(s)`` of README 3.2 on float32 values: trunc, then +-1 when the fraction is >= 0.5 in size."""
    s = np.asarray(s, dtype=np.float32)
    t = np.trunc(s)
    frac = s - t  # exact in float32
    r = t.astype(np.int64)
    r = r + (frac >= np.float32(0.5)).astype(np.int64) - (frac <= np.float32(-0.5)).astype(np.int64)
    return r


def quantize_weights(w: np.ndarray, bits: int) -> np.ndarray:
    """``Wq = R(clip(w, -1, (2^(Q-1)-1)/2^(Q-1)) * 2^(Q-1))`` (float32 clip and scale)."""
    one = 2 ** (bits - 1)
    w = np.asarray(w, dtype=np.float32)
    c = np.clip(w, np.float32(-1.0), np.float32((one - 1) / one))
    return round_half_away(c * np.float32(one))


def quantize_bias(b: np.ndarray, bits: int) -> np.ndarray:
    """``Bq = R(clip(b, -2, (2^(Q-1)-1)/2^(Q-2)) * 2^(Q-2))`` (float32 clip and scale)."""
    scale = 2 ** (bits - 2)
    b = np.asarray(b, dtype=np.float32)
    c = np.clip(b, np.float32(-2.0), np.float32((2 ** (bits - 1) - 1) / scale))
    return round_half_away(c * np.float32(scale))


def bits_from_name(path: str | Path) -> tuple[int | None, int | None]:
    """(Q, I) from a file name ``..._in_<I>_qu_<Q>.h5`` or a known AAAI'21 name; None where absent."""
    stem = Path(path).name
    if stem.lower().endswith(".h5"):
        stem = stem[:-3]
    if stem in KNOWN_NAMES:
        return KNOWN_NAMES[stem]
    qs = re.findall(r"(?:^|_)qu_(\d+)(?=_|$)", stem)
    ins = re.findall(r"(?:^|_)in_(\d+)(?=_|$)", stem)
    return (int(qs[-1]) if qs else None, int(ins[-1]) if ins else None)


def _names(value: Any) -> list[str]:
    """An h5 attribute holding a list of names (bytes or str, array or scalar) as a list of str."""
    arr = np.asarray(value)
    if arr.size == 0:
        return []
    out = []
    for v in arr.ravel().tolist():
        if isinstance(v, bytes):
            v = v.decode("utf-8")
        if not isinstance(v, str):
            raise TypeError(f"expected a string, got {type(v).__name__}")
        out.append(v)
    return out


def _read_layers(path: Path) -> list[tuple[str, str, np.ndarray, str, np.ndarray]]:
    """[(layer, kernel path, kernel, bias path, bias)] in ``layer_names`` order, layers with weights only."""
    import h5py

    def fail(place: str, msg: str) -> ModelFormatError:
        return ModelFormatError(f"{path}: {place}: {msg}")

    try:
        f = h5py.File(path, "r")
    except (OSError, ValueError) as e:
        raise ModelFormatError(f"{path}: not a readable HDF5 file ({e})") from None
    layers = []
    with f:
        place = "/ attribute 'layer_names'"
        try:
            if "layer_names" not in f.attrs:
                raise fail(place, "missing (not a Keras save_weights h5 file)")
            layer_names = _names(f.attrs["layer_names"])
            for layer in layer_names:
                place = f"/{layer}"
                if layer not in f:
                    raise fail(place, "layer group listed in 'layer_names' is missing")
                group = f[layer]
                if not isinstance(group, h5py.Group):
                    raise fail(place, "expected a layer group, found a dataset")
                place = f"/{layer} attribute 'weight_names'"
                if "weight_names" not in group.attrs:
                    raise fail(place, "missing")
                wnames = _names(group.attrs["weight_names"])
                if not wnames:
                    continue
                if not layer.startswith("quantized_dense"):
                    raise fail(f"/{layer}", f"layer with weights {wnames} is not a quantized_dense layer")
                if len(wnames) != 2:
                    raise fail(place, f"expected kernel and bias, got {len(wnames)} weight(s) {wnames}")
                arrays = []
                for wn in wnames:
                    place = f"/{layer}/{wn}"
                    if wn not in group:
                        raise fail(place, "dataset listed in 'weight_names' is missing")
                    ds = group[wn]
                    if not isinstance(ds, h5py.Dataset):
                        raise fail(place, "expected a dataset, found a group")
                    if ds.dtype != np.float32:
                        raise fail(place, f"expected float32 values, got {ds.dtype}")
                    arrays.append(np.asarray(ds[()], dtype=np.float32))
                layers.append((layer, f"/{layer}/{wnames[0]}", arrays[0], f"/{layer}/{wnames[1]}", arrays[1]))
        except ModelFormatError:
            raise
        except (OSError, KeyError, ValueError, TypeError, UnicodeDecodeError, RuntimeError) as e:
            raise fail(place, f"cannot read ({type(e).__name__}: {e})") from None
    if not layers:
        raise ModelFormatError(f"{path}: / attribute 'layer_names': no layer holds weights")
    return layers


def load_h5(path: str | Path, bits: int | None = None, input_bits: int | None = None) -> QNetwork:
    """Read a QVIP / AAAI'21 Keras h5 network as its exact integer network.

    ``bits`` (Q) and ``input_bits`` (I) default to the ``_qu_<Q>`` / ``_in_<I>``
    parts of the file name (Q=6, I=8 for the AAAI'21 ``mnist_mlp.h5`` and
    ``fashion-mnist_mlp.h5``).
    """
    path = Path(path)
    name_q, name_i = bits_from_name(path)
    q = bits if bits is not None else name_q
    i_bits = input_bits if input_bits is not None else name_i
    missing = [opt for opt, v in (("bits", q), ("input_bits", i_bits)) if v is None]
    if missing:
        raise ModelFormatError(
            f"{path}: the file name does not give the quantization bits (_qu_<Q>) / input bits (_in_<I>); "
            f"pass {' and '.join(missing)} (e.g. bits=6, input_bits=8)")
    for opt, v, given, lo, hi in (("bits", q, bits, 2, 16), ("input_bits", i_bits, input_bits, 1, 30)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= int(v) <= hi:
            origin = "" if given is not None else " (from the file name)"
            raise ModelFormatError(f"{path}: {opt} must be an integer in {lo}..{hi}, got {v!r}{origin}")
    q, i_bits = int(q), int(i_bits)

    layers = _read_layers(path)
    notes: list[str] = []
    nodes: list[ops.Node] = []
    prev_name, prev_size = "input", None
    x_max = 2**i_bits - 1
    for li, (layer, kpath, kernel, bpath, bias) in enumerate(layers):
        last = li == len(layers) - 1
        if kernel.ndim != 2:
            raise ModelFormatError(f"{path}: {kpath}: kernel must be 2-D (inputs, outputs), got shape {kernel.shape}")
        n_in, n_out = kernel.shape
        if n_in < 1 or n_out < 1:
            raise ModelFormatError(f"{path}: {kpath}: empty kernel of shape {kernel.shape}")
        if bias.shape != (n_out,):
            raise ModelFormatError(f"{path}: {bpath}: bias has shape {bias.shape}, expected ({n_out},) for kernel {kernel.shape}")
        if prev_size is not None and n_in != prev_size:
            raise ModelFormatError(f"{path}: {kpath}: kernel takes {n_in} inputs, the previous layer gives {prev_size}")
        for p, a in ((kpath, kernel), (bpath, bias)):
            if not np.all(np.isfinite(a)):
                raise ModelFormatError(f"{path}: {p}: {int(np.sum(~np.isfinite(a)))} NaN or infinite value(s)")
        wq = quantize_weights(kernel, q)  # [in, out]
        bq = quantize_bias(bias, q)
        f_bits = i_bits if li == 0 else q - 2
        k = f_bits + 1
        int_bias = bq * (np.int64(1) << k)
        # exact worst-case |acc| over all inputs (codes are >= 0: x_max for layer 0, 2^Q-1 later)
        in_max = x_max if li == 0 else 2**q - 1
        bound = int((np.abs(wq).sum(axis=0) * in_max + np.abs(int_bias)).max())
        acc_bits = 32 if bound < 2**31 else 64
        if acc_bits == 64:
            notes.append(f"{layer}: worst-case |acc| {bound} exceeds int32; modelled with exact 64-bit accumulators")
        if last:
            lo, hi = -(2 ** (q - 1)), 2 ** (q - 1) - 1
        else:
            lo, hi = 0, 2**q - 1
        acc = f"{layer}.acc"
        nodes.append(ops.Dense(acc, (prev_name,), np.ascontiguousarray(wq.T, dtype=np.int64),
                               np.zeros(n_out, np.int64), 0, int_bias.astype(np.int64), acc_bits=acc_bits, weight_bits=q))
        nodes.append(ops.Requantize(layer, (acc,), "pow2", {"shift": np.int64(k)}, lo, hi))
        prev_name, prev_size = layer, n_out

    n_input = layers[0][2].shape[0]
    if i_bits != 8:
        notes.append(f"{i_bits}-bit input codes 0..{x_max} with {i_bits} fractional bits (first shift k={i_bits + 1}); "
                     "how 0..255 pixels map to these codes is not published (benchmarks README 3.6)")
    n_classes = layers[-1][2].shape[1]
    if n_classes == 32 and n_input == 784:
        notes.append("32 outputs: classes 10..31 are never labels but take part in argmax ties and the robustness property")
    meta: dict[str, Any] = {"source": str(path), "format": _FORMAT, "bits": q, "input_bits": i_bits}
    if notes:
        meta["notes"] = notes
    try:
        return QNetwork(ops.InputSpec(shape=(n_input,), lo=0, hi=x_max, quantizer=None), tuple(nodes),
                        ops.OutputSpec(prev_name, scale=2.0 ** -(q - 2)), meta)
    except ModelFormatError as e:
        raise ModelFormatError(f"{path}: {e}") from None
