"""Graph and sequence tasks: each trains a tiny model from its own space (gnn or
transformer), splits are disjoint and reproducible, short budgets beat chance, and a
bad candidate becomes a failed Result."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import nas
from evaluators import TrainConfig
from evaluators.graphs import GraphClasses
from nas.testing import TaskContract

QUICK = TrainConfig(latency_runs=2, batch_size=32)
GRAPH_TASKS = ["karate", "sbm", "graph_classes"]
SEQUENCE_TASKS = ["seq2seq", "charlm"]
TINY_GNN = {"layer": "gcn", "hidden": 16, "norm": "none", "activation": "relu",
            "residual": False, "dropout": 0.0, "layers": 2, "readout": "mean"}
TINY_TRANSFORMER = {"d_model": 32, "heads": 2, "ff_ratio": 2, "layers": 1, "dec_layers": 1,
                    "dropout": 0.0, "norm_first": True, "activation": "gelu",
                    "pos_encoding": "learned"}


@pytest.fixture(scope="module")
def tasks():
    return {name: nas.get_task(name, config=QUICK) for name in GRAPH_TASKS + SEQUENCE_TASKS}


def tiny_model(task) -> nas.ArchGraph:
    """A small architecture from the space the task names (gnn or transformer)."""
    space_name = "gnn" if "level" in task.space_config else "transformer"
    space = nas.get_space(space_name, in_shape=task.in_shape, n_out=task.n_out,
                          **task.space_config)
    decisions = TINY_GNN if space_name == "gnn" else TINY_TRANSFORMER
    return space.build(space.complete(dict(decisions), rng=0))


def assert_finite(result: nas.Result, test_metric: str) -> None:
    assert result.ok, result.error
    for key, value in {**result.objectives, **result.metrics}.items():
        if key != "device":
            assert math.isfinite(value), (key, value)
    for key in (test_metric, "params", "flops", "latency_ms", "train_time_s", "steps"):
        assert key in result.metrics, key


# ---------------------------------------------------------------- every new task
class Raises(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, *inputs):
        raise RuntimeError("boom")


class TestGraphAndSequenceTasks(TaskContract):
    """The task contract (nas.testing.TaskContract) on the graph and sequence tasks,
    each training a small model from its own space; a raising model fails cleanly."""

    @pytest.fixture(params=GRAPH_TASKS + SEQUENCE_TASKS)
    def task_under_test(self, request, tasks):
        return tasks[request.param]

    def make_graph(self, task) -> nas.ArchGraph:
        return tiny_model(task)

    def failing_candidates(self, task):
        return [*super().failing_candidates(task), (Raises(), "runtime error: RuntimeError: boom")]

    def test_is_registered_with_a_docstring_and_its_test_metric(self, built_task):
        assert nas.task_doc(built_task.name)
        test_metric = "test_ppl" if built_task.name == "charlm" else "test_acc"
        assert test_metric in nas.task_metrics(built_task)


def test_a_graph_with_the_wrong_inputs_gives_a_failed_result(tasks):
    mlp = nas.get_space("mlp", in_shape=(34,), n_out=2)
    result = tasks["seq2seq"].evaluate(mlp.build(mlp.sample(0)), budget="5steps")
    assert not result.ok and result.error.startswith(("runtime error:", "compile error:"))


def test_report_can_prune_a_run(tasks):
    task = nas.get_task("karate", config=TrainConfig(report_every=5, latency_runs=2))
    seen = []
    result = task.evaluate(tiny_model(task), budget="50steps",
                           report=lambda step, value: seen.append(step) or step >= 10)
    assert result.pruned and seen == [5, 10] and result.metrics["steps"] == 10
    assert "test_acc" not in result.metrics


# ---------------------------------------------------------------- graph tasks
@pytest.mark.parametrize("name", GRAPH_TASKS)
def test_graph_splits_are_disjoint_complete_and_reproducible(name, tasks):
    t = tasks[name].tensors
    parts = [set(t[k].tolist()) for k in ("train", "val", "test")]
    assert all(parts) and not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    total = len(t["y"]) if name == "graph_classes" else len(t["x"])
    assert sum(map(len, parts)) == total
    again = nas.get_task(name).tensors
    assert all(torch.equal(t[k], again[k]) for k in t)
    other = nas.get_task(name, split_seed=1).tensors
    assert not torch.equal(t["val"], other["val"])


def test_graph_tasks_bind_the_gnn_space_they_name(tasks):
    assert tasks["karate"].space_config == {"level": "node"}
    assert tasks["graph_classes"].space_config == {"level": "graph"}
    assert tasks["karate"].in_shape == (34,) and tasks["karate"].n_out == 2
    assert tasks["sbm"].n_out == 4 and tasks["graph_classes"].n_out == 4
    graph = tiny_model(tasks["graph_classes"])
    assert [s.kind for s in graph.inputs.values()][1:] == ["edge_index", "graph_index"]


def test_a_graph_batch_is_a_disjoint_union():
    task = GraphClasses(per_class=5)
    data = task.data_on(torch.device("cpu"))
    ids = torch.tensor([0, 3, 7, 12])
    inputs, (y, _) = task.union(data, ids)
    gi, edges = inputs["graph_index"], inputs["edge_index"]
    assert gi.unique().tolist() == [0, 1, 2, 3] and torch.equal(y, data["y"][ids])
    assert len(inputs["x"]) == len(gi) == int(torch.isin(data["graph_of_node"], ids).sum())
    assert edges.max() < len(gi) and torch.equal(gi[edges[0]], gi[edges[1]])


def test_karate_gcn_beats_chance_quickly(tasks):
    task = tasks["karate"]
    result = task.evaluate(tiny_model(task), budget="60steps")
    assert result.ok, result.error
    assert result.objectives["val_acc"] >= 0.75 and result.metrics["test_acc"] >= 0.75


# ---------------------------------------------------------------- sequence tasks
def test_seq2seq_data_is_reversed_teacher_forced_disjoint_and_reproducible(tasks):
    task = tasks["seq2seq"]
    t = task.tensors
    assert task.in_shape == nas.TensorSpec((8,), kind="tokens", vocab=12)
    assert torch.equal(t["out_train"], t["src_train"].flip(1))
    assert (t["tgt_train"][:, 0] == 0).all()
    assert torch.equal(t["tgt_train"][:, 1:], t["out_train"][:, :-1])
    assert (t["src_train"] > 0).all()
    rows = [{tuple(r) for r in t[f"src_{s}"].tolist()} for s in ("train", "val", "test")]
    assert not (rows[0] & rows[1] or rows[0] & rows[2] or rows[1] & rows[2])
    again = nas.get_task("seq2seq").tensors
    assert all(torch.equal(t[k], again[k]) for k in t)
    sort = nas.get_task("seq2seq", op="sort", n_train=50, n_val=10, n_test=10).tensors
    assert torch.equal(sort["out_val"], sort["src_val"].sort(1).values)


def test_seq2seq_beats_chance_token_accuracy(tasks):
    task = tasks["seq2seq"]
    result = task.evaluate(tiny_model(task), budget="60steps")
    assert result.ok, result.error
    assert result.objectives["val_acc"] > 1.5 / task.n_out
    assert 0.0 <= result.metrics["val_exact"] <= result.objectives["val_acc"]


def test_charlm_default_corpus_splits_and_vocabulary(tasks):
    task = tasks["charlm"]
    assert task.objective == ("val_ppl", "min") and task.space_config == {"mode": "decoder"}
    assert task.in_shape.shape == (64,) and task.in_shape.vocab == task.n_out == len(task.chars)
    val = task.tensors["val"]
    assert val.shape[1] == 65 and torch.equal(val[1:, 0], val[:-1, -1])  # contiguous windows
    again = nas.get_task("charlm").tensors
    assert all(torch.equal(task.tensors[k], again[k]) for k in task.tensors)


def test_charlm_learns_within_a_short_budget(tasks):
    task = tasks["charlm"]
    result = task.evaluate(tiny_model(task), budget="40steps")
    assert_finite(result, "test_ppl")
    assert result.objectives["val_ppl"] < task.n_out
    ce = math.log(result.objectives["val_ppl"])
    assert result.metrics["val_bpc"] == pytest.approx(ce / math.log(2), rel=1e-6)


def test_charlm_reads_a_user_file(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text("the quick brown fox jumps over the lazy dog. " * 80, encoding="utf-8")
    task = nas.get_task(f"charlm:{path}", context=16, config=QUICK)
    assert task.n_out == len(set(path.read_text())) + 1  # plus the unknown id
    result = task.evaluate(tiny_model(task), budget="10steps")
    assert_finite(result, "test_ppl")
    with pytest.raises(ValueError, match="too short"):
        nas.get_task(f"charlm:{path}", context=512)
