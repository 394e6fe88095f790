"""What a new user tripped over on the command line, each found by trying it: every one is now a
one-line error with exit code 2 (or the right output), never a traceback, a silent no-op or a
'proof' of nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bvverify.ir import ops
from bvverify.ir.graph import QNetwork


def run(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bvverify", *map(str, args)], capture_output=True, text=True, timeout=600)


def one_line_error(res: subprocess.CompletedProcess, words: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stdout[-500:], res.stderr[-500:])
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("bvverify: error:") and words in lines[0], res.stderr


def test_reversed_or_empty_index_range_is_an_error() -> None:
    one_line_error(run("robust", "digits-mlp", "--index", "5-2"), "empty range")


@pytest.mark.parametrize("value", ["0", "-3", "nan", "inf"])
def test_timeout_must_be_positive_and_finite(value: str) -> None:
    one_line_error(run("robust", "digits-mlp", "--index", "0", "--timeout", value), "positive number of seconds")


def test_bad_data_files_are_one_line_errors(tmp_path: Path) -> None:
    np.save(tmp_path / "empty.npy", np.zeros((0, 64)))
    one_line_error(run("robust", "digits-mlp", "--data", tmp_path / "empty.npy", "--label", "1"), "no samples")
    np.savez(tmp_path / "bad.npz", x=np.zeros((3, 64)), y=np.zeros(2, np.int64))
    one_line_error(run("robust", "digits-mlp", "--data", tmp_path / "bad.npz"), "3 samples in 'x' but 2 labels")


def test_options_that_do_not_apply_are_errors() -> None:
    one_line_error(run("robust", "digits-mlp", "--index", "0", "--engine", "bv", "--solver", "highs"),
                   "--engine ilp and auto only")
    one_line_error(run("robust", "digits-mlp", "--index", "0", "--clip", "0,1"), "--eps-unit float only")


def test_float_ball_on_an_integer_input_network_is_refused(tmp_path: Path) -> None:
    """It used to shrink the ball to its centre and report that as a proof."""
    net = QNetwork(ops.InputSpec((2,), 0, 15),
                   (ops.Dense("d", ("input",), np.array([[1, -1], [-1, 1]]), np.zeros(2, np.int64), 0),),
                   ops.OutputSpec("d"))
    net.save(tmp_path / "int.bvq")
    np.save(tmp_path / "x.npy", np.array([[9.0, 3.0]]))
    one_line_error(run("robust", tmp_path / "int.bvq", "--data", tmp_path / "x.npy", "--label", "0", "--eps-unit", "float",
                       "--eps", "0.5"), "integer input codes")


def test_result_file_folder_is_checked_before_solving(tmp_path: Path) -> None:
    one_line_error(run("robust", "digits-mlp", "--index", "0", "--result-file", tmp_path / "missing" / "r.txt"),
                   "does not exist")


def test_misclassified_clean_input_writes_its_result_file(tmp_path: Path) -> None:
    """A clean input that is already misclassified is `violated`: the result file says sat, with the input."""
    res = run("robust", "digits-mlp", "--index", "0", "--label", "9", "--result-file", tmp_path / "r.txt")
    assert res.returncode == 1, res.stderr
    text = (tmp_path / "r.txt").read_text()
    assert text.startswith("sat\n") and "(X_63 " in text and "(Y_9 " in text


def test_progress_goes_to_stderr_and_piped_tables_do_not_wrap() -> None:
    res = run("robust", "digits-mlp", "--index", "0-1", "--timeout", "30")
    assert res.returncode in (0, 3), res.stderr
    assert "#0 eps 1:" in res.stderr and "#0 eps 1:" not in res.stdout
    rows = [ln.split("\t") for ln in res.stdout.splitlines() if "\t" in ln]
    assert rows[0] == ["index", "label", "eps", "verdict", "seconds", "note"] and len(rows) == 3


def test_eval_writes_the_name_it_reports(tmp_path: Path) -> None:
    res = run("eval", "digits-mlp", "--out", tmp_path / "codes")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "codes").exists() and not (tmp_path / "codes.npy").exists()
    assert np.load(tmp_path / "codes").shape[1] == 10


def test_version() -> None:
    res = run("--version")
    assert res.returncode == 0 and res.stdout.startswith("bvverify ")
