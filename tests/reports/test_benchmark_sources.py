"""A QVIP suite's counterexamples drawn with their original: the CSV names the network by the paper's alias
(``P1-8``) and the sample by its MNIST test index; with the benchmarks folder the report finds both files.

The witness is made here by the auto engine on a real QVIP query (Table 3, radius 2, P1-8, sample 115, eps 2)
and written by the engine's own result writer, in a folder laid out as ``scripts/bench/suite.py`` writes it.
The benchmark data (``$BVVERIFY_BENCHMARKS`` or ``<repo>/../shared/benchmarks``) is needed for those tests; the
ones that check what is said without it always run."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from typer.testing import CliRunner  # noqa: E402

from bvverify.cli import app  # noqa: E402
from bvverify.reports import build_report  # noqa: E402
from bvverify.reports.benchmark_sources import HINT  # noqa: E402
from tests.reports.fixtures import SUITE_HEADER, witness_text  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BENCH = Path(os.environ["BVVERIFY_BENCHMARKS"]) if "BVVERIFY_BENCHMARKS" in os.environ else ROOT / ".." / "shared" / "benchmarks"
SUITE, ALIAS, SAMPLE, EPS = "qvip-t3-r2", "P1-8", 115, 2
WITNESS = f"{SUITE}-witness/{ALIAS}_{SAMPLE}_eps{EPS}_auto.txt"
NOT_LOADABLE = f"model '{ALIAS}' not loadable here"


def suite_row(query: int = SAMPLE, suite: str = SUITE, model: str = ALIAS) -> str:
    return f"{suite},{model},{query},{EPS},auto,violated,0.07,0,60,holds,qvip=holds,disagree,{WITNESS},,attack"


def write_csv(folder: Path, rows: list[str]) -> Path:
    path = folder / f"{SUITE}.csv"
    path.write_text("\n".join([SUITE_HEADER, *rows]) + "\n")
    return path


@pytest.fixture(scope="module")
def qvip(tmp_path_factory) -> tuple[Path, int]:
    """(a folder with the witness file of the real query, the sample's label from the image file)."""
    if not (BENCH / "qvip22_data").is_dir():
        pytest.skip(f"benchmark data not found at {BENCH} (set BVVERIFY_BENCHMARKS)")
    import bvverify
    from bvverify.crosscheck.sources_qvip import MNIST_IMAGES
    from bvverify.engines.config import EngineOptions
    from bvverify.engines.registry import verify
    from bvverify.engines.results import write_vnncomp_result
    from bvverify.properties.robustness import load_data, robustness_property

    net = bvverify.load(BENCH / "qvip22_data/QNNs/mnist_1blk_64_in_8_qu_8.h5")  # P1-8, as the benchmarks README names it
    xs, ys = load_data(BENCH / MNIST_IMAGES, 784)
    x, label = xs[SAMPLE].astype(np.int64), int(ys[SAMPLE])
    prop = robustness_property(net, x.reshape(net.input.shape), label, EPS, "codes")
    v = verify(net, prop, EngineOptions("auto"), 60.0, None, None)
    assert v.status == "violated", v.reason
    folder = tmp_path_factory.mktemp("qvip")
    (folder / WITNESS).parent.mkdir()
    write_vnncomp_result(folder / WITNESS, v, net.integer_input, "codes")
    return folder, label


def test_with_the_benchmarks_the_picture_has_its_original(qvip):
    folder, label = qvip
    r = build_report([write_csv(folder, [suite_row()])], benchmarks=BENCH)
    (p,) = r.pictures
    assert p.notes == ()
    # "a -> b" outputs exist only when the original was found, inside eps of the witness, and re-run
    assert p.caption.startswith(f"{ALIAS}, sample {SAMPLE}, eps {EPS}, auto: class {label} output ")
    assert p.caption.count("->") == 2


def test_without_the_benchmarks_the_old_note_stays_and_says_how(qvip):
    folder, _ = qvip
    (p,) = build_report([write_csv(folder, [suite_row()])]).pictures
    (note,) = p.notes
    assert note.startswith(NOT_LOADABLE) and HINT in note and "->" not in p.caption


def test_the_witness_is_still_checked_against_the_original(qvip):
    folder, _ = qvip
    (p,) = build_report([write_csv(folder, [suite_row(query=SAMPLE + 1)])], benchmarks=BENCH).pictures
    assert any(f"sample {SAMPLE + 1} of " in n and f"not within eps {EPS}" in n for n in p.notes)
    assert "->" not in p.caption


def test_an_alias_the_suite_does_not_have_is_said(qvip):
    folder, _ = qvip
    (p,) = build_report([write_csv(folder, [suite_row(model="P9-9")])], benchmarks=BENCH).pictures
    (note,) = p.notes
    assert note.startswith("model 'P9-9' not loadable here") and f"not a network of {SUITE}" in note


@pytest.mark.parametrize("how", ["option", "environment", "neither"])
def test_command(qvip, tmp_path, how):
    folder, _ = qvip
    csv = write_csv(folder, [suite_row()])
    args = ["report", str(csv), "--out", str(tmp_path / "rep")] + (["--benchmarks", str(BENCH)] if how == "option" else [])
    env = {"BVVERIFY_BENCHMARKS": str(BENCH) if how == "environment" else None}
    res = CliRunner().invoke(app, args, env=env)
    assert res.exit_code == 0, res.output
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "1 counterexample pictures" in res.output
    assert (NOT_LOADABLE in md) == (how == "neither")


def test_a_missing_benchmarks_folder_is_refused(tmp_path):
    csv = write_csv(tmp_path, ["qvip-t3-r2,P1-8,115,2,auto,holds,0.07,0,60,,,,,,bounds"])
    res = CliRunner().invoke(app, ["report", str(csv), "--out", str(tmp_path / "rep"), "--benchmarks", str(tmp_path / "no")])
    assert res.exit_code == 2 and "--benchmarks" in res.output and "not a folder" in res.output
    assert not (tmp_path / "rep").exists()


def test_a_folder_without_the_qvip_data_is_said_under_the_picture(tmp_path):
    """Runs without the benchmark data: a made-up witness of image length is drawn alone, and the note says why."""
    (tmp_path / WITNESS).parent.mkdir()
    (tmp_path / WITNESS).write_text(witness_text([1.0] * 784, [0.0] * 10))
    csv = write_csv(tmp_path, [suite_row()])
    (p,) = build_report([csv], benchmarks=tmp_path).pictures
    (note,) = p.notes
    assert note.startswith(NOT_LOADABLE) and "does not give qvip-t3-r2's networks" in note
    # another suite's rows are not QVIP aliases: no hint, whatever folder is given
    (q,) = build_report([write_csv(tmp_path, [suite_row(suite="digits", model="toy")])]).pictures
    assert q.notes == ("model 'toy' not loadable here: outputs as the result file gives them, no original",)


def test_a_violation_by_a_tie_says_so(qvip, tmp_path):
    """P1-8 saturates its outputs at 127: a witness may reach the label's output without passing it, and the
    lowest-index argmax makes that a violation; the caption says so, exactly when the outputs tie."""
    import bvverify
    from bvverify.crosscheck.sources_qvip import MNIST_IMAGES
    from bvverify.engines.config import EngineOptions
    from bvverify.engines.registry import verify
    from bvverify.engines.results import write_vnncomp_result
    from bvverify.properties.robustness import load_data, robustness_property

    net = bvverify.load(BENCH / "qvip22_data/QNNs/mnist_1blk_64_in_8_qu_8.h5")
    xs, ys = load_data(BENCH / MNIST_IMAGES, 784)
    sample, label = 124, int(ys[124])
    v = verify(net, robustness_property(net, xs[sample].astype(np.int64), label, EPS, "codes"), EngineOptions("auto"),
               60.0, None, None)
    assert v.status == "violated", v.reason
    (tmp_path / WITNESS).parent.mkdir()
    write_vnncomp_result(tmp_path / WITNESS, v, net.integer_input, "codes")
    out = net.evaluate_codes(np.asarray(v.counterexample.codes, dtype=np.int64).reshape((1, 784)))[0]
    pred = int(np.argmax(out))
    (p,) = build_report([write_csv(tmp_path, [suite_row(query=sample)])], benchmarks=BENCH).pictures
    assert p.notes == ()
    assert ("a tie" in p.caption) == (pred != label and out[pred] == out[label])


@pytest.mark.parametrize("name", ["qvip-t2", "qvip-t3-r2", "qvip-t3-r4"])
def test_the_mapping_is_the_suites_own(name, monkeypatch):
    """Every alias the suite runs maps to the network file the suite loads for it (scripts/bench/suite_defs.py)."""
    if not (BENCH / "qvip22_data").is_dir():
        pytest.skip(f"benchmark data not found at {BENCH} (set BVVERIFY_BENCHMARKS)")
    import bvverify
    from bvverify.crosscheck.sources_qvip import suite_files
    from tests.scripts.bench.test_suite import load

    defs = load("suite_defs")
    models = {q.model.name: q.model for q in defs.build(name, BENCH, BENCH, None).queries}
    monkeypatch.setattr(bvverify, "load", lambda path: Path(path))  # the suite's loader then names its file
    files = suite_files(BENCH, name)
    assert set(models) == set(files)
    assert {a: m.load() for a, m in models.items()} == {a: BENCH / h5 for a, (h5, _) in files.items()}
