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
