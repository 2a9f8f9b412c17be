"""The `nas` command: help, version, listing, checking spaces, exit codes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from typer.testing import CliRunner

import nas
from cli.main import app

runner = CliRunner()


def test_console_script_help_and_version():
    out = subprocess.run([sys.executable, "-m", "cli.main", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for command in ("check", "spaces", "ops", "graph"):
        assert command in out
    out = subprocess.run([sys.executable, "-m", "cli.main", "--version"], capture_output=True,
                         text=True, check=True).stdout
    assert nas.__version__ in out


def test_every_command_has_help_with_an_example():
    import typer.main

    for name in typer.main.get_command(app).commands:
        res = runner.invoke(app, [name, "--help"])
        assert res.exit_code == 0, res.output
        assert "Example" in res.output, f"`nas {name} --help` has no example"


def test_spaces_lists_every_space():
    res = runner.invoke(app, ["spaces"], terminal_width=200)
    assert res.exit_code == 0
    for name in nas.list_spaces():
        assert name in res.output


def test_check_passes_on_a_space_and_prints_a_table():
    res = runner.invoke(app, ["check", "mlp", "--samples", "3"], terminal_width=200)
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "params" in text and "all 3 samples" in text


def test_check_unknown_space_is_a_usage_error():
    res = runner.invoke(app, ["check", "mpl"])
    assert res.exit_code == 2
    assert "did you mean mlp" in " ".join(res.output.split())


def test_check_a_user_space_file_and_a_broken_one(tmp_path):
    good = tmp_path / "spaces.py"
    good.write_text(textwrap.dedent('''
        def tiny(b, in_shape, n_out):
            x = b.op("flatten", b.input(in_shape))
            x = b.op("linear", x, features=b.choice("width", [4, 8]))
            return b.output(b.op("linear", x, features=n_out))

        def broken(b, in_shape, n_out):
            x = b.input(in_shape)
            k = b.choice("kernel", [3, 99])
            x = b.op("conv1d", x, channels=4, kernel=k, padding=0, name="conv")
            return b.output(x)
    '''))
    res = runner.invoke(app, ["check", f"{good}:tiny", "--samples", "2"], terminal_width=200)
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["check", f"{good}:broken", "--samples", "10"], terminal_width=200)
    assert res.exit_code == 1
    text = " ".join(res.output.split())
    assert "node 'conv'" in text and "kernel" in text


def test_graph_command_renders_and_rejects_bad_files(tmp_path):
    g = nas.get_space("mlp").build(nas.get_space("mlp").sample(0))
    path = tmp_path / "arch.json"
    path.write_text(g.to_json())
    res = runner.invoke(app, ["graph", str(path), "--format", "mermaid"])
    assert res.exit_code == 0 and res.output.startswith("flowchart")
    (tmp_path / "bad.json").write_text("{}")
    res = runner.invoke(app, ["graph", str(tmp_path / "bad.json")])
    assert res.exit_code == 2 and "not an ArchGraph" in res.output


def test_dashboard_without_its_extra_says_how_to_install(tmp_path):
    import importlib.util

    if importlib.util.find_spec("optuna_dashboard") is not None:
        import pytest

        pytest.skip("optuna-dashboard is installed")
    res = runner.invoke(app, ["dashboard", str(tmp_path)])
    assert res.exit_code == 2 and "nas-toolkit[dashboard]" in res.output


def test_task_data_errors_are_usage_errors_in_check_and_train(tmp_path, monkeypatch):
    """Missing files and a download without its optional extra say what to do, exit 2."""
    import importlib.util

    monkeypatch.setenv("NAS_DATA", str(tmp_path / "empty"))
    res = runner.invoke(app, ["check", "cnn", "--task", "cifar10"], terminal_width=300)
    flat = res.output.replace("\n", "")  # the error console wraps long lines
    assert res.exit_code == 2 and "cifar-10-batches-py" in flat, res.output
    arch = tmp_path / "arch.json"
    space = nas.get_space("mlp", in_shape=(1, 28, 28), n_out=10)
    arch.write_text(space.build(space.sample(0)).to_json())
    res = runner.invoke(app, ["train", str(arch), "--task", "mnist", "--steps", "1"],
                        terminal_width=300)
    assert res.exit_code == 2 and "MNIST/raw" in res.output.replace("\n", ""), res.output
    if importlib.util.find_spec("torchvision") is None:
        res = runner.invoke(app, ["check", "cnn", "--task", "cifar10:download=true"],
                            terminal_width=300)
        assert res.exit_code == 2 and "nas-toolkit[vision]" in res.output.replace("\n", "")


def _rows(output: str) -> dict[str, list[str]]:
    """A rich table's rows as {first cell: the other cells} (wrapped lines left out)."""
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if line.startswith("│") and cells[0]:
            rows[cells[0]] = cells[1:]
    return rows


def _listing(command: str) -> dict[str, list[str]]:
    res = runner.invoke(app, [command], terminal_width=200, env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    return _rows(res.output)


def test_tasks_lists_the_built_in_tasks_with_their_description():
    rows = _listing("tasks")
    assert {"mnist1d", "digits", "cifar10", "mnist", "csv", "simclr", "vae", "karate",
            "seq2seq", "charlm"} <= set(rows)
    assert rows["mnist1d"][0].startswith("MNIST-1D: 10-class 1-D digits of length 40")


def test_strategies_lists_the_built_in_strategies_with_their_description():
    rows = _listing("strategies")
    assert {"evolution", "random", "rl", "optuna", "nevergrad"} <= set(rows)
    assert rows["random"][0].startswith("Random search: uniform samples")


def test_ops_lists_the_primitives_with_their_inputs_and_parameters():
    rows = _listing("ops")
    assert {"conv1d", "conv2d", "linear", "relu", "add", "concat", "max_pool", "gcn",
            "self_attention", "lstm", "zero", "identity"} <= set(rows)
    inputs, params, _ = rows["linear"]
    assert (inputs, params) == ("1", "features, bias=True")  # features is required
    assert rows["add"][0] == "at least 2"
    assert rows["relu"][1] == ""  # no parameters


def test_search_help_names_every_pruner():
    from nas.pruners import PRUNERS

    res = runner.invoke(app, ["search", "--help"], terminal_width=200, env={"COLUMNS": "200"})
    line = next(x for x in res.output.splitlines() if "--pruner" in x)
    named = {w.strip(".,") for w in line.split()}
    # successive_halving is an alias of sha
    assert set(PRUNERS) - {"successive_halving"} <= named
