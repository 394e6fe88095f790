"""The result-file readers on small fixture files written here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bvverify.crosscheck.claims import Claim, CrosscheckDataError, select, select_notes
from bvverify.crosscheck.sources_plain import is_vnncomp_result, plain_claims, read_vnncomp_result
from bvverify.crosscheck.sources_qvip import qvip_claims, table3
from tests.crosscheck.conftest import shared_benchmarks


def test_qvip_and_aaai_claims(tiny_bench: Path) -> None:
    claims, notes = qvip_claims(tiny_bench)
    keys = [c.key for c in claims]
    assert keys == ["qvip-t2:P1-6:#0@1", "qvip-t2:P1-6:#1@1", "qvip-t3-r4:P1-8:#3@4",
                    "aaai21:mnist_mlp.h5:#0@1", "aaai21:mnist_mlp.h5:#1@1", "aaai21:mnist_mlp.h5:#11@1"]
    assert [c.verdict for c in claims] == ["holds", "violated", "none", "holds", "none", "holds"]
    assert claims[1].x is not None and claims[1].x.shape == (784,)
    assert claims[1].detail == "QVIP Non-robust in 2.5 s"
    assert notes == ["qvip-t3-r4:P1-6: 1 queries not checked: network file not published",
                     "qvip-t3-r6:P1-8: 1 queries not checked: no image (MNIST test index >= 500)"]
    assert select_notes(notes, "qvip-t3-r6:,aaai21:") == notes[1:] and select_notes(notes, "P1-6") == notes[:1]


def test_a_bad_result_word_names_file_and_line(tiny_bench: Path) -> None:
    f = tiny_bench / "aaai21_qnn_robustness" / "results" / "aaai21_reported_results.csv"
    f.write_text(f.read_text() + "mnist,mnist_mlp.h5,3,1,robustish\n")
    with pytest.raises(CrosscheckDataError, match=r"aaai21_reported_results.csv, line 5: unexpected result 'robustish'"):
        qvip_claims(tiny_bench, f)


def test_vnncomp_result_files(tmp_path: Path) -> None:
    f = tmp_path / "r.txt"
    f.write_text("sat\n((X_0 1.5)\n (X_1 -2)\n (X_2 3e-1)\n (Y_0 4))\n")
    assert is_vnncomp_result(f)
    verdict, x = read_vnncomp_result(f)
    assert verdict == "violated" and x is not None and x.tolist() == [1.5, -2.0, 0.3]
    f.write_text("unsat\n")
    assert read_vnncomp_result(f) == ("holds", None)
    f.write_text("timeout\n")
    assert read_vnncomp_result(f) == ("none", None)
    f.write_text("sat\n((X_0 1)\n (X_2 3))\n")
    with pytest.raises(CrosscheckDataError, match="no X_1"):
        read_vnncomp_result(f)
    f.write_text("sat\n((X_0 1)\n (X_1 abc))\n")
    with pytest.raises(CrosscheckDataError, match=r"line 3: X_1 value 'abc'"):
        read_vnncomp_result(f)
    f.write_text("maybe\n")
    with pytest.raises(CrosscheckDataError, match="line 1"):
        read_vnncomp_result(f)


def test_plain_csv(tmp_path: Path) -> None:
    (tmp_path / "w.txt").write_text("sat\n((X_0 1)\n (X_1 2))\n")
    (tmp_path / "p.vnnlib").write_text("(declare-const X_0 Real)\n")
    f = tmp_path / "r.csv"
    f.write_text("model,property,sample,eps,verdict,witness\ndigits-mlp,,3,1,Robust,\nm.pt,p.vnnlib,,,,w.txt\n"
                 "digits-mlp,,4,2,timeout,\n")
    a, b, c = plain_claims(f)
    assert (a.key, a.verdict, a.data, a.model) == ("csv:digits-mlp:#3@1", "holds", "bundled", "digits-mlp")
    assert b.verdict == "violated" and b.vnnlib == tmp_path / "p.vnnlib" and b.witness is not None
    assert b.model == str(tmp_path / "m.pt") and b.witness.tolist() == [1.0, 2.0]
    assert c.verdict == "none"
    f.write_text("model,sample,eps,verdict\nother.pt,3,1,holds\n")
    with pytest.raises(CrosscheckDataError, match="line 2: sample 3 needs --data"):
        plain_claims(f)
    f.write_text("net,answer\nx,y\n")
    with pytest.raises(CrosscheckDataError, match="line 1"):
        plain_claims(f)


def test_select_by_key_parts_and_limit() -> None:
    cs = [Claim("qvip-t3-r4", n, "m", str(i), "4", "holds") for n in ("P1-8", "P1-10", "P2-8") for i in range(3)]
    assert len(select(cs, "qvip-t3-r4:P1-8:,qvip-t3-r4:P1-10:", None)) == 6
    assert [c.key for c in select(cs, "P2-8", 2)] == ["qvip-t3-r4:P2-8:#0@4", "qvip-t3-r4:P2-8:#1@4"]


BENCH = shared_benchmarks()


@pytest.mark.skipif(not (BENCH / "qvip22_data").is_dir(), reason="shared benchmark data absent")
def test_published_files() -> None:
    claims, notes = qvip_claims(BENCH)
    by = {}
    for c in claims:
        by[c.source] = by.get(c.source, 0) + 1
    assert by["qvip-t2"] == 700 and by["aaai21"] == 700
    assert by["qvip-t3-r2"] == by["qvip-t3-r4"] == 900  # P1-6 of Table 3 has no published network
    nets, _ = table3(BENCH, 4)
    p3 = next(n for n in nets if n.alias == "P3-8")
    assert len(p3.samples) == 50 and all(300 <= s < 400 for s in p3.samples)
    assert all(np.asarray(c.x).max() <= 255 for c in claims[:50])
