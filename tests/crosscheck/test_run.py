"""The cross-check end to end on the bundled digits-mlp: a planted wrong 'holds' is found and confirmed by
torch, a counterexample that does not replay is detected, rows are resumable, the CLI's exit codes."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

import bvverify
from bvverify.bundled import resolve_model, test_images
from bvverify.cli.app import app
from bvverify.crosscheck import classify as k
from bvverify.crosscheck.claims import Claim
from bvverify.crosscheck.run import CSV_NAME, Runner, run, table
from bvverify.crosscheck.second_path import CONFIRMED, REFUTED, SecondPath, confirm
from bvverify.properties.robustness import robustness_property


def digits_claim(i: int, verdict: str, witness: np.ndarray | None = None) -> Claim:
    return Claim("csv", "digits-mlp", "digits-mlp", str(i), "1", verdict, verdict, witness=witness, data="bundled")


def test_planted_wrong_holds_found_and_confirmed_by_torch(tmp_path: Path) -> None:
    rows = run([digits_claim(3, "holds"), digits_claim(0, "holds")], Runner(tmp_path, 20))
    planted, honest = rows
    assert planted["kind"] == k.HOLDS_BUT_WITNESS and planted["ours"] == "violated"
    assert planted["second_path"] == CONFIRMED and planted["second_detail"].startswith("torch:")
    assert honest["kind"] == k.AGREE and honest["second_path"] == ""
    ev = tmp_path / "evidence"
    witness = (ev / "csv_digits-mlp_3_1.witness.txt").read_text().splitlines()
    assert witness[0] == "sat" and witness[1].startswith("((X_0 ")
    if importlib.util.find_spec("matplotlib") is not None:
        assert (ev / "csv_digits-mlp_3_1.png").stat().st_size > 1000
    doc = json.loads((ev / "csv_digits-mlp_3_1.json").read_text())
    assert doc["ours"]["counterexample"]["replayed_by"] == ["interpreter"] and doc["second_path"] == CONFIRMED
    assert table(rows)["counts"][k.HOLDS_BUT_WITNESS] == 1


def test_a_witness_that_does_not_replay_is_detected(tmp_path: Path) -> None:
    xs, _ = test_images()
    clean = xs[0].reshape(-1).astype(np.float64)  # the clean image: correctly classified, so no counterexample
    outside = clean + 0.5  # far outside the eps-1 ball
    (tmp_path / "w0.txt").write_text("sat\n(" + "\n ".join(f"(X_{i} {float(v)!r})" for i, v in enumerate(clean)) + ")\n")
    (tmp_path / "w1.txt").write_text("sat\n(" + "\n ".join(f"(X_{i} {float(v)!r})" for i, v in enumerate(outside)) + ")\n")
    (tmp_path / "r.csv").write_text("model,sample,eps,verdict,witness\ndigits-mlp,0,1,sat,w0.txt\ndigits-mlp,1,1,sat,w1.txt\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["crosscheck", str(tmp_path / "r.csv"), "--out", str(out), "--timeout", "20", "--json"])
    assert res.exit_code == 1, res.output
    doc = json.loads(res.stdout)
    assert doc["counts"][k.WITNESS_FAILS] == 2 and doc["second_path"] == {CONFIRMED: 2}
    with open(out / CSV_NAME, newline="") as f:
        a, b = list(csv.DictReader(f))
    assert "do not violate the property" in a["their_witness"] and "outside the box" in b["their_witness"]
    assert a["second_path"] == CONFIRMED and "in box True" in a["second_detail"]
    assert "in box False" in b["second_detail"]
    # a re-run resumes: nothing is decided again, the rows are the same
    again = CliRunner().invoke(app, ["crosscheck", str(tmp_path / "r.csv"), "--out", str(out), "--json"])
    assert again.exit_code == 1 and json.loads(again.stdout)["counts"] == doc["counts"]
    assert len((out / CSV_NAME).read_text().splitlines()) == 3


def test_resume_cuts_a_torn_line_and_reruns_errors(tmp_path: Path) -> None:
    run([digits_claim(0, "holds")], Runner(tmp_path, 20))
    path = tmp_path / CSV_NAME
    path.write_text(path.read_text() + "csv:digits-mlp:#1@1,csv,digits")  # a crash mid-row
    rows = run([digits_claim(0, "holds"), digits_claim(1, "holds")], Runner(tmp_path, 20))
    assert [r["kind"] for r in rows] == [k.AGREE, k.AGREE]
    assert len(path.read_text().splitlines()) == 3


def test_the_second_path_refutes_a_false_contradiction() -> None:
    """A 'witness' that is not one must come back refuted (the path can fail, so its confirmations mean something)."""
    net = bvverify.load(resolve_model("digits-mlp"))
    xs, ys = test_images()
    c = digits_claim(0, "holds")
    c.x, c.label = xs[0].reshape(-1).astype(np.float64), int(ys[0])
    prop = robustness_property(net, c.x, c.label, 1, "codes")
    got = confirm(k.HOLDS_BUT_WITNESS, c, net, prop, c.x)
    assert isinstance(got, SecondPath) and got.status == REFUTED


def test_misclassified_and_unknown_model(tmp_path: Path) -> None:
    xs, ys = test_images()
    np.savez(tmp_path / "d.npz", x=xs[:2].reshape(2, -1), y=(ys[:2] + 1) % 10)  # labels that the model does not predict
    c = Claim("csv", "digits-mlp", "digits-mlp", "1", "1", "holds", data=str(tmp_path / "d.npz"))
    bad = Claim("csv", "nope", str(tmp_path / "nope.bvq"), "0", "1", "holds", data="bundled")
    rows = run([c, bad], Runner(tmp_path, 5))
    assert rows[0]["kind"] == k.SKIPPED and rows[1]["kind"] == k.ERROR and "no such model" in rows[1]["our_reason"]
    assert table(rows)["mapping_suspect"] == [c.key]  # they answered 'holds' on a sample the network misclassifies


def test_keras_h5_folder_and_a_planted_holds_confirmed_by_numpy(tiny_bench: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["crosscheck", str(tiny_bench), "--out", str(out), "--timeout", "10", "--json"])
    doc = json.loads(res.stdout)
    assert doc["queries"] == 6 and doc["refuted"] == [] and doc["counts"][k.ERROR] == 0
    assert doc["mapping_suspect"] == ["aaai21:mnist_mlp.h5:#11@1"]
    assert doc["counts"][k.SKIPPED] == 1 and res.exit_code == (1 if any(doc["counts"][c] for c in k.CONTRADICTIONS) else 0)
    # a wide ball on the tiny network is not robust: 'holds' there is a planted error
    h5 = tiny_bench / "qvip22_data" / "QNNs" / "mnist_1blk_64_in_8_qu_6.h5"
    (tmp_path / "r.csv").write_text(f"model,sample,eps,verdict\n{h5},0,120,holds\n")
    res = CliRunner().invoke(app, ["crosscheck", str(tmp_path / "r.csv"), "--data", str(tiny_bench / "eran" /
                                   "mnist_test_first500_int.csv"), "--out", str(tmp_path / "o2"), "--timeout", "20", "--json"])
    doc = json.loads(res.stdout)
    assert res.exit_code == 1 and doc["counts"][k.HOLDS_BUT_WITNESS] == 1 and doc["second_path"] == {CONFIRMED: 1}
    with open(tmp_path / "o2" / CSV_NAME, newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert row["second_detail"].startswith("numpy-h5: independent numpy (README 3)")


def test_a_planted_wrong_violated_is_reproved_by_the_bit_vector_engine(tmp_path: Path) -> None:
    (row,) = run([digits_claim(0, "violated")], Runner(tmp_path, 20))  # image 0 is robust at eps 1
    assert row["kind"] == k.VIOLATED_BUT_PROVED and row["ours"] == "holds"
    assert row["second_path"] == CONFIRMED and row["second_detail"].startswith("bv engine")
    doc = json.loads((tmp_path / "evidence" / "csv_digits-mlp_0_1.json").read_text())
    assert doc["ours"]["status"] == "holds" and doc["second_path"] == CONFIRMED


def test_evidence_names_keep_the_dots_of_the_key(tmp_path: Path) -> None:
    xs, _ = test_images()
    (tmp_path / "p.vnnlib").write_text("".join(f"(declare-const X_{i} Real)\n" for i in range(64)) +
                                       "".join(f"(declare-const Y_{j} Real)\n" for j in range(10)) +
                                       "".join(f"(assert (>= X_{i} {v:.6f}))\n(assert (<= X_{i} {v:.6f}))\n"
                                               for i, v in enumerate(xs[0].reshape(-1))) + "(assert (>= Y_0 Y_0))\n")
    (tmp_path / "w.txt").write_text("sat\n((X_0 0.9))\n")
    c = Claim("vnncomp", "digits-mlp", "digits-mlp", "spec_eps0.01", "-", "violated", "sat",
              vnnlib=tmp_path / "p.vnnlib", witness=np.full(64, 0.9))
    (row,) = run([c], Runner(tmp_path / "out", 10))
    assert row["kind"] == k.WITNESS_FAILS and "outside the box" in row["their_witness"]
    assert "vnncomp_digits-mlp_spec_eps0.01_-.their-witness.txt" in row["evidence"].split()
