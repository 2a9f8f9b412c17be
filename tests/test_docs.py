"""Docs stay true: the CLI reference matches the commands' --help."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _gen():
    spec = importlib.util.spec_from_file_location("gen_cli", DOCS / "gen_cli.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_cli_reference_is_generated_from_help():
    gen = _gen()
    assert (DOCS / "cli.md").read_text() == gen.render(), (
        "docs/cli.md is out of date: run `python docs/gen_cli.py`")
    for name in gen.commands():
        assert f"## nas {name}" in (DOCS / "cli.md").read_text()
