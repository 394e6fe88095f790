"""The rendered report: figures drawn, a self-contained HTML page, markdown linking files that exist,
and the command's exit codes."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

pytest.importorskip("matplotlib")

from bvverify.reports import build_report, write_report  # noqa: E402
from tests.reports.fixtures import radius_json, robust_json, suite_csv  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def report(tmp_path):
    return build_report([suite_csv(tmp_path), robust_json(tmp_path), radius_json(tmp_path)], n_slowest=3)


def test_tables_and_figures(report):
    counts = {c.engine: c.counts for c in report.counts}
    assert counts["auto (suite)"]["holds"] == 1 and counts["auto (suite)"]["timeout"] == 1
    assert counts["bounds (suite)"]["unknown"] == 1 and counts["auto (robust)"]["violated"] == 1
    assert set(report.figures) == {"verdicts", "cactus", "radius"}
    assert all(png.startswith(PNG) and len(png) > 2000 for _, png in report.figures.values())
    assert [q.seconds for q in report.slowest] == [20.0, 5.0, 5.0]
    assert report.radius == {"samples": 2, "exact": 1, "gap": 1, "misclassified": 0}


def test_pictures_of_flat_image_witnesses_without_the_model(report):
    # toy.bvq does not exist here: the 16-input witnesses (suite, robust, radius) are drawn as 4x4 images from the files alone
    assert len(report.pictures) == 3 and all(p.png.startswith(PNG) for p in report.pictures)
    assert all("not loadable here" in p.notes[0] for p in report.pictures)


def test_html_is_self_contained(report, tmp_path):
    files = write_report(report, tmp_path / "out")
    html = files["html"].read_text()
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.I)  # nothing fetched from anywhere
    srcs = re.findall(r'src="([^"]*)"', html)
    assert len(srcs) == 3 + 3 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "<script" not in html and "<link" not in html and "@import" not in html
    md = files["markdown"].read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(links) == 6 and all((tmp_path / "out" / link).read_bytes().startswith(PNG) for link in links)


def test_no_radius_no_histogram(tmp_path):
    r = build_report([suite_csv(tmp_path)])
    assert set(r.figures) == {"verdicts", "cactus"} and r.radius["samples"] == 0


def run(*args):
    return subprocess.run([sys.executable, "-m", "bvverify", *map(str, args)], capture_output=True, text=True, timeout=300)


def test_command(tmp_path):
    p = run("report", suite_csv(tmp_path), robust_json(tmp_path), "--out", tmp_path / "rep", "--title", "Toy <run>")
    assert p.returncode == 0, p.stderr
    assert "Toy &lt;run&gt;" in (tmp_path / "rep" / "report.html").read_text()
    bad = tmp_path / "bad.csv"
    bad.write_text("suite,model,query,eps,engine,status,seconds\nt,toy,0,1,auto,holds,slow\n")
    p = run("report", bad, "--out", tmp_path / "rep2")
    assert p.returncode == 2 and p.stderr.strip() == f"bvverify: error: {bad}:2: column 7 (seconds): 'slow' is not a number"
    assert not (tmp_path / "rep2").exists()


def test_run_instances_report_names_files_not_paths(tmp_path):
    from tests.reports.fixtures import run_instances_csv

    path = run_instances_csv(tmp_path / "batch")
    text = path.read_text().replace("m.bvq,p", f"{tmp_path}/models/m.bvq,{tmp_path}/specs/p")
    path.write_text(text)
    r = build_report([path])
    (p,) = r.pictures
    assert p.caption.startswith("m.bvq, p2.vnnlib, auto: predicted class 0")
    html = write_report(r, tmp_path / "out")["html"].read_text()
    assert f'title="{tmp_path}/specs/p3.vnnlib">p3.vnnlib</td>' in html  # the full path stays on hover


def test_crosscheck_kinds_and_its_own_evidence_picture(tmp_path):
    from tests.reports.fixtures import crosscheck_csv

    r = build_report([crosscheck_csv(tmp_path / "a")])
    assert r.kinds == {"agree": 1, "open-here": 1, "misclassified": 1, "they-holds-we-witness": 1}
    assert [c.engine for c in r.counts] == ["published: t", "bvverify"]
    (p,) = r.pictures  # no PNG among the evidence: drawn from the witness file (a 4x4 image)
    assert "[they-holds-we-witness]" in p.caption and p.png.startswith(PNG)
    mark = PNG + b"their own picture"
    (p,) = build_report([crosscheck_csv(tmp_path / "b", png=mark)]).pictures
    assert p.png == mark and p.caption == "P, sample 3, eps 4: they-holds-we-witness (bvverify's witness)"
    html = write_report(build_report([crosscheck_csv(tmp_path / "c")]), tmp_path / "out")["html"].read_text()
    assert "Cross-check: their verdicts against ours" in html and "<td class=\"l\">they-holds-we-witness</td>" in html
