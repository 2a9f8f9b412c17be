"""Evaluators: every registered task trains, splits hold, the recipe reaches the paper's
accuracy, and every kind of bad candidate becomes a failed Result, not a crash."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import torch
from torch import nn

import evaluators
import nas
from evaluators import REASONS, ArrayTask, TrainConfig, split_indices, train
from nas import ArchGraph, Budget, Result
from nas.testing import TaskContract, tiny_graph
from search_spaces.reference import mnist1d_paper_cnn

QUICK = TrainConfig(latency_runs=2)


@pytest.fixture(scope="module")
def mnist1d():
    return nas.get_task("mnist1d", config=QUICK)


def paper_cnn_graph() -> ArchGraph:
    return mnist1d_paper_cnn()


def write_csv(path, n: int = 240) -> str:
    """Two numeric features, a text column (ignored) and a text label they determine."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=n), rng.normal(size=n)
    label = np.where(a + b > 0, "up", "down")
    lines = ["a,b,note,label"] + [f"{x:.4f},{y:.4f},row{i},{c}"
                                  for i, (x, y, c) in enumerate(zip(a, b, label))]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def make_task(name: str, tmp_path):
    """A registered task by name, with the arguments the ones that need them need."""
    if name == "digits":
        pytest.importorskip("sklearn")
    if name == "csv":
        with pytest.warns(UserWarning, match="note"):
            return nas.get_task(f"csv:{write_csv(tmp_path / 'data.csv')}", target="label",
                                config=QUICK)
    if name == "arrays":  # your own data: a pair of arrays made here
        x = np.random.default_rng(0).normal(size=(240, 4))
        return nas.get_task("arrays", data=(x, (x[:, 0] > 0).astype(int)), config=QUICK)
    return nas.get_task(name, config=QUICK)


SUPERVISED_METRICS = ("test_acc", "val_loss", "params", "flops", "latency_ms", "peak_mem_mb",
                      "train_time_s", "steps")


def finite_metrics(result: Result) -> None:
    assert result.ok, result.error
    values = {**result.objectives, **result.metrics}
    for key, value in values.items():
        if key != "device":
            assert math.isfinite(value), (key, value)
    for key in (*SUPERVISED_METRICS, "device"):
        assert key in values, key


# ---------------------------------------------------------------- registry and tasks
def built_in_tasks() -> list[str]:
    """The tasks the evaluators package registers (not those a test module adds, such as
    tests/plugins' fake task)."""
    from nas.registry import _TASKS

    return [name for name in nas.list_tasks()
            if getattr(_TASKS.get(name), "__module__", "").startswith("evaluators")]


def test_importing_evaluators_registers_the_core_tasks():
    assert {"mnist1d", "digits", "csv"} <= set(built_in_tasks())
    for name in built_in_tasks():
        assert nas.task_doc(name), f"task {name} needs a docstring"


class TestEveryTask(TaskContract):
    """The task contract (nas.testing.TaskContract) on every registered task, each
    training a flat MLP or a sample of the space it names; graph and sequence tasks need
    architectures of their own: test_graph_sequence_tasks.py runs the contract on those."""

    required_metrics = ("device",)

    @pytest.fixture(params=built_in_tasks(), scope="class")  # each task built once
    @classmethod
    def task_under_test(cls, request, tmp_path_factory):
        task = make_task(request.param, tmp_path_factory.mktemp(request.param))
        if getattr(task, "space_config", None) and not getattr(task, "space", None):
            pytest.skip("a graph or sequence task: see test_graph_sequence_tasks.py")
        return task

    def test_a_classifier_maximizes_val_acc_and_declares_the_usual_metrics(self, built_task):
        if hasattr(built_task, "space_config"):
            pytest.skip("not a plain classifier")
        assert built_task.objective == ("val_acc", "max")
        assert set(SUPERVISED_METRICS) <= set(nas.task_metrics(built_task))


@pytest.mark.parametrize("name", built_in_tasks())
def test_every_registered_task_trains_a_space_sample(name, tmp_path):
    task = make_task(name, tmp_path)
    if hasattr(task, "space_config"):
        pytest.skip("needs its own space or settings: see test_graph_sequence_tasks.py, "
                    "test_generative.py, test_ssl.py")
    space = nas.get_space("mlp", in_shape=task.in_shape, n_out=task.n_out)
    graph = space.build(space.sample(0))
    finite_metrics(task.evaluate(graph, budget="5steps"))


