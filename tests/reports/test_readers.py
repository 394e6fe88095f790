"""Each result format read into records, and every unreadable file refused with file, line and column."""

from __future__ import annotations

import json

import pytest

from bvverify.reports.readers import ReportInputError, read_all, read_results
from tests.reports.fixtures import SUITE_HEADER, crosscheck_csv, radius_json, robust_json, run_instances_csv, suite_csv


def test_suite_csv_rows_statuses_and_witness(tmp_path):
    data = read_results(suite_csv(tmp_path))
    assert data.files == [(str(tmp_path / "t.csv"), "suite", 5)]
    got = [(q.engine, q.query, q.status) for q in data.queries]
    assert got == [("auto", "0", "holds"), ("auto", "1", "violated"), ("auto", "2", "timeout"), ("bounds", "0", "holds"),
                   ("bounds", "1", "unknown")]
    w = data.queries[1].witness
    assert w is not None and w.input == (0.25,) * 16 and w.output == (1.0, 3.0, 2.0) and w.sample == 1 and w.eps == 1.0
    assert data.queries[1].source == f"{tmp_path / 't.csv'}:3" and data.queries[1].extra["decided_by"] == "attack"


def test_suite_csv_before_decided_by_is_read(tmp_path):
    old = SUITE_HEADER.rsplit(",", 1)[0]
    path = suite_csv(tmp_path, ["t,toy,0,1,auto,holds,0.5,0,20,,,,,"], header=old)
    assert [q.status for q in read_results(path).queries] == ["holds"]


def test_robust_json(tmp_path):
    data = read_results(robust_json(tmp_path))
    assert [(q.query, q.eps, q.status) for q in data.queries] == [("0", "1", "holds"), ("1", "1", "violated"),
                                                                   ("2", "2", "timeout")]
    w = data.queries[1].witness
    assert w.codes == (64,) * 16 and w.output == (1.0, 9.0, 3.0) and w.label == 0 and w.sample == 1 and w.data == "d.npz"


def test_radius_json_radii_and_solved_steps(tmp_path):
    data = read_results(radius_json(tmp_path))
    assert [(r.index, r.radius, r.refuted_at, r.exact) for r in data.radii] == [(0, 2, 3, True), (1, 1, 4, False)]
    # eps 0 (clean) is not a solve; the reused eps 3 is kept because it carries the witness
    steps = [(q.query, q.eps, q.status, q.witness is not None) for q in data.queries]
    assert steps == [("0", "1", "holds", False), ("0", "2", "holds", False), ("0", "4", "violated", False),
                     ("0", "3", "violated", True), ("1", "1", "holds", False), ("1", "2", "unknown", False),
                     ("1", "3", "unknown", False), ("1", "4", "violated", False)]


def test_run_instances_summary(tmp_path):
    data = read_results(run_instances_csv(tmp_path / "batch"))
    assert data.files[0][1] == "run-instances"
    assert [(q.query, q.status, q.seconds) for q in data.queries] == [
        ("p1.vnnlib", "holds", 0.4), ("p2.vnnlib", "violated", 0.05), ("p3.vnnlib", "timeout", 10.0),
        ("p4.vnnlib", "pending", None)]
    assert data.queries[1].witness.input == (0.5,) * 16 and data.queries[1].witness.output == (2.0, 1.0)
    (tmp_path / "batch" / "m__p2.txt").unlink()
    with pytest.raises(ReportInputError, match=r"summary\.csv:3: column 1 \(name\): 'm__p2': its result file .* is missing"):
        read_results(tmp_path / "batch" / "summary.csv")


def test_crosscheck_table_two_verdicts_per_query(tmp_path):
    data = read_results(crosscheck_csv(tmp_path))
    assert data.files[0][1] == "crosscheck"
    got = [(q.engine, q.query, q.status, q.seconds, q.extra["kind"]) for q in data.queries]
    assert got == [("published: t", "0", "holds", None, "agree"), ("bvverify", "0", "holds", 0.5, "agree"),
                   ("published: t", "1", "violated", None, "open-here"), ("bvverify", "1", "timeout", 10.005, "open-here"),
                   ("published: t", "2", "unknown", None, "misclassified"),
                   ("bvverify", "2", "misclassified", None, "misclassified"),
                   ("published: t", "3", "holds", None, "they-holds-we-witness"),
                   ("bvverify", "3", "violated", 0.1, "they-holds-we-witness")]
    ours = data.queries[-1]
    assert ours.witness is not None and ours.witness.input == (0.0,) * 16 and data.queries[-2].witness is None
    (tmp_path / "evidence" / "t_P_3_4.json").unlink()
    with pytest.raises(ReportInputError, match=r"crosscheck\.csv:5: column 13 \(evidence\): 't_P_3_4\.json': no such file"):
        read_results(tmp_path / "crosscheck.csv")


