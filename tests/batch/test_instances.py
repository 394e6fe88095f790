"""instances.csv: paths relative to the CSV, header and comments, errors naming file, line, field."""

from __future__ import annotations

import pytest

from bvverify.batch.instances import InstancesError, read_instances
from tests.batch.helpers import SPECS


def test_rows_paths_relative_to_the_csv(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "net.bvq").write_bytes(b"x")
    (tmp_path / "p.vnnlib").write_text("")
    csv = tmp_path / "instances.csv"
    csv.write_text("model,property,timeout\n# a comment\n\nm/net.bvq,p.vnnlib,30\ndigits-mlp, p.vnnlib ,1.5\n")
    rows = read_instances(csv)
    assert [(r.model, r.prop, r.timeout, r.line) for r in rows] == [
        (str((tmp_path / "m" / "net.bvq").resolve()), str((tmp_path / "p.vnnlib").resolve()), 30.0, 4),
        ("digits-mlp", str((tmp_path / "p.vnnlib").resolve()), 1.5, 5)]
    assert rows[0].origin.endswith("instances.csv, line 4")


@pytest.mark.parametrize(("text", "message"), [
    ("a.bvq,p.vnnlib\n", "line 1: 2 fields, expected 3"),
    ("a.bvq,p.vnnlib,soon\n", "line 1, field timeout: 'soon' is not a number"),
    ("# x\na.bvq,p.vnnlib,-1\n", "line 2, field timeout: '-1': expected a positive"),
    ("a.bvq,p.vnnlib,inf\n", "field timeout: 'inf'"),
    (",p.vnnlib,3\n", "line 1, field model: empty"),
    ("# only comments\n", "no instances"),
])
def test_bad_rows_are_named(tmp_path, text, message):
    csv = tmp_path / "instances.csv"
    csv.write_text(text)
    with pytest.raises(InstancesError, match=message) as e:
        read_instances(csv)
    assert str(csv) in str(e.value)


def test_missing_csv(tmp_path):
    with pytest.raises(InstancesError, match="cannot read the instances file"):
        read_instances(tmp_path / "nope.csv")


def test_shipped_instances_read():
    rows = read_instances(SPECS / "instances.csv")
    assert len(rows) >= 10
    assert all(r.timeout > 0 and (SPECS / r.prop).is_file() and (SPECS / r.model).is_file() for r in rows)
