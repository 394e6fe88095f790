"""scripts/bench/qvip_table2.py on a few MNIST queries of QVIP Table 2.

Benchmark data: ``$BVVERIFY_BENCHMARKS`` or ``<repo>/../shared/benchmarks``; skipped when absent.
Runs the bounds and bv engines on 12 (query, engine) pairs (about 30 s), then resumes the file.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "bench" / "qvip_table2.py"
BENCH = Path(os.environ["BVVERIFY_BENCHMARKS"]) if "BVVERIFY_BENCHMARKS" in os.environ else ROOT / ".." / "shared" / "benchmarks"
BLOCKS = ((0, 1), (100, 2), (200, 3))  # first sample, eps: the MNIST blocks the test runs


@pytest.fixture(scope="module")
def qvip() -> ModuleType:
    if not (BENCH / "qvip22_data").is_dir():
        pytest.skip(f"benchmark data not found at {BENCH} (set BVVERIFY_BENCHMARKS)")
    spec = importlib.util.spec_from_file_location("qvip_table2", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def test_mnist_queries_and_resume(qvip: ModuleType, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    args = ["--benchmarks", str(BENCH), "--engines", "bounds,bv", "--limit", "2", "--timeout", "20", "--suite", "mnist",
            "--eps", ",".join(str(e) for _, e in BLOCKS), "--out", str(out)]
    summary = qvip.main(args)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    expected = {(i, eps, engine) for first, eps in BLOCKS for i in (first, first + 1) for engine in ("bounds", "bv")}
    assert sorted((r["sample"], r["eps"], r["engine"]) for r in records) == sorted(expected)
    for r in records:
        assert r["suite"] == "mnist" and r["timeout"] == 20
        assert r["status"] in ("holds", "violated", "unknown", "misclassified")
        assert (r["status"] == "misclassified") == (r["pred"] != r["label"])
        assert r["seconds"] >= 0
        assert r["qvip"] in ("holds", "violated", "NA")
        assert r["aaai21"] in ("holds", "violated", "timeout", "misclassified")
        if r["status"] == "violated":
            assert len(r["cex_codes"]) == 784 and all(0 <= c <= 255 for c in r["cex_codes"])
            assert "interpreter" in r["replayed_by"]
    assert summary["conflicts"] == [] and summary["replay_failures"] == [] and summary["errors"] == []
    assert sum(b["queries"] for b in summary["blocks"]) == len(records)

    again = qvip.main([*args, "--resume", "--json"])
    assert again["ran"] == 0 and again["resumed"] == len(records)
    assert again["blocks"] == summary["blocks"] and again["published"] == summary["published"]


def test_refuses_to_mix_runs_and_missing_data(qvip: ModuleType, tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    out.write_text('{"suite": "mnist"}\n')
    with pytest.raises(SystemExit, match="--resume"):
        qvip.main(["--benchmarks", str(BENCH), "--engines", "bounds", "--out", str(out)])
    with pytest.raises(SystemExit, match="benchmark data not found"):
        qvip.main(["--benchmarks", str(tmp_path), "--out", str(out)])
