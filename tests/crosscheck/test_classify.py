"""The agreement table's classification of (their verdict, their witness, our verdict)."""

from __future__ import annotations

import pytest

from bvverify.crosscheck import classify as k


@pytest.mark.parametrize("theirs, replays, ours, kind", [
    ("holds", None, "holds", k.AGREE),
    ("violated", None, "violated", k.AGREE),
    ("violated", True, "unknown", k.AGREE),  # their witness replays: decided whatever our budget found
    ("violated", True, "violated", k.AGREE),
    ("holds", None, "violated", k.HOLDS_BUT_WITNESS),
    ("violated", False, "violated", k.WITNESS_FAILS),
    ("violated", False, "holds", k.WITNESS_FAILS),
    ("violated", None, "holds", k.VIOLATED_BUT_PROVED),
    ("none", None, "holds", k.RESOLVED),
    ("none", None, "violated", k.RESOLVED),
    ("holds", None, "unknown", k.OPEN),
    ("violated", None, "unknown", k.OPEN),
    ("none", None, "unknown", k.NEITHER),
])
def test_classify(theirs: str, replays: bool | None, ours: str, kind: str) -> None:
    assert k.classify(theirs, replays, ours) == kind


def test_every_kind_has_a_meaning() -> None:
    assert set(k.MEANING) == set(k.KINDS) and set(k.CONTRADICTIONS) < set(k.KINDS)


def test_witness_picture_skipped_without_matplotlib(tmp_path, monkeypatch):
    """matplotlib is optional for crosscheck: no picture (False, no file), never an error row."""
    import sys

    import numpy as np

    from bvverify.crosscheck.evidence import write_png

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    x = np.zeros((1, 28, 28))
    assert write_png(tmp_path / "w.png", x, x, "t") is False and not (tmp_path / "w.png").exists()