def test_several_files_in_order(tmp_path):
    data = read_all([suite_csv(tmp_path), robust_json(tmp_path), radius_json(tmp_path)])
    assert [f for _, f, _ in data.files] == ["suite", "robust", "radius"] and len(data.radii) == 2


def bad_suite(tmp_path, row):
    return suite_csv(tmp_path, [row])


@pytest.mark.parametrize("row, message", [
    ("t,toy,0,1,auto,safe,0.5,0,20,,,,,,", ":2: column 6 (status): 'safe' is not a verdict"),
    ("t,toy,0,1,auto,holds,fast,0,20,,,,,,", ":2: column 7 (seconds): 'fast' is not a number"),
    ("t,toy,0,1,auto,violated,0.1,0,20,,,,nowhere.txt,,", ":2: column 13 (cex_file): 'nowhere.txt': no such file"),
    ("t,toy,0,1,auto,holds", ":2: 6 fields, the header has 15"),
])
def test_suite_row_errors_name_line_and_column(tmp_path, row, message):
    with pytest.raises(ReportInputError) as e:
        read_results(bad_suite(tmp_path, row))
    assert str(e.value).startswith(str(tmp_path / "t.csv")) and message in str(e.value)


def test_unknown_csv_header(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(ReportInputError, match=r"x\.csv:1: header 'a,b,c' is not a result format .*suite: suite, model"):
        read_results(p)


def test_bad_witness_file(tmp_path):
    path = suite_csv(tmp_path)
    (tmp_path / "t-witness" / "w.txt").write_text("sat\n((X_0 0.5)\n (X_2 zero))\n")
    with pytest.raises(ReportInputError, match=r"w\.txt:3: X_2 = 'zero' is not a number"):
        read_results(path)
    (tmp_path / "t-witness" / "w.txt").write_text("sat\n((X_0 0.5)\n (X_2 0.5))\n")
    with pytest.raises(ReportInputError, match=r"w\.txt: X_1 is missing"):
        read_results(path)
    (tmp_path / "t-witness" / "w.txt").write_text("maybe\n")
    with pytest.raises(ReportInputError, match=r"w\.txt:1: 'maybe' is not a VNN-COMP result word"):
        read_results(path)


def test_json_errors(tmp_path):
    p = tmp_path / "r.json"
    p.write_text('{"model": "m",\n "results": [1,,]}')
    with pytest.raises(ReportInputError, match=r"r\.json:2: column 16: not valid JSON"):
        read_results(p)
    doc = json.loads(robust_json(tmp_path).read_text())
    doc["results"][1]["status"] = "safe"
    p.write_text(json.dumps(doc))
    with pytest.raises(ReportInputError, match=r"r\.json: field results\[1\]\.status: 'safe' is not a verdict"):
        read_results(p)
    del doc["results"][0]["seconds"]
    p.write_text(json.dumps(doc))
    with pytest.raises(ReportInputError, match=r"r\.json: field results\[0\]\.seconds is missing"):
        read_results(p)
    p.write_text('{"status": "holds"}')
    with pytest.raises(ReportInputError, match=r"r\.json:1: column 1: a JSON document .* is none of radius, robust"):
        read_results(p)


def test_missing_empty_and_binary_files(tmp_path):
    with pytest.raises(ReportInputError, match="no such file"):
        read_results(tmp_path / "none.csv")
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(ReportInputError, match="e.csv: the file is empty"):
        read_results(tmp_path / "e.csv")
    (tmp_path / "b.csv").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ReportInputError, match="b.csv: byte 0: not a UTF-8 text file"):
        read_results(tmp_path / "b.csv")
    with pytest.raises(ReportInputError, match="a folder"):
        read_results(tmp_path)


def test_readers_follow_the_writers_columns(tmp_path):
    """The suite's and the batch's own column lists (not copies) are recognised, so a writer that renames a
    column the report needs fails here."""
    import importlib.util
    from pathlib import Path

    from bvverify.reports.formats_csv import BATCH_COLUMNS, CROSSCHECK_COLUMNS, SUITE_COLUMNS

    spec = importlib.util.spec_from_file_location("suite_csv", Path(__file__).parents[2] / "scripts" / "bench" / "suite_csv.py")
    suite_csv_mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(suite_csv_mod)
    assert set(SUITE_COLUMNS) <= set(suite_csv_mod.COLUMNS)
    if hasattr(suite_csv_mod, "KEPT"):  # the committed "kept" results files (docs/results/) have our columns only
        assert set(SUITE_COLUMNS) <= set(suite_csv_mod.KEPT)
    batch = pytest.importorskip("bvverify.batch.summary")
    assert set(BATCH_COLUMNS) <= set(batch.COLUMNS)
    crosscheck = pytest.importorskip("bvverify.crosscheck.run")
    assert set(CROSSCHECK_COLUMNS) <= set(crosscheck.FIELDS)
