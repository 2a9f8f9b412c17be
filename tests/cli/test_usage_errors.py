"""Fault injection: user errors are caught before training (issue 16, section 5).

Each bad input exits 2 with one line that names what to change, no traceback, and
(where a search was asked for) no study or trial stored. Before the fix: an objective
without a direction was maximized (val_loss too), an objective the task never measures
or a missing GPU failed every trial, config values of the wrong type were stored into
the study or crashed, another budget or strategy on an existing run mixed two searches
in one leaderboard, and several file and folder mistakes ended in tracebacks.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import nas
from cli.main import app
from nas import open_storage

PLUGINS = str(Path(__file__).resolve().parents[1] / "plugins")
sys.path.insert(0, PLUGINS)
os.environ["NAS_PLUGINS"] = "fake_task"
import fake_task  # noqa: E402,F401  (registers the "fake" task in this process)

runner = CliRunner()
FAKE = ["--space", "mlp", "--task", "fake", "--keep-weights", "0"]


def _usage_error(res, *words: str) -> str:
    """Assert exit 2, one 'error:' line naming ``words``, no traceback; return the line."""
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    assert "Traceback" not in res.output
    errors = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, res.output
    for w in words:
        assert w in errors[0], (w, errors[0])
    return errors[0]


def _study(run):
    return nas.Study.load(open_storage(None, run))


# ------------------------------------------------------------------ objectives


def test_an_objective_without_direction_takes_the_metrics_direction(tmp_path):
    run = tmp_path / "run"
    res = runner.invoke(app, ["search", *FAKE, "--trials", "2", "--objectives",
                              "val_acc,params", "--run-dir", str(run)])
    assert res.exit_code == 0, res.output
    assert _study(run).objectives == [("val_acc", "max"), ("params", "min")]


@pytest.mark.parametrize("name, direction", [
    ("val_loss", "min"), ("test_acc", "max"), ("latency_ms", "min"), ("flops", "min"),
    ("train_time_s", "min"), ("peak_mem_mb", "min"), ("val_mse", "min"), ("val_f1", "max"),
    ("val_ppl", "min"), ("val_auc", "max"), ("steps", None), ("synflow", None)])
def test_metric_direction_by_name(name, direction):
    assert nas.metric_direction(name) == direction


def test_the_task_declares_directions_and_what_it_measures():
    task = nas.get_task("mnist1d")
    assert nas.resolve_objectives(["val_loss"], task) == [("val_loss", "min")]
    assert nas.resolve_objectives(["val_acc", ("params", None)], task) == \
        [("val_acc", "max"), ("params", "min")]
    assert nas.resolve_objectives(["val_loss:max"], task) == [("val_loss", "max")]  # asked
    with pytest.raises(ValueError, match="'foo' is not measured by task 'mnist1d'"):
        nas.resolve_objectives(["foo"], task)
    with pytest.raises(ValueError, match="steps:max or steps:min"):
        nas.resolve_objectives(["steps"], task)

    class Undeclared:  # a user task that lists nothing: names decide, anything goes
        name, objective = "mine", ("val_score", "max")

    assert nas.resolve_objectives(["val_score", "val_loss"], Undeclared()) == \
        [("val_score", "max"), ("val_loss", "min")]
    with pytest.raises(ValueError, match="no known direction"):
        nas.resolve_objectives(["weirdness"], Undeclared())


CONTRACT = [("mnist1d", "mlp", {}), ("karate", "gnn", {}),
            ("graph_classes", "gnn", {"per_class": 10}), ("seq2seq", "transformer", {}),
            ("charlm", "transformer", {"context": 16, "max_chars": 5000}),
            ("ae", "autoencoder", {}), ("vae", "vae", {}), ("gan", "gan", {}),
            ("simclr:mnist1d", "mlp", {})]


@pytest.mark.parametrize("task_name, space_name, config", CONTRACT,
                         ids=[c[0] for c in CONTRACT])
def test_a_tasks_declared_metrics_are_what_it_reports(task_name, space_name, config):
    """A declared metric a run never reports would fail trials; a reported one left out
    would be refused as an objective."""
    config = nas.SearchConfig(space=space_name, task=task_name, task_config=config)
    task, space = config.task_object(), config.space_object()
    result = task.evaluate(space.build(space.sample(0)), budget="3steps", device="cpu")
    assert result.ok, result.error
    reported = {k for k, v in {**result.objectives, **result.metrics}.items()
                if isinstance(v, int | float) and not isinstance(v, bool)}
    assert reported == set(nas.task_metrics(task))


# ------------------------------------------------------------------ search flags

NO_CUDA7 = torch.cuda.device_count() < 8
FLAG_CASES = [
    (["--objectives", "foo"], ["'foo'", "not measured"]),
    (["--objectives", "val_acc:up"], ["val_acc:up", "name:max"]),
    (["--objectives", "val_acc,val_acc"], ["twice"]),
    (["--device", "bogus"], ["bogus", "cpu"]),
    (["--workers", "auto:0"], ["auto:0", "auto:N"]),
    (["--workers", "auto:-1"], ["auto:-1"]),
    (["--workers", "auto:x"], ["auto:x"]),
    (["--workers", "0"], ["workers", "'0'"]),
    (["--budget", "fast"], ["budget", "fast"]),
    (["--timeout", "soon"], ["timeout", "soon"]),
]
if NO_CUDA7:
    FLAG_CASES.append((["--device", "cuda:7"], ["cuda:7"]))
if not torch.cuda.is_available():
    FLAG_CASES.append((["--device", "cuda"], ["'cuda'", "cpu"]))


@pytest.mark.parametrize("flags, words", FLAG_CASES, ids=[" ".join(f) for f, _ in FLAG_CASES])
def test_bad_search_flags_are_usage_errors_before_any_trial(tmp_path, flags, words):
    run = tmp_path / "run"
    res = runner.invoke(app, ["search", *FAKE, "--trials", "2", "--run-dir", str(run),
                              *flags])
    _usage_error(res, *words)
    assert not (run / "study.journal").exists()


CONFIG_CASES = [
    ("trials: abc", ["trials", "whole number", "'abc'"]),
    ("trials: 1.7", ["trials", "1.7"]),
    ("trials: true", ["trials"]),
    ("keep_weights: -2", ["keep_weights", ">= 0", "-2"]),
    ("seed: x", ["seed"]),
    ("budget: [1]", ["budget"]),
    ("timeout: soon", ["timeout"]),
    ("workers: auto:0", ["workers"]),
    ("device: 7", ["device"]),
    ("objectives: 5", ["objectives"]),
    ("pruner: 3", ["pruner"]),
    ("space: 5", ["space"]),
    ("run_dir: 5", ["run_dir"]),
    ("strategy_options: {populaton: 5}", ["strategy_options", "'populaton'", "population"]),
    ("strategy_options: {population: abc}", ["strategy_options", "population=10"]),
    ("task_config: {nope: 1}", ["task_config", "nope"]),
]


@pytest.mark.parametrize("line, words", CONFIG_CASES, ids=[c for c, _ in CONFIG_CASES])
def test_config_values_are_type_checked_before_anything_is_stored(tmp_path, line, words):
    config = tmp_path / "search.yaml"
    config.write_text(f"{line}\n")
    run = tmp_path / "run"
    args = ["search", "--task", "fake", "--config", str(config),
            "--run-dir", str(run)]
    if not line.startswith("space:"):
        args += ["--space", "mlp"]
    _usage_error(runner.invoke(app, args), *words)
    assert not (run / "study.journal").exists()


def test_the_python_api_checks_the_same_before_storing(tmp_path):
    bad = [dict(objectives=["foo"]), dict(trials="abc"), dict(trials=1.7),
           dict(keep_weights=-2), dict(workers="auto:0"), dict(device="bogus"),
           dict(strategy_options={"populaton": 5}), dict(budget="fast")]
    for kwargs in bad:
        run = tmp_path / "run"
        with pytest.raises(ValueError):
            nas.search("mlp", "fake", **{"trials": 2, "run_dir": run, **kwargs})
        assert not (run / "study.journal").exists(), kwargs


# ------------------------------------------------------------------ existing runs


@pytest.fixture
def small_run(tmp_path):
    run = tmp_path / "run"
    res = runner.invoke(app, ["search", *FAKE, "--trials", "2", "--budget", "20steps",
                              "--run-dir", str(run)])
    assert res.exit_code == 0, res.output
    return run


@pytest.mark.parametrize("flags, word", [
    (["--budget", "40steps"], "--budget"),
    (["--budget", "20steps", "--strategy", "random"], "--strategy"),
    ([], "--budget"),  # the task's default budget, not the run's 20steps
])
def test_another_budget_or_strategy_on_an_existing_run_is_refused(small_run, flags, word):
    res = runner.invoke(app, ["search", *FAKE, "--trials", "4", "--run-dir", str(small_run),
                              *flags])
    _usage_error(res, word, f"nas resume {small_run}", "--run-dir")
    assert len(_study(small_run).trials()) == 2


def test_same_settings_with_a_new_target_continue(small_run):
    res = runner.invoke(app, ["search", *FAKE, "--trials", "3", "--budget", "20steps",
                              "--seed", "4", "--run-dir", str(small_run)])
    assert res.exit_code == 0, res.output
    assert len(_study(small_run).completed()) == 3


def test_run_dir_naming_a_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    res = runner.invoke(app, ["search", *FAKE, "--trials", "1", "--run-dir", str(path)])
    _usage_error(res, str(path), "is a file")
    assert path.read_text() == "hello"


def _read_only(monkeypatch, folder: Path) -> None:
    """Make ``folder`` and what is in it unwritable: for real with chmod, and through
    os.access too (root ignores file modes)."""
    real = os.access
    inside = str(folder.resolve())

    def access(path, mode, *args, **kwargs):
        if mode & os.W_OK and str(Path(path).resolve()).startswith(inside):
            return False
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    for p in [folder, *folder.rglob("*")]:
        p.chmod(p.stat().st_mode & ~0o222)


def test_resume_of_a_read_only_run_says_it_cannot_write(small_run, monkeypatch):
    before = (small_run / "study.journal").read_bytes()
    _read_only(monkeypatch, small_run)
    try:
        res = runner.invoke(app, ["resume", str(small_run), "--trials", "4"])
        _usage_error(res, "cannot write", str(small_run), "read-only")
    finally:
        small_run.chmod(0o755)
    assert (small_run / "study.journal").read_bytes() == before


def test_export_of_a_read_only_run_writes_elsewhere_with_out(small_run, tmp_path,
                                                            monkeypatch):
    _read_only(monkeypatch, small_run)
    try:
        res = runner.invoke(app, ["export", str(small_run)])
        _usage_error(res, "cannot write", "--out")
        out = tmp_path / "elsewhere"
        res = runner.invoke(app, ["export", str(small_run), "--out", str(out)])
        assert res.exit_code == 0, res.output
        assert (out / "model.py").is_file()
    finally:
        small_run.chmod(0o755)


# ------------------------------------------------------------------ architecture files


@pytest.fixture
def arch(tmp_path):
    """A valid architecture document (as a dict) and a writer for variants of it."""
    graph = nas.get_space("mlp").build(nas.get_space("mlp").sample(0))
    doc = json.loads(graph.to_json())

    def write(change) -> Path:
        d = json.loads(json.dumps(doc))
        change(d)
        path = tmp_path / "arch.json"
        path.write_text(json.dumps(d))
        return path

    return write


def _drop_op(d):
    del d["nodes"][0]["op"]


def _negative_features(d):
    next(n for n in d["nodes"] if "features" in n["params"])["params"]["features"] = -5


def _cycle(d):
    d["nodes"][0]["inputs"] = [d["nodes"][-1]["id"]]


@pytest.mark.parametrize("command", ["train", "graph", "show"])
def test_an_architecture_without_op(arch, tmp_path, command):
    path = arch(_drop_op)
    args = [command, str(path)] + (["--steps", "2", "--out", str(tmp_path / "t")]
                                   if command == "train" else [])
    _usage_error(runner.invoke(app, args), "'op'", "node")


def test_train_on_negative_features_is_a_usage_error(arch, tmp_path):
    path = arch(_negative_features)
    res = runner.invoke(app, ["train", str(path), "--steps", "2", "--out",
                              str(tmp_path / "t")])
    _usage_error(res, "linear", "-5")
    assert not (tmp_path / "t").exists()


@pytest.mark.parametrize("command", ["graph", "show", "train"])
def test_a_cyclic_graph_is_a_usage_error(arch, tmp_path, command):
    path = arch(_cycle)
    args = [command, str(path)] + (["--steps", "2", "--out", str(tmp_path / "t")]
                                   if command == "train" else [])
    _usage_error(runner.invoke(app, args), "cycle")