def test_mnist1d_shapes_and_splits(mnist1d):
    s = mnist1d.splits
    assert mnist1d.in_shape == (1, 40) and mnist1d.n_out == 10
    assert s.sizes == (3500, 500, 1000)
    assert s.x_train.dtype == torch.float32 and s.x_train.shape[1:] == (1, 40)
    train_rows = {r.numpy().tobytes() for r in s.x_train}
    assert not any(r.numpy().tobytes() in train_rows for r in s.x_val)
    again = nas.get_task("mnist1d")
    assert torch.equal(again.splits.x_val, s.x_val) and torch.equal(again.splits.y_train,
                                                                      s.y_train)
    other = nas.get_task("mnist1d", split_seed=1)
    assert not torch.equal(other.splits.x_val, s.x_val)


def test_split_indices_are_disjoint_complete_and_reproducible():
    train_i, val_i, test_i = split_indices(100, 0.2, 15, seed=3)
    assert (len(train_i), len(val_i), len(test_i)) == (65, 20, 15)
    assert sorted(np.concatenate([train_i, val_i, test_i]).tolist()) == list(range(100))
    for a, b in zip((train_i, val_i, test_i), split_indices(100, 0.2, 15, seed=3)):
        assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="no training samples"):
        split_indices(10, 5, 5)


def test_digits_splits_and_shape():
    pytest.importorskip("sklearn")
    task = nas.get_task("digits")
    assert task.in_shape == (1, 8, 8) and task.n_out == 10
    assert sum(task.splits.sizes) == 1797
    assert float(task.splits.x_train.max()) <= 1.0
    assert torch.equal(nas.get_task("digits").splits.x_test, task.splits.x_test)


def test_digits_without_sklearn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"nas-toolkit\[digits\]"):
        nas.get_task("digits")


def test_array_task_classification_with_text_labels():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = np.where(x[:, 0] > 0, "pos", "neg")
    task = ArrayTask(x, y, config=QUICK)
    assert task.kind == "classification" and task.n_out == 2 and list(task.classes) == [
        "neg", "pos"]
    finite_metrics(task.evaluate(tiny_graph(task.in_shape, task.n_out), "30steps"))


def test_array_task_regression_from_tensors():
    x = torch.randn(300, 4, generator=torch.Generator().manual_seed(0))  # same data each run
    y = 100 + 50 * x[:, :1] - 20 * x[:, 1:2]  # float targets on their own scale
    task = ArrayTask(x, y, config=QUICK)
    assert task.kind == "regression" and task.objective == ("val_mse", "min")
    assert task.n_out == 1 and task.in_shape == (4,)
    result = task.evaluate(tiny_graph(task.in_shape, task.n_out), "200steps")
    assert result.ok and math.isfinite(result.objectives["val_mse"])
    assert "test_mse" in result.metrics and "val_loss" in result.metrics
    # the reported error is in the targets' units: the standardized loss times their variance
    var = float(task.y_scale.square())
    assert result.objectives["val_mse"] == pytest.approx(result.metrics["val_loss"] * var,
                                                         rel=1e-4)
    assert result.objectives["val_mse"] < 0.2 * var  # it learned something


def test_array_task_rejects_bad_input():
    with pytest.raises(ValueError, match="one target per sample"):
        ArrayTask(np.zeros((5, 2)), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="NaN"):
        ArrayTask(np.full((10, 2), np.nan), np.arange(10) % 2)


def test_csv_task_errors_say_what_to_change(tmp_path):
    path = write_csv(tmp_path / "data.csv")
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        nas.get_task("csv:nope.csv", target="label")
    with pytest.raises(ValueError, match="did you mean label"):
        nas.get_task(f"csv:{path}", target="labels")
    with pytest.raises(ValueError, match="target=COLUMN.*a, b, note, label"):
        nas.get_task(f"csv:{path}")
    with pytest.raises(ValueError, match="not numeric"):
        nas.get_task(f"csv:{path}", target="label", features=["a", "note"])


