"""The deployment CPU as part of the model: torch against the interpreter per target path.

fbgemm reads ``FBGEMM_ENABLE_INSTRUCTIONS`` and ATen ``ATEN_CPU_CAPABILITY`` once per process,
so another target's path runs in a fresh process. A VNNI host runs the torch comparisons a
second time on the AVX2 path that way; an AVX2 host already runs them there in the main run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import bvverify  # noqa: E402
from bvverify.importers import torch_check  # noqa: E402
from bvverify.importers.torch_check import RuntimeMismatchError, require_agreement, self_check  # noqa: E402
from bvverify.runtimes.target import host, natural, parse  # noqa: E402
from bvverify.testing.strategies.torch_models import SAT_INPUT, saturating_linear  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parents[2]
HOST = host()
FORCED_AVX2 = {"FBGEMM_ENABLE_INSTRUCTIONS": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}


def _torch_in_process(code: str, env: dict[str, str]) -> dict:
    """Run ``code`` (which prints one JSON line) in a fresh interpreter with ``env``."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=600,
                          env={**os.environ, **env, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_fbgemm_variable_really_switches_and_targets_model_it() -> None:
    """FBGEMM_ENABLE_INSTRUCTIONS=AVX2 in a fresh process makes torch saturate (33, not 65); the
    interpreter gives the same integers for the avx2 target and the exact ones for avx512-vnni."""
    code = ("import json, numpy as np, torch, warnings; warnings.filterwarnings('ignore');"
            "from bvverify.testing.strategies.torch_models import saturating_linear, SAT_INPUT;"
            "from bvverify.runtimes.target import host;"
            "torch.backends.quantized.engine = 'fbgemm';"
            "y = saturating_linear()(torch.from_numpy(SAT_INPUT)).numpy() / 1000.0;"
            "print(json.dumps({'host': host().name, 'codes': np.rint(y).astype(int).tolist()}))")
    forced = _torch_in_process(code, FORCED_AVX2)
    assert parse(forced["host"]).pair_saturation
    assert forced["codes"][0][0] == 33  # saturated: 32767 / 1000
    model = saturating_linear()
    for target, first in (("avx2", 33), ("avx512-vnni", 65)):
        net = bvverify.from_torch(model, SAT_INPUT[:1], engine="fbgemm", target=target, check=0)
        codes = net.evaluate(SAT_INPUT)
        assert codes[0, 0] == first
        if target == "avx2":
            assert codes.tolist() == forced["codes"]


def test_self_check_passes_for_the_host_and_names_the_layer_for_a_wrong_target() -> None:
    """Import for the host: the self-check runs and agrees. A model imported for the wrong target
    (the injected semantic bug) is refused with the first layer that differs named."""
    model = saturating_linear()
    net = bvverify.from_torch(model, SAT_INPUT[:1], engine="fbgemm")  # the on-import check runs here
    assert net.meta["target"] == HOST.name
    traced = torch.jit.trace(model, torch.from_numpy(SAT_INPUT[:1]))
    report = self_check(traced, net, 500)
    assert report.ok and report.outputs == 1000 and report.inputs == 500
    wrong = "avx512-vnni" if HOST.pair_saturation else "avx512-vnni,fbgemm=avx2"
    bad = bvverify.from_torch(model, SAT_INPUT[:1], engine="fbgemm", target=wrong, check=0)
    report = self_check(traced, bad, 500)
    assert not report.ok and report.mismatches > 0
    with pytest.raises(RuntimeMismatchError, match=r"from layer lin \(quantized::linear in lin\)"):
        require_agreement(report, "Saturating")


def test_import_refuses_when_torch_disagrees(monkeypatch: pytest.MonkeyPatch) -> None:
    """The on-import check fires by itself: with the importer believing the host is the other
    fbgemm path, importing the saturating model is a clear error, never a model."""
    from bvverify.importers import torch as torch_importer

    other = parse("avx512-vnni,fbgemm=avx2") if not HOST.pair_saturation else natural(HOST.cpu)
    if other == HOST:
        pytest.skip("this CPU has only the one fbgemm path")
    from bvverify.runtimes import target as target_module

    monkeypatch.setattr(target_module, "host", lambda: other)  # what "host" resolves to
    monkeypatch.setattr(torch_importer, "host", lambda: other)  # what the importer checks against
    with pytest.raises(RuntimeMismatchError, match="disagrees with torch on this machine"):
        bvverify.from_torch(saturating_linear(), SAT_INPUT[:1], engine="fbgemm")


@pytest.mark.skipif(HOST.pair_saturation, reason="the host already runs fbgemm's AVX2 path in the main run")
def test_torch_comparisons_on_the_forced_avx2_path() -> None:
    """The torch equivalence and enumeration suites again, in a process whose torch runs fbgemm's
    AVX2 kernels and ATen's AVX2 vector width, on this VNNI machine; the generated MLPs must really
    saturate pairs there (test_pair_saturation_is_exercised)."""
    tests = ["tests/importers/test_torch_equivalence.py", "tests/engines/test_bv_torch.py"]
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", *tests],
                          capture_output=True, text=True, cwd=ROOT, timeout=1200, env={**os.environ, **FORCED_AVX2})
    tail = proc.stdout[-3000:]
    assert proc.returncode == 0, tail
    assert "PASSED tests/importers/test_torch_equivalence.py::test_pair_saturation_is_exercised[fbgemm]" in proc.stdout
    assert "PASSED tests/importers/test_torch_equivalence.py::test_pair_saturation_is_exercised[x86]" in proc.stdout
    print(tail.splitlines()[-1])


def test_inspect_check_reports_counts_per_layer(tmp_path: Path) -> None:
    """`inspect MODEL --check N` on a TorchScript file: counts per layer, exit 0 when all agree."""
    from typer.testing import CliRunner

    from bvverify.cli import app

    path = tmp_path / "sat.pt"
    torch.jit.save(torch.jit.trace(saturating_linear(), torch.from_numpy(SAT_INPUT[:1])), str(path))
    res = CliRunner().invoke(app, ["inspect", str(path), "--qengine", "fbgemm", "--check", "300", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["target"] == HOST.name and doc["check"]["ok"] and doc["check"]["inputs"] == 300
    assert [layer["mismatches"] for layer in doc["check"]["layers"]] == [0, 0]
    assert any("fbgemm" in rule for rule in doc["target_rules"])


def test_check_inputs_cover_corners_and_ties() -> None:
    net = bvverify.from_torch(saturating_linear(), SAT_INPUT[:1], engine="fbgemm", check=0)
    x = torch_check.check_inputs(net, 400)
    codes = net.quantize_input(x)
    assert codes.min() == 0 and codes.max() == 255 and (codes == 255).all(axis=1).any()
    assert np.any(np.abs(x - np.round(x)) == 0.5)  # exact half-code ties of the input quantizer
