"""Help texts that rich would mangle: typer renders help as rich markup, where a bare lowercase
``[word]`` is a tag and vanishes (``pip install 'bvverify[dask]'`` printed as ``'bvverify'``)."""

from __future__ import annotations

import re

import click
import typer.main
from typer.testing import CliRunner

from bvverify.cli.app import app

TAG = re.compile(r"(\\*)\[([a-z#/@][^[]*?)]")  # rich.markup's tag pattern; a backslash before it escapes it


def _commands(cmd: click.Command, path: str = "bvverify"):
    yield path, cmd
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _commands(sub, f"{path} {name}")


def test_no_help_text_has_an_unescaped_markup_tag() -> None:
    bad = []
    for path, cmd in _commands(typer.main.get_command(app)):
        for text in [cmd.help or "", *(getattr(p, "help", None) or "" for p in cmd.params)]:
            bad += [f"{path}: {m.group(0)!r} in {text[:60]!r}" for m in TAG.finditer(text) if not m.group(1)]
    assert not bad, "escape as \\\\[...]:\n" + "\n".join(bad)


def test_run_instances_help_names_the_dask_extra() -> None:
    result = CliRunner().invoke(app, ["run-instances", "--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    assert "pip install 'bvverify[dask]'" in result.output
