"""Bound propagation through the exact integer semantics (round, clip, pooling, add)."""
