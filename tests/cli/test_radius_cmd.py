"""``radius`` end to end on the bundled digits MLP (ILP engine, a small --max so each run stays a few
seconds): the proven radius, the replayed witness right above it, steps, exit codes, the published
comparison, and bad input as one line with exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bvverify.cli import main


def run(*args, ok=(0,)):
    p = subprocess.run([sys.executable, "-m", "bvverify", *map(str, args)], capture_output=True, text=True, timeout=600)
    assert p.returncode in ok, (p.returncode, p.stdout, p.stderr)
    return p


def run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["bvverify", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    return int(exc.value.code or 0)


def test_radius_json_with_witness_and_published(tmp_path: Path) -> None:
    # image 3 is refuted at eps 1 (CP-SAT finds it in about 4-7 s); image 0 holds up to --max
    pub = tmp_path / "mrr.csv"
    pub.write_text("network,sample_id,mrr,qvip_time_s\nP,0,NA,NA\nP,3,0,1.5\nQ,3,5,2.0\n")
    p = run("radius", "digits-mlp", "--index", "0,3", "--engine", "ilp", "--max", "1", "--timeout", "20", "--json",
            "--published", pub, "--published-network", "P")
    doc = json.loads(p.stdout)
    assert doc["engine"] == "ilp/cpsat" and doc["max"] == 1 and doc["counts"] == {"exact": 2, "gap": 0, "misclassified": 0}
    r0, r3 = doc["results"]
    assert (r0["radius"], r0["refuted_at"], r0["exact"], r0["witness"]) == (1, None, True, None)
    assert [(s["eps"], s["status"]) for s in r0["steps"]] == [(0, "holds"), (1, "holds")]
    assert (r0["published"], r0["published_check"]) == (None, "published NA")
    assert (r3["radius"], r3["refuted_at"], r3["unknown"], r3["exact"]) == (0, 1, [], True)
    assert [(s["eps"], s["status"], s["engine"], s["how"]) for s in r3["steps"]] == [
        (0, "holds", "clean", "solved"), (1, "violated", "ilp/cpsat", "solved")]
    w = r3["witness"]
    assert w["status"] == "violated" and w["counterexample"]["replayed_by"] == ["interpreter"]
    from bvverify.bundled import resolve_model, test_images
    from bvverify.importers import load

    net = load(resolve_model("digits-mlp"))
    clean = net.quantize_input(test_images()[0][3].reshape(1, -1))[0]
    codes = np.asarray(w["counterexample"]["input_codes"])
    assert np.abs(codes - clean).max() == 1  # inside the eps-1 box, not the eps-0 one
    assert int(np.argmax(w["counterexample"]["output_codes"])) != 6
    assert (r3["published"], r3["published_check"]) == (0, "agrees")


def test_radius_table_and_steps_on_stderr() -> None:
    p = run("radius", "digits-mlp", "--index", "2", "--engine", "ilp", "--max", "3", "--timeout", "20")
    assert "#2 eps 0: holds (" in p.stderr and "clean" in p.stderr and "#2 eps 3: holds (" in p.stderr
    header, row = p.stdout.splitlines()[:2]
    assert header.split("\t") == ["index", "label", "radius", "refuted at", "unknown", "seconds", "note"]
    assert row.split("\t")[:5] == ["2", "5", "3", "-", "-"] and "holds up to --max 3" in row


def test_misclassified_sample_has_no_radius() -> None:
    p = run("radius", "digits-mlp", "--index", "0", "--label", "0", "--engine", "ilp", "--max", "3", "--json", ok=(1,))
    r = json.loads(p.stdout)["results"][0]
    assert (r["radius"], r["refuted_at"], r["misclassified"], r["predicted"]) == (None, 0, True, 1)
    assert [s["engine"] for s in r["steps"]] == ["clean"]  # nothing solved
    assert r["witness"]["reason"] == "misclassified: the clean input is predicted 1"
    assert r["witness"]["counterexample"]["replayed_by"] == ["interpreter"]
    p = run("radius", "digits-mlp", "--index", "0", "--label", "0", "--engine", "ilp", "--max", "3", ok=(1,))
    assert "radius undefined: the clean input is misclassified (predicted 1)" in p.stdout


def test_unknown_steps_leave_a_gap_exit_3_on_a_float_grid() -> None:
    # the bounds engine cannot decide image 3 at any eps > 0: every grid point is unknown, none guessed
    p = run("radius", "digits-mlp", "--index", "3", "--engine", "bounds", "--eps-unit", "float", "--step", "0.004",
            "--max", "0.0125", "--json", ok=(3,))
    doc = json.loads(p.stdout)
    r = doc["results"][0]
    assert (doc["step"], doc["max"]) == (0.004, 0.012)
    assert (r["radius"], r["refuted_at"], r["unknown"], r["untried"], r["exact"]) == (0.0, None, [0.004, 0.008, 0.012], [], False)
    assert sorted(s["eps"] for s in r["steps"]) == [0.0, 0.004, 0.008, 0.012]


@pytest.mark.parametrize("args, words", [
    (["--eps-unit", "float", "--max", "0.1"], "--eps-unit float needs --step"),
    (["--eps-unit", "float", "--step", "0.01"], "--eps-unit float needs --max"),
    (["--eps-unit", "float", "--step", "0", "--max", "1"], "--step 0: expected a positive number"),
    (["--eps-unit", "float", "--step", "1e-9", "--max", "1"], "use a coarser --step"),
    (["--max", "-1"], "--max -1: expected a radius >= 0"),
    (["--max", "2.5"], "--max 2.5: a radius in codes is a whole number"),
    (["--step", "0.1"], "--step applies to --eps-unit float only"),
    (["--clip", "0,1"], "--clip applies to --eps-unit float only"),
    (["--eps-unit", "pixels"], "--eps-unit 'pixels': expected codes or float"),
    (["--total-timeout", "0"], "--total-timeout 0: expected a positive number of seconds"),
    (["--timeout", "-1"], "--timeout -1: expected a positive number of seconds"),
    (["--engine", "nope"], "--engine 'nope': unknown verification engine"),
    (["--engine", "bounds", "--solver", "highs"], "--solver highs applies to --engine"),
    (["--label", "12"], "sample 0: label 12 out of range: the model has 10 outputs"),
    (["--published-network", "P1-6"], "--published-network applies with --published only"),
    (["--published", "nope.csv"], "--published nope.csv: cannot read"),
])
def test_bad_input_is_one_line_exit_2(monkeypatch, capsys, args, words) -> None:
    code = run_main(monkeypatch, "radius", "digits-mlp", "--index", "0", "--engine", "ilp", *args)
    err = capsys.readouterr().err
    assert code == 2 and words in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_index_and_published_files(monkeypatch, capsys, tmp_path: Path) -> None:
    def one_line(*args: str) -> str:
        code = run_main(monkeypatch, "radius", "digits-mlp", "--engine", "ilp", *args)
        err = capsys.readouterr().err
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        return err

    assert "--index is required" in one_line()
    assert "--index 99 out of range" in one_line("--index", "99")
    pub = tmp_path / "mrr.csv"
    pub.write_text("network,sample_id,mrr\nP1-4,0,3\nP1-6,0,4\n")
    assert "has the MRRs of P1-4, P1-6: pick one with --published-network" in one_line("--index", "0", "--published", str(pub))
    assert "--published-network 'P9': not in" in one_line("--index", "0", "--published", str(pub), "--published-network", "P9")
    pub.write_text("id,radius\n0,3\n")
    assert "no column sample_id or mrr" in one_line("--index", "0", "--published", str(pub))
    pub.write_text("sample_id,mrr\n0,three\n")
    assert f"--published {pub}:2: sample_id '0' / mrr 'three'" in one_line("--index", "0", "--published", str(pub))
    assert "--published compares radii in input codes" in one_line("--index", "0", "--published", str(pub), "--eps-unit",
                                                                   "float", "--step", "0.01", "--max", "0.1")
