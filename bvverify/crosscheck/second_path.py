"""The second, independent check of every contradiction.

Keras h5 (QVIP / AAAI'21) networks: :mod:`~bvverify.crosscheck.independent_h5`, the README's
arithmetic in numpy. Torch models: torch itself runs the witness (the TorchScript file, or the one
a bundled ``.bvq`` was converted from). A contradiction this path refutes is a bug in bvverify
(or in this path), never a finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bvverify.crosscheck.claims import Claim
from bvverify.crosscheck.independent_h5 import check_witness, read_mlp
from bvverify.ir.graph import QNetwork
from bvverify.properties.spec import Property

CONFIRMED, REFUTED, UNAVAILABLE = "confirmed", "refuted", "unavailable"


@dataclass
class WitnessCheck:
    path: str  # "numpy-h5" | "torch"
    violates: bool
    detail: str


@dataclass
class SecondPath:
    status: str  # confirmed | refuted | unavailable
    detail: str


def torch_file(model: str) -> Path | None:
    """The TorchScript file behind a model: the file itself, or a bundled ``.bvq``'s ``.pt`` twin."""
    from bvverify.bundled import resolve_model
    from bvverify.importers.torch import is_torchscript

    p = resolve_model(model)
    if p.suffix in (".pt", ".pth") or (p.is_file() and p.suffix not in (".h5", ".bvq") and is_torchscript(p)):
        return p
    twin = p.with_suffix(".pt")
    return twin if p.suffix == ".bvq" and twin.is_file() and is_torchscript(twin) else None


def _torch_check(path: Path, net: QNetwork, prop: Property, claim: Claim, witness: np.ndarray) -> WitnessCheck:
    """Torch runs the witness; the witness must lie in the property's float region and satisfy its output
    condition on torch's own outputs (for a robustness ball: torch's class differs from the label)."""
    import torch

    from bvverify.properties.boxes import float_region

    engine = str(net.meta.get("engine") or "fbgemm")
    torch.backends.quantized.engine = engine
    module = torch.jit.load(str(path)).eval()
    shape = tuple(net.input.shape)

    def run(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            y = module(torch.from_numpy(np.asarray(x, dtype=np.float32).reshape((1,) + shape)))
        return (y.int_repr() if y.is_quantized else y).numpy().reshape(-1).astype(np.float64)

    w = np.asarray(witness, dtype=np.float64).reshape(-1)
    lo, hi = (np.asarray(v).reshape(-1) for v in float_region(net, prop))
    in_box = bool(np.all((w >= lo) & (w <= hi)))
    q = net.input.quantizer
    if prop.units == "codes" and q is not None:  # a ball in input codes: torch's own quantizer gives the codes
        codes = torch.quantize_per_tensor(torch.from_numpy(w.astype(np.float32)), float(q.scale), int(q.zero_point),
                                          torch.qint8 if net.input.lo < 0 else torch.quint8).int_repr().numpy().astype(np.int64)
        in_box = in_box and bool(np.all((codes >= prop.lo.reshape(-1)) & (codes <= prop.hi.reshape(-1))))
    y = run(w)
    if claim.label is not None:
        clean = int(np.argmax(run(np.asarray(claim.x, dtype=np.float64))))  # np.argmax: first maximum
        got = int(np.argmax(y))
        return WitnessCheck("torch", in_box and clean == claim.label and got != claim.label,
                            f"torch {torch.__version__} ({engine}): clean class {clean}, witness class {got}, label "
                            f"{claim.label}, in box {in_box}; outputs {np.round(y, 6).tolist()}")
    if prop.output.over != "dequantized" and net.output.scale is not None and net.meta.get("dequantized_output"):
        y = np.round(y / float(net.output.scale)) + float(net.output.zero_point)  # the property is over output codes
    hit = prop.output.holds(y)
    return WitnessCheck("torch", in_box and hit, f"torch {torch.__version__} ({engine}): in box {in_box}, condition "
                                                 f"{'satisfied' if hit else 'not satisfied'}; outputs {np.round(y, 6).tolist()}")


def check(claim: Claim, net: QNetwork, prop: Property, witness: np.ndarray) -> WitnessCheck | None:
    """Evaluate ``witness`` on the second path; None when no independent path exists for this model or query."""
    model = Path(claim.model)
    if model.suffix == ".h5" and claim.label is not None and claim.x is not None:
        c = check_witness(read_mlp(model), claim.x, witness, claim.label, int(float(claim.eps)))
        return WitnessCheck("numpy-h5", c.violates, c.describe())
    t = torch_file(claim.model)
    if t is not None:
        return _torch_check(t, net, prop, claim, witness)
    return None


def reprove(net: QNetwork, prop: Property, timeout: float) -> SecondPath:
    """A proof of holds has no witness to evaluate: the exact bit-vector engine (z3, another encoding and solver
    than auto's ILP) decides the query again. It shares the importer, so it checks the proof, not the reading."""
    from bvverify.engines.config import EngineOptions
    from bvverify.engines.registry import verify

    v = verify(net, prop, EngineOptions("bv"), timeout)
    if v.status == "holds":
        return SecondPath(CONFIRMED, f"bv engine (z3 bit-vectors) proves holds too, {v.seconds:.1f} s")
    if v.status == "violated":
        return SecondPath(REFUTED, "bv engine finds a replayed counterexample where auto proved holds")
    return SecondPath(UNAVAILABLE, f"bv engine undecided: {v.reason}")


def confirm(kind: str, claim: Claim, net: QNetwork, prop: Property, witness: np.ndarray | None,
            timeout: float = 60.0) -> SecondPath:
    """Re-check one contradiction: our witness must violate there, their failing witness must not, our proof
    of holds must be re-proved by the bit-vector engine."""
    from bvverify.crosscheck.classify import HOLDS_BUT_WITNESS, VIOLATED_BUT_PROVED, WITNESS_FAILS

    if kind == VIOLATED_BUT_PROVED:
        return reprove(net, prop, timeout)
    if witness is None or kind not in (HOLDS_BUT_WITNESS, WITNESS_FAILS):
        return SecondPath(UNAVAILABLE, "no witness for an independent path to evaluate")
    c = check(claim, net, prop, witness)
    if c is None:
        return SecondPath(UNAVAILABLE, f"no independent implementation for {claim.model}")
    expect = kind == HOLDS_BUT_WITNESS
    return SecondPath(CONFIRMED if c.violates == expect else REFUTED, f"{c.path}: {c.detail}")


__all__ = ["CONFIRMED", "REFUTED", "UNAVAILABLE", "SecondPath", "WitnessCheck", "check", "confirm", "torch_file"]
