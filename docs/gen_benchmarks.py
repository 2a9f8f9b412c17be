"""Write docs/benchmarks.md from the tables the benchmarks save in bench/results/*.md.

    python docs/gen_benchmarks.py          # rewrite docs/benchmarks.md
    python docs/gen_benchmarks.py --check  # exit 1 when docs/benchmarks.md is out of date

Each results file becomes a section (its headings one level down) with the command that
reruns it; a benchmark's own text says what it measured, on what machine and when.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
OUT = Path(__file__).with_name("benchmarks.md")

INTRO = """\
# Benchmarks

Generated from `bench/results/*.md` by `python docs/gen_benchmarks.py`; a test keeps
it in sync. Every benchmark lives in `bench/`, prints its table and saves it (Markdown
and JSON) under `bench/results/`; the numbers below are from the runs recorded there,
with the machine and date each one states. Rerun one with the command under its title
(most take `--quick` for a smoke run), then regenerate this page.
"""


def sections() -> list[tuple[str, str]]:
    """(benchmark name, Markdown text) for every results file, sorted by name."""
    return [(path.stem, path.read_text()) for path in sorted(RESULTS.glob("*.md"))]


def demote(text: str) -> str:
    """Every Markdown heading one level down (outside code blocks)."""
    out, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        out.append("#" + line if not fenced and re.match(r"#{1,5} ", line) else line)
    return "\n".join(out)


def render() -> str:
    parts = [INTRO]
    names = sections()
    parts.append("Contents: " + ", ".join(f"[{name}](#{name.replace('_', '-')})"
                                         for name, _ in names) + ".\n")
    for name, text in names:
        script = ROOT / "bench" / f"{name}.py"
        run = (f"`python bench/{name}.py` (`--help` lists its options)" if script.exists()
               else "(no script of this name)")
        body = demote(text.strip())
        if not body.startswith("## "):
            body = f"## {name}\n\n{body}"
        title, _, rest = body.partition("\n")
        parts.append(f'<a id="{name.replace("_", "-")}"></a>\n\n{title}\n\nRerun: {run}\n'
                     f"{rest}\n")
    return "\n".join(parts)


if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv:
        sys.exit(0 if OUT.exists() and OUT.read_text() == text else 1)
    OUT.write_text(text)
    print(f"wrote {OUT}")
