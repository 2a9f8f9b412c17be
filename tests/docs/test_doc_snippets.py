"""Every snippet in docs/*.md and README.md is exercised.

- every ```python block runs alone, in a fresh interpreter (tests/docs/fresh_runner.py),
  so a reader can paste any one of them; a page's blocks share one working folder, in
  order, so a block may read a file an earlier one wrote (as the page says);
- ```bash blocks: every `nas ...` command is parsed by the real CLI (the subcommand
  exists, every option exists and takes its value), every `python file.py` names a
  file of the repository; a block under `<!-- doc-test: run -->` is also run, command
  by command, in a fresh folder;
- ```yaml / ```toml blocks are search config files: their keys, task, space, strategy,
  options and budget must all be accepted;
- relative links point at files that exist, and the pages are reachable from the index.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
import typer.main
from typer.exceptions import TyperException  # click's UsageError and friends
from typer.testing import CliRunner

from cli.main import app

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs").glob("*.md"))
README = ROOT / "README.md"
CHECKED = {"python", "bash", "yaml", "toml", "text"}  # text: output and diagrams, not run
FENCE = re.compile(r"(?P<mark><!-- doc-test: (?P<mode>\w+) -->\n)?^(?P<indent>[ \t]*)```"
                   r"(?P<lang>[\w-]*)\n(?P<body>.*?)^(?P=indent)```", re.M | re.S)


@dataclass
class Block:
    page: Path
    line: int
    lang: str
    body: str
    mode: str | None  # "run" for a bash block that is executed

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path, lang: str | None = None) -> list[Block]:
    text = page.read_text()
    found = []
    for m in FENCE.finditer(text):
        body = textwrap.dedent("\n".join(line[len(m["indent"]):] if line.startswith(
            m["indent"]) else line for line in m["body"].splitlines()))
        found.append(Block(page, text[:m.start("indent")].count("\n") + 1, m["lang"], body,
                           m["mode"]))
    return [b for b in found if lang is None or b.lang == lang]


def commands(body: str) -> list[list[str]]:
    """The commands of a shell block: continuations joined, comments and prompts
    dropped, split at |, && and ;."""
    out = []
    for line in body.replace("\\\n", " ").splitlines():
        line = line.strip().removeprefix("$ ")
        if not line or line.startswith("#"):
            continue
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split, lexer.commenting = True, True
        current: list[str] = []
        for token in lexer:
            if token in ("|", "&&", ";", "||"):
                out.append(current)
                current = []
            else:
                current.append(token)
        out.append(current)
    return [c for c in out if c]


def _strip_env(argv: list[str]) -> list[str]:
    """`CUDA_VISIBLE_DEVICES=0 nas ...` -> `nas ...`."""
    while argv and re.match(r"^[A-Z_][A-Z0-9_]*=", argv[0]):
        argv = argv[1:]
    return argv


def check_nas_command(args: list[str]) -> None:
    """Parse ``nas ARGS`` with the real CLI without running it; raises on a bad command."""
    group = typer.main.get_command(app)
    if not args or args[0].startswith("-"):
        try:
            group.make_context("nas", list(args))
        except typer.Exit as exc:  # --help, --version
            assert exc.exit_code == 0
        return
    cmd = group.get_command(None, args[0])
    assert cmd is not None, f"`nas {args[0]}` is not a command"
    try:
        cmd.make_context(f"nas {args[0]}", list(args[1:]))
    except typer.Exit as exc:  # --help
        assert exc.exit_code == 0


def _all_blocks(lang: str) -> list[Block]:
    return [b for page in [*PAGES, README] for b in blocks(page, lang)]


# ------------------------------------------------------------------ the harness itself


def test_harness_finds_blocks_and_commands():
    sample = ("Text\n<!-- doc-test: run -->\n```bash\nnas status runs/x  # comment\n"
              "nas spaces | nas tasks\n```\n\n  ```python\n  print(1)\n  ```\n")
    page = ROOT / "docs" / "_sample.md"
    page.write_text(sample)
    try:
        found = blocks(page)
    finally:
        page.unlink()
    assert [(b.lang, b.mode, b.line) for b in found] == [("bash", "run", 3),
                                                         ("python", None, 8)]
    assert found[1].body == "print(1)"  # the indent of a block in a list item is dropped
    assert commands(found[0].body) == [["nas", "status", "runs/x"], ["nas", "spaces"],
                                       ["nas", "tasks"]]
    assert commands("CUDA_VISIBLE_DEVICES=0,1 nas search \\\n  --trials 3") == [
        ["CUDA_VISIBLE_DEVICES=0,1", "nas", "search", "--trials", "3"]]


@pytest.mark.parametrize("args", [["serch"], ["search", "--trails", "3"],
                                  ["search", "--trials", "three"], ["show", "--out"],
                                  ["train"]])
def test_bad_commands_are_caught(args):
    with pytest.raises((AssertionError, TyperException)):
        check_nas_command(args)


# ------------------------------------------------------------------ every page


def test_every_block_has_a_checked_language():
    for page in [*PAGES, README]:
        for b in blocks(page):
            assert b.lang in CHECKED, f"{b}: a ```{b.lang or '(none)'} block is not checked"
            assert b.mode in (None, "run"), f"{b}: unknown doc-test mode {b.mode!r}"
            assert b.mode is None or b.lang == "bash", f"{b}: only bash blocks can be run"


@pytest.mark.parametrize("page", [*PAGES, README], ids=lambda p: p.name)
def test_shell_commands_parse(page):
    checked = 0
    for b in blocks(page, "bash"):
        for argv in map(_strip_env, commands(b.body)):
            if argv[0] == "nas":
                try:
                    check_nas_command(argv[1:])
                except (TyperException, AssertionError) as exc:
                    pytest.fail(f"{b}: `{shlex.join(argv)}`: {exc}")
                checked += 1
            elif argv[0] in ("python", "python3") and argv[1].endswith(".py"):
                assert (ROOT / argv[1]).is_file(), f"{b}: {argv[1]} does not exist"
    if page.name in ("getting-started.md", "scaling.md", "README.md"):
        assert checked >= 3, f"{page.name} shows fewer nas commands than it should"


@pytest.mark.parametrize("block", _all_blocks("yaml") + _all_blocks("toml"), ids=str)
def test_config_blocks_are_valid_search_configs(block, tmp_path):
    import nas
    from cli._config import load_config
    from cli._search import DEFAULTS
    from nas.strategies import get_strategy

    path = tmp_path / f"search.{block.lang}"
    path.write_text(block.body)
    extras = ("space_config", "task_config", "strategy_options")
    cfg = load_config(path, allowed=set(DEFAULTS) | {"storage", "study", "run_dir", *extras})
    cfg = {**DEFAULTS, **cfg}
    task = nas.get_task(cfg["task"], **cfg.get("task_config", {}))
    space = nas.get_space(cfg["space"], in_shape=task.in_shape, n_out=task.n_out,
                          **{**(getattr(task, "space_config", None) or {}),
                             **cfg.get("space_config", {})})
    space.sample(0)
    get_strategy(cfg["strategy"], space, seed=0, **cfg.get("strategy_options", {}))
    if cfg.get("budget") is not None:
        nas.Budget.parse(cfg["budget"])


def test_links_resolve_and_every_page_is_in_the_index():
    for page in [*PAGES, README]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
    index = (ROOT / "docs" / "index.md").read_text()
    for page in PAGES:
        if page.name != "index.md":
            assert f"({page.name})" in index, f"docs/index.md does not link {page.name}"
    assert "docs/index.md" in README.read_text()


def test_strategy_tables_quote_the_benchmark_results():
    results = (ROOT / "bench" / "results" / "nb201_strategies.md").read_text().splitlines()
    rows = [line for line in (ROOT / "docs" / "strategies.md").read_text().splitlines()
            if re.match(r"\| (evolution|random|rl|optuna|nevergrad)", line)]
    assert len(rows) >= 10
    for row in rows:
        assert row in results, f"docs/strategies.md quotes a row not in the results: {row}"


# ------------------------------------------------------------------ running them

EXPECTED = {  # what a page's Python blocks print when they work (default: anything)
    "concepts.md": [r"^3 [0-9a-f]{8} 0\.\d+ [\d,]+ params$",
                    r"^val_mse \d+\.\d{3}, train_loss \d+\.\d{3}$"],
    "exporting.md": [r"'model\.pt2'", r"both agree", r"\d+ lines of model\.py"],
    "getting-started.md": [r"^trial \d+: val_acc 0\.\d+, [\d,]+ parameters"],
    "one-shot.md": [r"^trial 0: one-shot val_acc 0\.\d+, stand-alone 0\.\d+$"],
    "scaling.md": [r"^4 trials finished by 2 processes$"],
    "search-spaces.md": [r"600 architectures", r"^True$"],
    "strategies.md": [r"^random +best score after 30 asks: 256\.0$",  # as the page says
                      r"^evolution +best score after 30 asks: 358\.4$",
                      r"^optuna:tpe +best score after 30 asks: 409\.6$", r"'snip': ",
                      r"^1 trial: edge_1_0=\w+, edge_2_0=\w+"],  # the differentiable search
    "README.md": [r"parameters", r"architectures in this space", r"val_acc"],
}


SAVED_AS = re.compile(r"\A# (?P<name>[\w.-]+\.py)\n")  # a block that is a file: "# my_spaces.py"


def run_fresh(bodies: list[str], folder: Path) -> list[subprocess.CompletedProcess]:
    """Run each body, in order, as its own fresh __main__ with `folder` as working folder
    (tests/docs/fresh_runner.py: one process per body, forked from one that imported only
    third-party libraries); one CompletedProcess-like result per body. A body whose first
    line names a file (`# my_spaces.py`) is saved there first, as the reader would, so
    later blocks can import it or name it on the command line."""
    log = folder / ".snippets"
    log.mkdir(parents=True)
    files = []
    for i, body in enumerate(bodies):
        m = SAVED_AS.match(body)
        files.append(folder / m["name"] if m else log / f"{i}.py")
        files[-1].write_text(body)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, str(Path(__file__).parent / "fresh_runner.py"),
                    *map(str, files)], cwd=folder, env=env, check=True, timeout=900)
    return [subprocess.CompletedProcess(str(f), int((log / f"{i}.rc").read_text()),
                                        (log / f"{i}.out").read_text(),
                                        (log / f"{i}.err").read_text())
            for i, f in enumerate(files)]


def test_each_block_runs_in_a_fresh_interpreter(tmp_path):
    """The harness's own check: a block sees none of an earlier block's names or
    registrations (the files it wrote stay), and runs as __main__; a block headed
    `# name.py` is saved as that file, importable later."""
    first = ("# probe_space.py\nimport nas\nx = 1\nopen('made', 'w').close()\n"
             "@nas.register_space('fresh_probe')\ndef probe(b, in_shape, n_out):\n"
             "    return b.output(b.op('linear', b.input(in_shape), features=n_out))\n"
             "print(__name__)")
    second = ("import os, sys\nimport nas\nprint('x' in globals(), os.path.exists('made'),"
              " 'fresh_probe' in nas.list_spaces(), 'nas' in sys.modules)\n"
              "import probe_space\nprint('fresh_probe' in nas.list_spaces())\n")
    one, two, three = run_fresh([first, second, "x"], tmp_path)
    assert (one.returncode, one.stdout) == (0, "__main__\n"), one.stderr
    assert two.returncode == 0, two.stderr  # importing the saved file runs it as a module:
    assert two.stdout == "False True False True\nprobe_space\nTrue\n"
    assert three.returncode == 1 and "NameError: name 'x' is not defined" in three.stderr


@pytest.mark.slow
@pytest.mark.parametrize("page", [p for p in [*PAGES, README] if blocks(p, "python")],
                         ids=lambda p: p.name)
def test_python_blocks_run(page, tmp_path):
    """Each ```python block of a page runs alone, in a fresh interpreter (in page order,
    in one folder)."""
    found = blocks(page, "python")
    runs = run_fresh([b.body for b in found], tmp_path)
    for b, proc in zip(found, runs):
        assert proc.returncode == 0, f"{b} fails when run alone:\n{proc.stdout}\n{proc.stderr}"
    out = "".join(proc.stdout for proc in runs)
    for pattern in EXPECTED.get(page.name, [r"\S"]):
        assert re.search(pattern, out, re.M), f"{page.name} printed no {pattern!r}:\n{out}"


@pytest.mark.slow
@pytest.mark.parametrize("block", [b for b in _all_blocks("bash") if b.mode == "run"],
                         ids=str)
def test_run_blocks_run(block, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for argv in commands(block.body):
        assert argv[0] == "nas", f"{block}: a run block holds nas commands only"
        res = runner.invoke(app, argv[1:], terminal_width=100)
        assert res.exit_code == 0, f"{block}: `{shlex.join(argv)}` failed:\n{res.output}"
        for flag in ("--out", "--run-dir"):  # what a command says it writes, it wrote
            if flag in argv:
                written = tmp_path / argv[argv.index(flag) + 1]
                assert written.exists(), f"{block}: `{shlex.join(argv)}` wrote no {written}"
