"""``bvverify overflow`` takes the region from a VNN-LIB file that has only an input box
(it used to refuse one for lacking an output condition, which it never uses)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def run(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bvverify", *map(str, args)], capture_output=True, text=True, timeout=600)


def input_box(path: Path, n: int, lo: float, hi: float) -> Path:
    lines = [f"(declare-const X_{i} Real)" for i in range(n)]
    lines += [f"(assert (>= X_{i} {lo}))\n(assert (<= X_{i} {hi}))" for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_overflow_accepts_an_input_only_property(tmp_path: Path) -> None:
    prop = input_box(tmp_path / "box.vnnlib", 64, 0.0, 0.5)
    res = run("overflow", "digits-mlp", prop, "--json")
    assert res.returncode == 0, res.stderr
    layers = json.loads(res.stdout)["layers"]
    assert [d["overflow"] for d in layers] == ["no", "no", "no"]
    # a box is smaller than the whole domain: its accumulator bounds are inside the domain's
    whole = json.loads(run("overflow", "digits-mlp", "--json").stdout)["layers"]
    for box, dom in zip(layers, whole):
        assert dom["acc_min_bound"] <= box["acc_min_bound"] <= box["acc_max_bound"] <= dom["acc_max_bound"]


def test_verify_still_needs_an_output_condition(tmp_path: Path) -> None:
    prop = input_box(tmp_path / "box.vnnlib", 64, 0.0, 0.5)
    res = run("verify", "digits-mlp", prop)
    assert res.returncode == 2 and "no output constraint" in res.stderr
