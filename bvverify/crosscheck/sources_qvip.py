"""The QVIP (ASE'22) and AAAI'21 published results: networks, samples, radii, verdicts.

The protocol (which samples, which radii, how the published files are read) lives here once,
for ``bvverify crosscheck`` and the benchmark suites (``scripts/bench/suite_defs.py`` imports it);
formats: the benchmarks README, sections 4 and 5.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bvverify.crosscheck.claims import Claim, CrosscheckDataError

QVIP_WORDS = {"Robust": "holds", "Non-robust": "violated", "NA": "NA"}
AAAI_WORDS = {"robust": "holds", "non-robust": "violated", "timeout": "timeout", "misclassified": "misclassified"}
LONG_CSV = "qvip22_data/derived/qvip_results_long.csv"
AAAI_CSV = "aaai21_qnn_robustness/results/aaai21_reported_results.csv"
MNIST_IMAGES = "eran/mnist_test_first500_int.csv"
FASHION_IMAGES = "eran/fashion_mnist_test_first500_int.csv"
TABLE2, TABLE3 = "sec_5_2_Table_2", "sec_5_2_Table_3"
LONG_COLUMNS = ("source", "dataset", "network", "h5_file", "sample_id", "radius", "result")
AAAI_COLUMNS = ("dataset", "network", "sample_id", "eps", "status")


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
    "fashion": Suite("fashion", "fashion-mnist", "qvip22_data/QNNs/fashion-mnist_1blk_64_in_8_qu_6.h5", FASHION_IMAGES,
                     ((0, 100, 1), (100, 200, 2), (200, 250, 3), (300, 350, 4)), "P4-6"),
}
AAAI_NETWORKS = {"mnist_mlp.h5": ("aaai21_qnn_robustness/weights/mnist_mlp.h5", MNIST_IMAGES),
                 "fashion-mnist_mlp.h5": ("aaai21_qnn_robustness/weights/fashion-mnist_mlp.h5", FASHION_IMAGES)}


def rows(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
    except OSError as e:
        raise CrosscheckDataError(f"{path}: cannot read ({e.strerror})") from None


def word(words: dict[str, str], w: str, path: Path, line: int | None = None) -> str:
    if w not in words:
        where = f"{path}, line {line}" if line is not None else str(path)
        raise CrosscheckDataError(f"{where}: unexpected result {w!r} (expected one of {sorted(words)})")
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
        raise CrosscheckDataError(f"{path}: no Table 3 rows at radius {radius}")
    return runnable, notes


QVIP_SUITE = re.compile(r"qvip-t2|qvip-t3-r(\d+)")  # the benchmark suites' names (scripts/bench/suite_defs.py)


def suite_files(bench: Path, suite: str) -> dict[str, tuple[str, str]]:
    """Network alias -> (network file, image file), relative to ``bench``, of a QVIP benchmark suite as
    ``scripts/bench/suite_defs.py`` builds it: ``qvip-t2`` (Table 2) or ``qvip-t3-rR`` (Table 3 at radius R, MNIST
    images); {} for any other suite name. A result file names only the alias and the sample index, so a reader
    needs this to find the network and the image again; Table 3 networks whose file was not published are not
    in it (the suite does not run them)."""
    m = QVIP_SUITE.fullmatch(suite)
    if m is None:
        return {}
    if m.group(1) is None:
        return {s.alias: (s.h5, s.images) for s in SUITES.values()}
    nets, _ = table3(bench, int(m.group(1)))
    return {t.alias: (t.h5, MNIST_IMAGES) for t in nets}


class Images:
    """The benchmark's test images (label, 784 integer pixels a row), each file read once."""

    def __init__(self, bench: Path) -> None:
        self.bench = bench
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def get(self, rel: str, index: int) -> tuple[np.ndarray, int] | None:
        from bvverify.properties.robustness import load_data

        if rel not in self._cache:
            if not (self.bench / rel).is_file():
                return None
            xs, ys = load_data(self.bench / rel, 784)
            if ys is None:
                raise CrosscheckDataError(f"{self.bench / rel}: no labels")
            self._cache[rel] = (xs.astype(np.int64), ys.astype(np.int64))
        xs, ys = self._cache[rel]
        return (xs[index], int(ys[index])) if 0 <= index < len(xs) else None


def _claim(source: str, network: str, model: Path, images: Images, rel: str, sample: int, eps: int, verdict: str,
           detail: str, notes: list[str]) -> Claim | None:
    img = images.get(rel, sample)
    if img is None:
        notes.append(f"{source}:{network}:#{sample}@{eps}: no image in {rel}, not checked")
        return None
    v = verdict if verdict in ("holds", "violated") else "none"
    return Claim(source, network, str(model), str(sample), str(eps), v, detail, x=img[0], label=img[1])


