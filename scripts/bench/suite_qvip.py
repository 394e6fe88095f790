"""The QVIP benchmark protocols (ASE'22 Tables 2 and 3): networks, samples, radii, published verdicts.

Kept apart from ``suite.py`` so the protocol (which samples, which radii, how the published files
are read) is in one place (benchmarks README sections 4 and 5).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

QVIP_WORDS = {"Robust": "holds", "Non-robust": "violated", "NA": "NA"}
AAAI_WORDS = {"robust": "holds", "non-robust": "violated", "timeout": "timeout", "misclassified": "misclassified"}
LONG_CSV = "qvip22_data/derived/qvip_results_long.csv"
AAAI_CSV = "aaai21_qnn_robustness/results/aaai21_reported_results.csv"
MNIST_IMAGES = "eran/mnist_test_first500_int.csv"
TABLE2, TABLE3 = "sec_5_2_Table_2", "sec_5_2_Table_3"


@dataclass(frozen=True)
class Suite:
    """One Table 2 network with its (first sample, stop, eps) blocks."""

    name: str
    dataset: str  # the published files' dataset column
    h5: str  # paths relative to the benchmarks folder
    images: str
    blocks: tuple[tuple[int, int, int], ...]  # (first sample, stop, eps)
    alias: str = ""  # the paper's network name


SUITES = {
    "mnist": Suite("mnist", "mnist", "qvip22_data/QNNs/mnist_1blk_64_in_8_qu_6.h5", MNIST_IMAGES,
                   ((0, 100, 1), (100, 200, 2), (200, 300, 3), (300, 400, 4)), "P1-6"),
    "fashion": Suite("fashion", "fashion-mnist", "qvip22_data/QNNs/fashion-mnist_1blk_64_in_8_qu_6.h5",
                     "eran/fashion_mnist_test_first500_int.csv",
                     ((0, 100, 1), (100, 200, 2), (200, 250, 3), (300, 350, 4)), "P4-6"),
}


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def word(words: dict[str, str], w: str, path: Path) -> str:
    if w not in words:
        raise SystemExit(f"{path}: unexpected result {w!r} (expected one of {sorted(words)})")
    return words[w]


def seconds(text: str) -> float | None:
    return None if text in ("", "NA") else float(text)


def load_published(bench: Path) -> dict[tuple[str, int, int], dict[str, Any]]:
    """(dataset, sample, eps) -> normalised QVIP Table 2 and AAAI'21 verdicts (holds / violated / NA, timeout, misclassified)."""
    pub: dict[tuple[str, int, int], dict[str, Any]] = defaultdict(dict)
    qvip = bench / LONG_CSV
    if qvip.is_file():
        for r in rows(qvip):
            if r["source"] == TABLE2:
                entry = pub[(r["dataset"], int(r["sample_id"]), int(float(r["radius"])))]
                entry["qvip"] = word(QVIP_WORDS, r["result"], qvip)
                entry["qvip_seconds"] = seconds(r["qvip_time_s"])
    aaai = bench / AAAI_CSV
    if aaai.is_file():
        for r in rows(aaai):
            pub[(r["dataset"], int(r["sample_id"]), int(float(r["eps"])))]["aaai21"] = word(AAAI_WORDS, r["status"], aaai)
    return pub


@dataclass
class Table3Net:
    """One Table 3 network at one radius: its samples in the published order and QVIP's verdict on each."""

    alias: str  # P1-4 ... P3-10
    h5: str  # relative to the benchmarks folder
    samples: list[int] = field(default_factory=list)
    published: dict[int, tuple[str, float | None]] = field(default_factory=dict)  # sample -> (verdict, QVIP seconds)


def table3(bench: Path, radius: int) -> tuple[list[Table3Net], list[str]]:
    """Table 3's networks at ``radius`` (the samples are test indices 100(r-1) .. 100(r-1)+99; P3 uses 50 of them),
    and notes on what cannot be run: a network whose file was not published, samples without an image (index >= 500)."""
    path = bench / LONG_CSV
    nets: dict[str, Table3Net] = {}
    for r in rows(path):
        if r["source"] == TABLE3 and int(float(r["radius"])) == radius:
            net = nets.setdefault(r["network"], Table3Net(r["network"], r["h5_file"]))
            net.samples.append(int(r["sample_id"]))
            net.published[int(r["sample_id"])] = (word(QVIP_WORDS, r["result"], path), seconds(r["qvip_time_s"]))
    notes, runnable = [], []
    for alias in sorted(nets, key=lambda a: (a.split("-")[0], int(a.split("-")[1]))):
        net = nets[alias]
        if not (bench / net.h5).is_file():
            notes.append(f"{alias}: no network file ({net.h5!r} in the published results): its "
                         f"{len(net.samples)} queries are not run")
            continue
        missing = [s for s in net.samples if s >= 500]
        if missing:
            notes.append(f"{alias}: {len(missing)} samples have no image (index >= 500), not run")
            net.samples = [s for s in net.samples if s < 500]
        runnable.append(net)
    if not nets:
        raise SystemExit(f"{path}: no Table 3 rows at radius {radius}")
    return runnable, notes


__all__ = ["AAAI_WORDS", "MNIST_IMAGES", "QVIP_WORDS", "SUITES", "Suite", "Table3Net", "load_published", "table3"]
