"""The library raises only its own errors: a ``BvverifyError`` (bad input, exit 2) or an
``InternalError`` (a bug, exit 70), so a caller and the CLI can tell the two apart. A bare
builtin exception or an ``assert`` (stripped under ``python -O``) hides which one it is."""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import bvverify

PACKAGE = Path(bvverify.__file__).parent
BUILTIN_ERRORS = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}
# raised on purpose and caught inside the same function, never escaping (each with where and why)
ALLOWED = {("importers/keras_h5.py", "TypeError"): "_names: caught by the reader, which names file and attribute"}


def offences(tree: ast.AST, rel: str) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            found.append(f"{rel}:{node.lineno}: assert (raise InternalError instead)")
        elif isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name) and exc.id in BUILTIN_ERRORS and (rel, exc.id) not in ALLOWED:
                found.append(f"{rel}:{node.lineno}: raise {exc.id} (raise a BvverifyError subclass instead)")
    return found


def package_offences() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        found += offences(ast.parse(path.read_text(encoding="utf-8")), rel)
    return found


def test_library_raises_only_its_own_errors() -> None:
    assert package_offences() == []


def test_the_check_sees_builtin_raises_and_asserts() -> None:
    src = "def f(x):\n    assert x\n    raise ValueError('bad')\n"
    assert offences(ast.parse(src), "m.py") == ["m.py:2: assert (raise InternalError instead)",
                                                 "m.py:3: raise ValueError (raise a BvverifyError subclass instead)"]
    assert offences(ast.parse("raise SystemExit(1)\nraise KeyError"), "m.py") == [
        "m.py:1: raise SystemExit (raise a BvverifyError subclass instead)",
        "m.py:2: raise KeyError (raise a BvverifyError subclass instead)"]
