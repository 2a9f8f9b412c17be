"""Write docs/cli.md from the `nas` command's own --help texts.

    python docs/gen_cli.py          # rewrite docs/cli.md
    python docs/gen_cli.py --check  # exit 1 when docs/cli.md is out of date (used by a test)
"""

from __future__ import annotations

import sys
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app

OUT = Path(__file__).with_name("cli.md")


def commands() -> list[str]:
    import typer.main

    group = typer.main.get_command(app)
    names = []
    for name, command in sorted(group.commands.items()):  # a group's commands too
        names += [name, *(f"{name} {sub}" for sub in sorted(getattr(command, "commands", {})))]
    return names


def render() -> str:
    runner = CliRunner()
    parts = ["# The `nas` command line", "",
             "Generated from the commands' own `--help` by `python docs/gen_cli.py`; a test "
             "keeps it in sync.", ""]
    top = runner.invoke(app, ["--help"], terminal_width=100, env={"COLUMNS": "100"})
    parts += ["```text", "$ nas --help", top.output.rstrip(), "```", ""]
    for name in commands():
        res = runner.invoke(app, [*name.split(), "--help"], terminal_width=100,
                            env={"COLUMNS": "100"})
        parts += [f"## nas {name}", "", "```text", f"$ nas {name} --help", res.output.rstrip(),
                  "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv:
        sys.exit(0 if OUT.exists() and OUT.read_text() == text else 1)
    OUT.write_text(text)
    print(f"wrote {OUT}")
