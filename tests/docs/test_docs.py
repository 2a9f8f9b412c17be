"""Docs stay true: the CLI reference matches the commands' --help, the benchmarks page the
results in bench/results/."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _gen(name: str = "gen_cli"):
    spec = importlib.util.spec_from_file_location(name, DOCS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_cli_reference_is_generated_from_help():
    gen = _gen()
    assert (DOCS / "cli.md").read_text() == gen.render(), (
        "docs/cli.md is out of date: run `python docs/gen_cli.py`")
    for name in gen.commands():
        assert f"## nas {name}" in (DOCS / "cli.md").read_text()


def test_benchmarks_page_is_generated_from_the_results():
    gen = _gen("gen_benchmarks")
    text = (DOCS / "benchmarks.md").read_text()
    assert text == gen.render(), (
        "docs/benchmarks.md is out of date: run `python docs/gen_benchmarks.py`")
    for name, results in gen.sections():
        for line in results.splitlines():
            if line.startswith("|"):  # every table row of every result, verbatim
                assert line in text, f"{name}: {line}"


def test_demote_leaves_code_alone():
    gen = _gen("gen_benchmarks")
    assert gen.demote("# A\n```\n# not a heading\n```\n## B") == \
        "## A\n```\n# not a heading\n```\n### B"
