"""SearchConfig: one typed, checked config from the CLI or nas.search to the task."""

from __future__ import annotations

import fake_task  # noqa: F401  (registers the "fake" task)
import pytest
from typer.testing import CliRunner

import nas
from cli.main import app
from nas import Budget, Objective, SearchConfig
from nas.config import ConfigError
from nas.pruners import PRUNERS, make_pruner

runner = CliRunner()


def test_values_are_parsed_once_on_the_way_in():
    c = SearchConfig(space="mlp", task="fake", budget="20steps", workers="2",
                     objectives=[["val_acc", "max"], "params:min"])
    assert c.budget == Budget(20, "steps") and c.workers == 2
    assert c.objectives == (Objective("val_acc", "max"), Objective("params", "min"))
    assert all(isinstance(o, Objective) for o in c.objectives)


def test_stored_form_round_trips():
    c = SearchConfig(space="mlp", task="fake", budget="1000steps,30s", pruner="median",
                     objectives=[("val_acc", "max")], strategy_options={"population": 4})
    d = c.to_dict()
    assert d["budget"] == "1000steps,30s" and d["objectives"] == [["val_acc", "max"]]
    assert SearchConfig.from_dict(d) == c
    assert SearchConfig.from_dict({**d, "from_a_newer_version": 1}) == c


@pytest.mark.parametrize("settings, key", [
    (dict(trials=0), "trials"), (dict(budget="fast"), "budget"),
    (dict(pruner="often"), "pruner"), (dict(workers="auto:0"), "workers"),
    (dict(objectives=[("val_acc", "up")]), "objectives"), (dict(seed=1.5), "seed"),
    (dict(space_config=[1]), "space_config"), (dict(stale_after_s=-1), "stale_after_s"),
])
def test_a_bad_value_is_a_config_error_naming_it(settings, key):
    with pytest.raises(ConfigError) as err:
        SearchConfig(**{"space": "mlp", "task": "fake", **settings})
    assert err.value.key == key and isinstance(err.value, ValueError)


def test_create_resolves_objectives_against_the_task():
    c = SearchConfig.create(space="mlp", task="fake", objectives=["val_acc", "params"])
    assert c.objectives == (("val_acc", "max"), ("params", "min"))
    assert SearchConfig.create(space="mlp", task="fake").objectives == (("val_acc", "max"),)
    with pytest.raises(ConfigError) as err:
        SearchConfig.create(space="mlp", task="fake", objectives=["bogus"])
    assert err.value.key == "objectives" and "not measured" in str(err.value)
    with pytest.raises(ConfigError) as err:
        SearchConfig.create(space="mlp", task="fake", pruner="median",
                            objectives=["val_acc", "params"])
    assert err.value.key == "pruner"
    with pytest.raises(ConfigError) as err:
        SearchConfig.create(space="mlp", task="fake", strategy="evolutoin")
    assert err.value.key == "strategy" and "evolution" in str(err.value)


def test_a_stored_device_is_not_checked_against_this_machine():
    """A study made on a GPU machine is read (resumed, joined) on a CPU one."""
    assert SearchConfig.from_dict({"space": "mlp", "device": "cuda:7"}).device == "cuda:7"


def test_one_pruner_list_checks_and_builds():
    for name in PRUNERS:
        assert SearchConfig(space="mlp", pruner=name).pruner == name
        assert make_pruner(name) is not None
    with pytest.raises(ValueError, match="median"):
        make_pruner("often")


def test_differs_from_names_the_first_kept_setting():
    a = SearchConfig(space="mlp", budget="20steps")
    assert a.differs_from(SearchConfig(space="mlp", budget="20")) == ""  # same budget
    text = a.differs_from(SearchConfig(space="mlp", budget="40steps"))
    assert text.startswith("--budget") and "20steps" in text and "40steps" in text
    assert a.differs_from(a.replace(trials=99)) == ""  # a new target is no new scoring


class _Counting:
    """A task factory that counts its instances (and records what evaluate gets)."""

    built = 0
    budgets: list = []

    def __init__(self):
        from fake_task import FakeTask

        type(self).built += 1
        self._inner = FakeTask(delay=0)
        for key in ("name", "in_shape", "n_out", "objective", "metrics"):
            setattr(self, key, getattr(self._inner, key))

    def evaluate(self, graph, budget=None, seed=0, device="auto", report=None, **kw):
        type(self).budgets.append(budget)
        return self._inner.evaluate(graph, budget, seed, device, report)


@pytest.fixture
def counting_task():
    from nas.registry import _TASKS

    nas.register_task("counting")(_Counting)
    _Counting.built, _Counting.budgets = 0, []
    yield _Counting
    _TASKS.pop("counting", None)


def test_the_task_is_built_once_and_gets_the_parsed_budget(counting_task, tmp_path):
    nas.search("mlp", "counting", trials=3, budget="7steps", run_dir=tmp_path / "r")
    assert counting_task.built == 1
    assert counting_task.budgets == [Budget(7, "steps")] * 3


def test_the_cli_builds_the_task_once(counting_task, tmp_path):
    res = runner.invoke(app, ["search", "--space", "mlp", "--task", "counting", "--trials",
                              "2", "--budget", "5steps", "--run-dir", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    assert counting_task.built == 1 and counting_task.budgets == [Budget(5, "steps")] * 2


class _Tagged(_Counting):
    tags: list = []

    def __init__(self, tag: str = "none"):
        super().__init__()
        type(self).tags.append(tag)


def test_nas_train_rebuilds_the_runs_task_with_its_task_config(tmp_path):
    """The task a run searched on is trained on as it was configured (task_config)."""
    from nas.registry import _TASKS

    nas.register_task("tagged")(_Tagged)
    try:
        _Tagged.tags = []
        run = tmp_path / "r"
        nas.search("mlp", "tagged", trials=1, run_dir=run, task_config={"tag": "mine"})
        res = runner.invoke(app, ["train", str(run), "--steps", "2", "--out",
                                  str(tmp_path / "out")])
        assert res.exit_code == 0, res.output
        assert _Tagged.tags == ["mine", "mine"]
    finally:
        _TASKS.pop("tagged", None)