def test_csv_task_regression_target(tmp_path):
    path = write_csv(tmp_path / "data.csv")
    with pytest.warns(UserWarning):
        task = nas.get_task(f"csv:{path}", target="b", features=None)
    assert task.kind == "regression" and task.features == ["a"]


# ---------------------------------------------------------------- the trainer
def test_cpu_runs_are_reproducible(mnist1d):
    graph = tiny_graph(mnist1d.in_shape, mnist1d.n_out)
    a, b = (mnist1d.evaluate(graph, "30steps", seed=1) for _ in range(2))
    assert a.objectives == b.objectives and a.metrics["test_acc"] == b.metrics["test_acc"]
    c = mnist1d.evaluate(graph, "30steps", seed=2)
    assert c.metrics["val_loss"] != a.metrics["val_loss"]


def test_budgets_in_epochs_and_seconds(mnist1d):
    graph = tiny_graph(mnist1d.in_shape, mnist1d.n_out)
    assert mnist1d.evaluate(graph, Budget(0.5, "epochs")).metrics["steps"] == 18  # 35 / epoch
    result = mnist1d.evaluate(graph, "0.5s")
    assert result.ok and result.metrics["steps"] >= 1


def test_paper_cnn_reaches_90_percent_on_mnist1d(mnist1d):
    """The default recipe with the MNIST-1D paper's CNN: >= 90% test accuracy in 1,200
    steps (seed 0 gives 92.7%, seeds 0-4 91.8-92.7%; the paper's recipe uses 6,000)."""
    result = mnist1d.evaluate(paper_cnn_graph(), "1200steps", seed=0)
    assert result.ok
    assert result.metrics["test_acc"] >= 0.90, result
    assert result.metrics["params"] == 5210 and result.metrics["flops"] > 0


def test_report_is_called_on_schedule_and_can_prune(mnist1d):
    graph = tiny_graph(mnist1d.in_shape, mnist1d.n_out)
    calls = []
    cfg = TrainConfig(report_every=10, latency_runs=2)
    result = train(graph, mnist1d, "35steps", cfg, report=lambda s, v: calls.append((s, v)))
    assert result.ok and [s for s, _ in calls] == [10, 20, 30]
    assert all(0 <= v <= 1 for _, v in calls)

    pruned = train(graph, mnist1d, "1000steps", cfg, report=lambda step, value: step >= 20)
    assert pruned.pruned and not pruned.ok and pruned.error is None
    assert pruned.metrics["steps"] == 20 and "val_acc" in pruned.objectives


def test_errors_raised_by_report_itself_propagate(mnist1d):
    class Stop(Exception):
        pass

    def report(step, value):
        raise Stop()

    with pytest.raises(Stop):
        train(tiny_graph((1, 40), 10), mnist1d, "20steps", TrainConfig(report_every=5),
              report=report)


# ---------------------------------------------------------------- failure isolation
class Raises(nn.Module):
    def __init__(self, exc: BaseException):
        super().__init__()
        self.linear = nn.Linear(40, 10)
        self.exc = exc

    def forward(self, x):
        raise self.exc


class NaNAfter(nn.Module):
    """Finite for ``ok_steps`` forwards, then NaN outputs."""

    def __init__(self, ok_steps: int):
        super().__init__()
        self.linear = nn.Linear(40, 10)
        self.ok_steps, self.calls = ok_steps, 0

    def forward(self, x):
        self.calls += 1
        out = self.linear(x.flatten(1))
        return out if self.calls <= self.ok_steps else out * float("nan")


