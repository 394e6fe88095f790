"""The agreement table: what their verdict and ours say together about one query."""

from __future__ import annotations

AGREE = "agree"
HOLDS_BUT_WITNESS = "they-holds-we-witness"  # they say holds; here is a replayed counterexample
WITNESS_FAILS = "their-witness-fails"  # they say violated, their counterexample does not replay
VIOLATED_BUT_PROVED = "they-violated-we-prove"  # they say violated (no replaying witness); we prove holds
RESOLVED = "resolved"  # they have no answer, we decided
OPEN = "open-here"  # they decided, we did not within the budget
NEITHER = "neither"  # neither side resolved
SKIPPED = "misclassified"  # the clean sample is misclassified: no query (the QVIP / AAAI'21 protocol)
ERROR = "error"
CONTRADICTIONS = (HOLDS_BUT_WITNESS, WITNESS_FAILS, VIOLATED_BUT_PROVED)
KINDS = (AGREE, *CONTRADICTIONS, RESOLVED, OPEN, NEITHER, SKIPPED, ERROR)
MEANING = {
    AGREE: "agree",
    HOLDS_BUT_WITNESS: "they say holds, here is a replayed witness",
    WITNESS_FAILS: "they say violated, their witness does not replay",
    VIOLATED_BUT_PROVED: "they say violated, we prove holds",
    RESOLVED: "resolved here, they have no answer",
    OPEN: "they decided, undecided here within the budget",
    NEITHER: "neither side resolved",
    SKIPPED: "clean sample misclassified (no query)",
    ERROR: "error while checking",
}


def classify(theirs: str, witness_replays: bool | None, ours: str) -> str:
    """``theirs``: holds / violated / none; ``witness_replays``: None when they gave no witness;
    ``ours``: holds / violated / unknown (a violated of ours always has a replayed counterexample)."""
    if witness_replays is False:
        return WITNESS_FAILS
    if theirs == "violated" and witness_replays:
        return AGREE  # their witness is checked: the query is violated whatever we found in our budget
    if theirs == "none":
        return RESOLVED if ours in ("holds", "violated") else NEITHER
    if ours == "unknown":
        return OPEN
    if ours == theirs:
        return AGREE
    return HOLDS_BUT_WITNESS if theirs == "holds" else VIOLATED_BUT_PROVED


__all__ = ["AGREE", "CONTRADICTIONS", "ERROR", "HOLDS_BUT_WITNESS", "KINDS", "MEANING", "NEITHER", "OPEN", "RESOLVED",
           "SKIPPED", "VIOLATED_BUT_PROVED", "WITNESS_FAILS", "classify"]
