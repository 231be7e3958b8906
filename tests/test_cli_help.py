"""``sc2sim --help`` and every command's help: paragraphs flow to the terminal's width."""

from __future__ import annotations

import pytest
from conftest import cli

from sc2sim.cli import _command, _register_all


def _commands():
    _register_all()
    return sorted(_command().commands.items())


@pytest.mark.parametrize("name", [n for n, _ in _commands()])
def test_every_help_paragraph_is_one_line_for_the_printer_to_wrap(name: str) -> None:
    cmd = dict(_commands())[name]
    assert cmd.help, f"`sc2sim {name}` has no help text"
    for para in cmd.help.split("\n\n"):
        assert "\n" not in para.strip(), f"`sc2sim {name} --help`: a paragraph keeps a line break: {para[:80]!r}"


def test_help_prints_and_exits_0(capsys) -> None:
    assert cli("predict", "--help") == 0
    out = capsys.readouterr().out
    assert "launch (GPU: kernels x launch cost" in " ".join(out.split())