class Slow(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(40, 10)

    def forward(self, x):
        import time

        time.sleep(0.02)
        return self.linear(x.flatten(1))


def bad_graph() -> ArchGraph:
    """A conv whose kernel (99) is longer than its input (40): fails to compile."""
    g = ArchGraph()
    x = g.add_input("x", (1, 40))
    h = g.add_node("conv", "conv1d", {"channels": 4, "kernel": 99, "padding": 0}, [x])
    g.set_output("y", h)
    return g


OOM_ERRORS = [torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
              RuntimeError("[enforce fail at alloc_cpu.cpp] DefaultCPUAllocator: "
                           "can't allocate memory: you tried to allocate 1 bytes. "
                           "Error code 12 (Cannot allocate memory) out of memory"),
              MemoryError()]


@pytest.mark.parametrize("candidate, config, reason", [
    (bad_graph(), QUICK, "compile error:"),
    (Raises(ValueError("boom")), QUICK, "runtime error: ValueError: boom"),
    (NaNAfter(ok_steps=3), QUICK, "non-finite loss"),
    *[(Raises(e), QUICK, "out of memory") for e in OOM_ERRORS],
    (Slow(), TrainConfig(time_limit_s=0.05, latency_runs=2), "time limit"),
], ids=["compile", "runtime", "nan", "cuda-oom", "cpu-oom", "memory-error", "time-limit"])
def test_a_bad_candidate_fails_cleanly_and_the_next_one_trains(candidate, config, reason,
                                                               mnist1d, monkeypatch):
    freed = []
    real_free = evaluators.loop.free_memory
    monkeypatch.setattr(evaluators.loop, "free_memory",
                        lambda dev: (freed.append(dev), real_free(dev)))
    result = train(candidate, mnist1d, "1000steps", config)
    assert not result.ok and result.error.startswith(reason), result.error
    assert result.error.startswith(REASONS)
    assert freed, "memory is freed after a failure"
    assert Result.from_dict(result.to_dict()) == result  # a failure is a plain record too
    finite_metrics(mnist1d.evaluate(tiny_graph((1, 40), 10), "10steps"))


def test_nan_is_caught_within_check_every_steps(mnist1d):
    result = train(NaNAfter(ok_steps=12), mnist1d, "1000steps", TrainConfig(check_every=5))
    assert result.error.startswith("non-finite loss") and result.metrics["steps"] == 15


def test_an_oom_from_the_graphs_own_forward_is_caught(mnist1d, monkeypatch):
    """A simulated CUDA OOM inside a compiled graph's forward (monkeypatched)."""

    def oom(self, *inputs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")

    monkeypatch.setattr(nas.GraphModule, "forward", oom)
    result = mnist1d.evaluate(paper_cnn_graph(), "10steps")
    assert result.error.startswith("out of memory")
    monkeypatch.undo()
    assert mnist1d.evaluate(paper_cnn_graph(), "5steps").ok


def test_train_config_from_dict_names_unknown_keys():
    assert TrainConfig.from_dict({"lr": 0.1, "betas": [0.8, 0.9]}).betas == (0.8, 0.9)
    with pytest.raises(ValueError, match="lrate"):
        TrainConfig.from_dict({"lrate": 0.1})


# ---------------------------------------------------------------- devices
@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only error")
def test_asking_for_cuda_without_a_gpu_says_so():
    with pytest.raises(ValueError, match="device='cpu'"):
        evaluators.resolve_device("cuda")
    assert evaluators.resolve_device("auto") == torch.device("cpu")


class AutocastProbe(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(40, 10)
        self.seen = set()

    def forward(self, x):
        out = self.linear(x.flatten(1))
        self.seen.add(out.dtype)
        return out


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_training_uses_bf16_and_measures_memory(mnist1d):
    probe = AutocastProbe()
    result = train(probe, mnist1d, "20steps", QUICK, device="cuda")
    finite_metrics(result)
    assert result.metrics["device"].startswith("cuda")
    assert result.metrics["peak_mem_mb"] > 0
    assert torch.bfloat16 in probe.seen


class Hog(nn.Module):
    """Asks the device for twice its memory in forward: a real allocator OOM."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(40, 10)

    def forward(self, x):
        total = torch.cuda.get_device_properties(x.device).total_memory
        hog = torch.empty(2 * total, dtype=torch.uint8, device=x.device)
        return self.linear(x.flatten(1)) + hog[:1].float()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_real_cuda_oom_fails_cleanly_and_frees_memory(mnist1d):
    result = train(Hog(), mnist1d, "5steps", QUICK, device="cuda")
    assert result.error.startswith("out of memory"), result.error
    assert torch.cuda.memory_allocated() < 2**30
    assert mnist1d.evaluate(tiny_graph((1, 40), 10), "5steps", device="cuda").ok
