"""Importer of the native single-file format (``ir.serialize``, written by ``QNetwork.save``)."""

from __future__ import annotations

from pathlib import Path

from bvverify.ir import serialize
from bvverify.ir.graph import QNetwork
from bvverify.ir.serialize import is_native, save


def load(path: str | Path) -> QNetwork:
    """A native model file as a validated ``QNetwork``; errors name the file."""
    return serialize.load(path, QNetwork)


__all__ = ["is_native", "load", "save"]
