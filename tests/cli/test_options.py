"""Task, space and strategy options from the command line (--task-option KEY=VALUE and
friends) in nas search, check and train, over a config file's mappings; nas tasks lists
each task's options."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

import nas
from cli._options import parse_options
from cli.main import app

runner = CliRunner()


def _csv(folder) -> str:
    """A tiny table: label is 1 exactly when a > 0 (b is noise); 40 rows."""
    rows = [(((i * 7) % 11 - 5) / 5, ((i * 5) % 7 - 3) / 3) for i in range(40)]
    path = folder / "data.csv"
    path.write_text("a,b,label\n" + "".join(f"{a},{b},{int(a > 0)}\n" for a, b in rows))
    return str(path)


def _invoke(*args):
    return runner.invoke(app, [str(a) for a in args], terminal_width=300)


def _stored(run_dir) -> dict:
    return nas.Study.load(nas.open_storage(None, run_dir, create=False)).config


def test_values_are_json_when_they_parse_else_text():
    assert parse_options(["target=label", "n=3", "lr=0.1", "on=true", "xs=[1, 2]",
                          "empty=", "path=a=b", "n=4", "max-depth=2"], "--task-option") == {
        "target": "label", "n": 4, "lr": 0.1, "on": True, "xs": [1, 2], "empty": "",
        "path": "a=b", "max_depth": 2}
    for bad in ("target", "=label", "two words=1"):
        with pytest.raises(typer.Exit) as exc:
            parse_options([bad], "--task-option")
        assert exc.value.exit_code == 2


def test_search_reads_the_csv_target_from_a_flag_and_from_a_config_file(tmp_path):
    data = _csv(tmp_path)
    common = ["--space", "mlp", "--task", f"csv:{data}", "--trials", "1", "--budget",
              "2steps", "--strategy", "random"]
    res = _invoke("search", *common, "--run-dir", tmp_path / "flag", "--task-option",
                  "target=label", "--space-option", "max_depth=1", "--strategy-option",
                  "unused_ok=1")
    assert res.exit_code == 2 and "unused_ok" in res.output  # strategy options are checked
    res = _invoke("search", *common, "--run-dir", tmp_path / "flag", "--task-option",
                  "target=label", "--space-option", "max_depth=1")
    assert res.exit_code == 0, res.output
    stored = _stored(tmp_path / "flag")
    assert stored["task_config"] == {"target": "label"}
    assert stored["space_config"] == {"max_depth": 1}

    config = tmp_path / "search.yaml"
    config.write_text(f"space: mlp\ntask: csv:{data}\ntask_config:\n  target: nope\n"
                      "trials: 1\nbudget: 2steps\nstrategy: random\n")
    res = _invoke("search", "--config", config, "--run-dir", tmp_path / "file")
    assert res.exit_code == 2 and "nope" in res.output  # the file's task_config is read
    config.write_text(config.read_text().replace("nope", "label"))
    res = _invoke("search", "--config", config, "--run-dir", tmp_path / "file")
    assert res.exit_code == 0, res.output
    assert _stored(tmp_path / "file")["task_config"] == {"target": "label"}
    res = _invoke("search", "--config", config, "--run-dir", tmp_path / "both",
                  "--task-option", "features=[\"a\"]")  # a flag adds to the file's mapping
    assert res.exit_code == 0, res.output
    assert _stored(tmp_path / "both")["task_config"] == {"target": "label", "features": ["a"]}


def test_a_missing_target_says_how_to_give_it(tmp_path):
    res = _invoke("search", "--space", "mlp", "--task", f"csv:{_csv(tmp_path)}",
                  "--run-dir", tmp_path / "r")
    assert res.exit_code == 2 and "--task-option target=COLUMN" in res.output, res.output


def test_check_and_train_take_task_options(tmp_path):
    data = _csv(tmp_path)
    res = _invoke("check", "mlp", "--task", f"csv:{data}", "--task-option", "target=label",
                  "--samples", "1")
    assert res.exit_code == 0 and "all 1 samples build" in res.output, res.output
    res = _invoke("check", "mlp", "--task-option", "target=label")
    assert res.exit_code == 2 and "--task-option needs --task" in res.output
    space = nas.get_space("mlp", in_shape=(2,), n_out=2)
    arch = tmp_path / "arch.json"
    arch.write_text(space.build(space.sample(0)).to_json())
    res = _invoke("train", arch, "--task", f"csv:{data}", "--task-option", "target=label",
                  "--steps", "2", "--out", tmp_path / "out")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "architecture.json").is_file()


def test_tasks_lists_each_tasks_options():
    res = runner.invoke(app, ["tasks"], terminal_width=300, env={"COLUMNS": "300"})
    row = next(line for line in res.output.splitlines() if line.startswith("│ csv "))
    assert "path=None, target=None, features=None, kind='auto'" in row
    assert "--task-option KEY=VALUE" in res.output
    assert nas.task_options("mnist1d") == {"val_size": 500, "split_seed": 0, "config": None}
