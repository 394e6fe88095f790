"""onnxruntime's int8 arithmetic is modelled for CPUs with VNNI / AMX only (docs/onnx.md, Target):
on other hosts the ONNX import refuses, so tests that import an ONNX model skip there."""

from __future__ import annotations

import pytest

from bvverify.errors import UnsupportedOpError


def ort_host_refusal() -> str | None:
    """Why this host cannot import ONNX models (None: it can)."""
    from bvverify.importers.onnx_target import ort_target

    try:
        ort_target()
    except UnsupportedOpError as e:
        return str(e)
    return None


def skip_module_unless_ort_host() -> None:
    why = ort_host_refusal()
    if why is not None:
        pytest.skip(why, allow_module_level=True)


needs_ort_host = pytest.mark.skipif(ort_host_refusal() is not None, reason="this CPU has no VNNI / AMX: the ONNX "
                                    "import refuses it (test_cpu_without_vnni_refused checks the refusal)")