def _long_claims(bench: Path, path: Path, images: Images, notes: list[str]) -> list[Claim]:
    out: list[Claim] = []
    unpublished: dict[str, int] = defaultdict(int)
    no_image: dict[str, int] = defaultdict(int)
    for line, r in enumerate(rows(path), start=2):
        if not all(c in r for c in LONG_COLUMNS):
            raise CrosscheckDataError(f"{path}, line {line}: expected the columns {', '.join(LONG_COLUMNS)}")
        if r["source"] not in (TABLE2, TABLE3):
            continue
        eps, sample = int(float(r["radius"])), int(r["sample_id"])
        source = "qvip-t2" if r["source"] == TABLE2 else f"qvip-t3-r{eps}"
        if not (bench / r["h5_file"]).is_file():
            unpublished[f"{source}:{r['network']}:"] += 1
        elif sample >= 500:
            no_image[f"{source}:{r['network']}:"] += 1
        else:
            secs = seconds(r.get("qvip_time_s", ""))
            detail = f"QVIP {r['result']}" + (f" in {secs:.3g} s" if secs is not None else "")
            rel = MNIST_IMAGES if r["dataset"] == "mnist" else FASHION_IMAGES
            c = _claim(source, r["network"], bench / r["h5_file"], images, rel, sample, eps,
                       word(QVIP_WORDS, r["result"], path, line), detail, notes)
            if c is not None:
                out.append(c)
    notes += [f"{k} {n} queries not checked: network file not published" for k, n in sorted(unpublished.items())]
    notes += [f"{k} {n} queries not checked: no image (MNIST test index >= 500)" for k, n in sorted(no_image.items())]
    return out


def _aaai_claims(bench: Path, path: Path, images: Images, notes: list[str]) -> list[Claim]:
    out: list[Claim] = []
    for line, r in enumerate(rows(path), start=2):
        if not all(c in r for c in AAAI_COLUMNS):
            raise CrosscheckDataError(f"{path}, line {line}: expected the columns {', '.join(AAAI_COLUMNS)}")
        if r["network"] not in AAAI_NETWORKS:
            raise CrosscheckDataError(f"{path}, line {line}: unknown network {r['network']!r} "
                                      f"(expected one of {', '.join(AAAI_NETWORKS)})")
        h5, rel = AAAI_NETWORKS[r["network"]]
        c = _claim("aaai21", r["network"], bench / h5, images, rel, int(r["sample_id"]), int(float(r["eps"])),
                   word(AAAI_WORDS, r["status"], path, line), f"AAAI'21 {r['status']}", notes)
        if c is not None:
            out.append(c)
    return out


def header(path: Path) -> tuple[str, ...]:
    try:
        with open(path, newline="") as f:
            return tuple(next(csv.reader(f), []))
    except (OSError, UnicodeDecodeError):
        return ()


def qvip_claims(bench: Path, results: Path | None = None) -> tuple[list[Claim], list[str]]:
    """Claims of a QVIP long CSV and/or the AAAI'21 CSV: ``results`` one of them, or None for both under ``bench``."""
    notes: list[str] = []
    images = Images(bench)
    files = [results] if results is not None else [p for p in (bench / LONG_CSV, bench / AAAI_CSV) if p.is_file()]
    if not files:
        raise CrosscheckDataError(f"{bench}: neither {LONG_CSV} nor {AAAI_CSV} is there")
    claims: list[Claim] = []
    for f in files:
        cols = header(f)
        if all(c in cols for c in LONG_COLUMNS):
            claims += _long_claims(bench, f, images, notes)
        elif all(c in cols for c in AAAI_COLUMNS):
            claims += _aaai_claims(bench, f, images, notes)
        else:
            raise CrosscheckDataError(f"{f}, line 1: not a QVIP long CSV ({', '.join(LONG_COLUMNS)}) nor the AAAI'21 "
                                      f"CSV ({', '.join(AAAI_COLUMNS)})")
    return claims, notes


__all__ = ["AAAI_COLUMNS", "AAAI_WORDS", "FASHION_IMAGES", "LONG_COLUMNS", "MNIST_IMAGES", "QVIP_SUITE", "QVIP_WORDS",
           "SUITES", "Images", "Suite", "Table3Net", "header", "load_published", "qvip_claims", "suite_files", "table3"]
