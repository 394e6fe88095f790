"""A bug is not bad input: internal errors (a counterexample that does not replay, any exception
escaping the library) exit with their own code and say what to report; bad input stays one line, exit 2."""

from __future__ import annotations

import sys

import pytest

from bvverify.cli import main
from bvverify.engines.base import ReplayError
from bvverify.errors import INTERNAL_EXIT


def run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["bvverify", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    return int(exc.value.code or 0)


def broken(message: str, kind: type[Exception]):
    def engine(*_a, **_k):
        raise kind(message)
    return engine


def test_failed_replay_is_reported_as_a_bug(monkeypatch, capsys) -> None:
    import bvverify.engines.registry as registry

    monkeypatch.setattr(registry, "verify", broken("the counterexample does not replay", ReplayError))
    code = run_main(monkeypatch, "robust", "digits-mlp", "--index", "0", "--eps", "1")
    err = capsys.readouterr().err
    assert code == INTERNAL_EXIT != 2
    assert "internal error (a bug in bvverify, not in your input)" in err and "does not replay" in err
    assert "Please report it with" in err and "Traceback" not in err


def test_unexpected_exception_is_a_bug_with_its_traceback(monkeypatch, capsys) -> None:
    import bvverify.engines.registry as registry

    monkeypatch.setattr(registry, "verify", broken("list index out of range", IndexError))
    code = run_main(monkeypatch, "robust", "digits-mlp", "--index", "0", "--eps", "1")
    err = capsys.readouterr().err
    assert code == INTERNAL_EXIT
    assert "Traceback" in err and "IndexError: list index out of range" in err and "Please report it" in err


def test_bad_input_stays_one_line_exit_2(monkeypatch, capsys, tmp_path) -> None:
    bad = tmp_path / "p.vnnlib"
    bad.write_text("(declare-const X_0 Real)\n(assert (<= X_0 oops))\n")
    code = run_main(monkeypatch, "verify", "digits-mlp", str(bad))
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert code == 2 and len(err) == 1 and err[0].startswith("bvverify: error:") and "p.vnnlib" in err[0]


@pytest.mark.parametrize("args, words", [
    (("--engine", "bv", "--solver", "cpsat"), "--solver cpsat applies to --engine ilp and auto only"),
    (("--solver", "glpk"), "unknown ILP solver"),
    (("--bounds", "zonotope"), "--bounds 'zonotope'"),
    (("--engine", "magic"), "unknown verification engine"),
])
def test_engine_options_are_checked_once_at_the_boundary(monkeypatch, capsys, args, words) -> None:
    code = run_main(monkeypatch, "robust", "digits-mlp", "--index", "0", *args)
    err = capsys.readouterr().err
    assert code == 2 and words in err, err
