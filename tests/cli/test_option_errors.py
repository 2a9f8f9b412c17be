"""A bad ``--task-option`` / ``--space-option`` / ``--strategy-option`` value: the error
names the flag and key as the user typed them (exit 2), not the Python setting
``(task_config)``; a config file's mapping is named as the file's."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import nas
from cli._options import blame, mistyped
from cli.main import app

runner = CliRunner()
SEARCH = ["search", "--space", "gnn", "--task", "karate", "--trials", "1", "--budget",
          "2steps", "--strategy", "random", "--device", "cpu"]


def _invoke(*args):
    return runner.invoke(app, [str(a) for a in args], terminal_width=300)


def _error(res) -> str:
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "(task_config)" not in res.output, res.output
    return lines[0]


@pytest.mark.parametrize("flag, item, says", [
    ("--task-option", "features=xyz", "features must be 'id' or 'degree', got 'xyz'"),
    ("--task-option", "feature=id", "unexpected keyword argument 'feature'"),
    ("--task-option", "val=abc", "not supported"),  # a TypeError: the mistyped option
    ("--space-option", "level=xyz", "level must be one of ('node', 'graph')"),
    ("--strategy-option", "population=xyz", "a value does not fit strategy"),
    ("--strategy-option", "populaton=9", "strategy 'evolution' has no option 'populaton'"),
])
def test_a_bad_option_value_names_the_flag_and_key_typed(tmp_path, flag, item, says):
    res = _invoke(*SEARCH, "--run-dir", tmp_path / "run", flag, item, "--strategy",
                  "evolution")
    line = _error(res)
    assert line.startswith(f"error: {flag} {item}: ") and says in line, line
    assert not (tmp_path / "run" / "study.journal").exists()


def test_the_config_files_task_config_is_named_as_the_files(tmp_path):
    config = tmp_path / "search.yaml"
    config.write_text("space: gnn\ntask: karate\ntask_config:\n  features: xyz\n")
    line = _error(_invoke("search", "--config", config, "--run-dir", tmp_path / "run"))
    assert line == (f"error: config file '{config}': task_config: features must be 'id' "
                    "or 'degree', got 'xyz'")


def test_an_unknown_task_does_not_blame_its_options(tmp_path):
    line = _error(_invoke("search", "--space", "gnn", "--task", "karat", "--task-option",
                          "features=id", "--run-dir", tmp_path / "run"))
    assert line.startswith("error: unknown task 'karat'") and "--task-option" not in line


def test_check_and_train_name_the_option_too(tmp_path):
    line = _error(_invoke("check", "gnn", "--task", "karate", "--task-option",
                          "features=xyz"))
    assert line.startswith("error: --task-option features=xyz: features must be")
    space = nas.get_space("gnn", in_shape=(34,), n_out=2)
    (tmp_path / "arch.json").write_text(space.build(space.sample_valid(0)).to_json())
    line = _error(_invoke("train", tmp_path / "arch.json", "--task", "karate",
                          "--task-option", "split_seed=1", "--task-option", "features=xyz",
                          "--steps", "1", "--out", tmp_path / "out"))
    assert line.startswith("error: --task-option features=xyz: features must be")


def test_blame_picks_the_key_the_text_names_else_suspects_else_all():
    options = {"val": "abc", "test": 8, "features": "id"}
    assert blame("test size must be >= 0 (task_config)", options, "--task-option") == \
        "--task-option test=8: test size must be >= 0"
    assert blame("boom", options, "--x", suspects=["val"]) == "--x val=abc: boom"
    assert blame("boom", {"a": 1, "b": [1]}, "--x") == "--x a=1 --x b=[1]: boom"
    assert blame("boom", options, "--x", must_name=True) == "boom"
    assert blame("a features_x b", options, "--x", must_name=True) == "a features_x b"
    assert mistyped({"val": "abc", "test": 8, "n": 0.5, "on": 1},
                    {"val": 8, "test": 8, "n": 3, "on": True}) == ["val", "on"]


@pytest.mark.parametrize("args, item, says", [
    (["gnn", "--task", "karate"], "level=xyz", "level must be one of ('node', 'graph')"),
    (["cnn"], "max_depth=-3", "unexpected keyword argument 'max_depth'"),
    (["mlp"], "widths=abc", "could not be built"),  # names no key: mlp builds without it
])
def test_check_names_a_bad_space_option_as_typed_not_a_broken_sample(args, item, says):
    line = _error(_invoke("check", *args, "--space-option", item))
    assert line.startswith(f"error: --space-option {item}: ") and says in line, line
    assert "is broken" not in line


def test_check_still_says_a_space_broken_without_its_options_is_broken(tmp_path):
    """Sample 1 (seed 0) of this space has kernel 99 on 40 inputs with or without the
    option: the space is at fault, exit 1, the option unnamed."""
    path = tmp_path / "spaces.py"
    path.write_text(
        "def broken(b, in_shape, n_out, channels=4):\n"
        "    k = b.choice('kernel', [3, 99])\n"
        "    x = b.op('conv1d', b.input(in_shape), channels=channels, kernel=k, padding=0,\n"
        "             name='conv')\n"
        "    return b.output(x)\n")
    plain = _invoke("check", f"{path}:broken", "--samples", "10")
    res = _invoke("check", f"{path}:broken", "--samples", "10", "--space-option", "channels=8")
    assert plain.exit_code == res.exit_code == 1, res.output
    line = next(line for line in res.output.splitlines() if line.startswith("error: "))
    assert "is broken" in line and "--space-option" not in line and "node 'conv'" in line
