"""A second, independent implementation of the QVIP / AAAI'21 Keras h5 networks, written from the
benchmarks README (section 2 for the file layout, 3.2-3.4 for the arithmetic and the decision), for
re-checking contradictions. It deliberately uses nothing of bvverify's importer or interpreter: h5py
reads the file, numpy int64 does the arithmetic, so a bug in either of ours cannot hide here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bvverify.crosscheck.claims import CrosscheckDataError

AAAI_FILES = {"mnist_mlp": (6, 8), "fashion-mnist_mlp": (6, 8)}  # README 1: (Q, input bits) of the two AAAI'21 files


def _text(v: object) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def round_away(s: np.ndarray) -> np.ndarray:
    """README 3.2 ``R``: t = trunc(s); +1 if s - t >= 0.5; -1 if s - t <= -0.5 (all on float32)."""
    s = s.astype(np.float32)
    t = np.trunc(s)
    d = s - t
    return t.astype(np.int64) + np.where(d >= np.float32(0.5), 1, 0) - np.where(d <= np.float32(-0.5), 1, 0)


@dataclass
class FixedPointMLP:
    """Integer weights and biases per layer, Q, and the input's fractional bits."""

    kernels: list[np.ndarray]  # int64 (inputs, outputs)
    biases: list[np.ndarray]  # int64 (outputs,)
    q: int
    input_bits: int

    def outputs(self, pixels: np.ndarray) -> np.ndarray:
        """README 3.3 on one integer input vector: per layer acc = a @ Wq + Bq * 2^k, r = floor((acc + 2^(k-1)) / 2^k),
        hidden layers clamped to [0, 2^Q - 1], the output layer to [-2^(Q-1), 2^(Q-1) - 1]."""
        a = np.asarray(pixels, dtype=np.int64).reshape(-1)
        frac = self.input_bits
        last = len(self.kernels) - 1
        for n, (w, b) in enumerate(zip(self.kernels, self.biases)):
            k = frac + 1
            acc = a @ w + b * (1 << k)
            r = (acc + (1 << (k - 1))) // (1 << k)  # numpy floor division: floor for negatives too
            if n < last:
                a = np.minimum(np.maximum(r, 0), (1 << self.q) - 1)
            else:
                a = np.minimum(np.maximum(r, -(1 << (self.q - 1))), (1 << (self.q - 1)) - 1)
            frac = self.q - 2
        return a


def bits_of(path: Path) -> tuple[int, int]:
    """(Q, input bits) from the file name ``..._in_I_qu_Q.h5`` or the two AAAI'21 names."""
    m = re.search(r"_in_(\d+)_qu_(\d+)$", path.stem)
    if m:
        return int(m.group(2)), int(m.group(1))
    if path.stem in AAAI_FILES:
        return AAAI_FILES[path.stem]
    raise CrosscheckDataError(f"{path}: cannot tell Q and the input bits from the file name")


def read_mlp(path: Path) -> FixedPointMLP:
    """README 2 (follow ``layer_names`` and each group's ``weight_names``: kernel, then bias) and 3.2 (to integers)."""
    import h5py

    q, ibits = bits_of(path)
    one_w, one_b = 2 ** (q - 1), 2 ** (q - 2)
    kernels, biases = [], []
    with h5py.File(path, "r") as f:
        for name in (_text(v) for v in f.attrs["layer_names"]):
            names = [_text(v) for v in f[name].attrs.get("weight_names", [])]
            if not names:
                continue  # dropout, flatten
            w = np.asarray(f[name][names[0]], dtype=np.float32)
            b = np.asarray(f[name][names[1]], dtype=np.float32)
            w = np.clip(w, np.float32(-1), np.float32((one_w - 1) / one_w)) * np.float32(one_w)
            b = np.clip(b, np.float32(-2), np.float32((one_w - 1) / one_b)) * np.float32(one_b)
            kernels.append(round_away(w))
            biases.append(round_away(b))
    return FixedPointMLP(kernels, biases, q, ibits)


def predicted(o: np.ndarray) -> int:
    """README 3.4: the argmax, ties to the lowest index."""
    best = 0
    for j in range(1, len(o)):
        if o[j] > o[best]:
            best = j
    return best


@dataclass
class Check:
    """What the independent path says about a witness: does it lie in the ball, and change the class?"""

    in_ball: bool
    clean_class: int
    witness_class: int
    outputs: list[int]
    label: int

    @property
    def violates(self) -> bool:
        return self.in_ball and self.clean_class == self.label and self.witness_class != self.label

    def describe(self) -> str:
        return (f"independent numpy (README 3): clean class {self.clean_class}, witness class {self.witness_class}, "
                f"label {self.label}, in ball {self.in_ball}; witness outputs {self.outputs}")


def check_witness(mlp: FixedPointMLP, x: np.ndarray, witness: np.ndarray, label: int, eps: int) -> Check:
    """README 3.4: the region is every integer vector within ``eps`` of ``x`` clipped to the pixel range."""
    x = np.asarray(x, dtype=np.int64).reshape(-1)
    w = np.asarray(witness, dtype=np.float64).reshape(-1)
    top = (1 << mlp.input_bits) - 1
    in_ball = bool(np.all(w == np.round(w))) and bool(np.all(w >= np.maximum(0, x - eps))) and bool(
        np.all(w <= np.minimum(top, x + eps)))
    o = mlp.outputs(w.astype(np.int64))
    return Check(in_ball, predicted(mlp.outputs(x)), predicted(o), [int(v) for v in o], label)


__all__ = ["Check", "FixedPointMLP", "bits_of", "check_witness", "predicted", "read_mlp", "round_away"]
