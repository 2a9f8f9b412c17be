"""One-shot evaluation on the training loop: supernet training moves the shared store,
scoring with inherited weights recalibrates batch norm to statistics computed by hand."""

from __future__ import annotations

import collections
import math

import pytest
import torch

import nas
from evaluators import LoopTask, Splits, SupervisedTask, TrainConfig, epoch_batches
from nas import Space, SuperNet, compile_graph, count_params


def conv_bn(b, in_shape, n_out):
    x = b.input(in_shape)
    x = b.op("conv", x, channels=b.choice("width", [4, 8]), kernel=3, bias=False)
    x = b.op("batch_norm", x)
    x = b.op(b.choice("act", ["relu", "tanh"]), x)
    return b.output(b.op("linear", b.op("global_avg_pool", x), features=n_out))


def task(n_train=40, batch=10) -> SupervisedTask:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n_train + 40, 1, 12, generator=g)
    y = (x.mean((1, 2)) > 0).long()
    splits = Splits(x[:n_train], y[:n_train], x[n_train:n_train + 20], y[n_train:n_train + 20],
                    x[n_train + 20:], y[n_train + 20:])
    cfg = TrainConfig(batch_size=batch, latency_runs=1, report_every=10**6)
    return SupervisedTask(splits, "classification", n_out=2, config=cfg)


def supernet(rule="slice") -> SuperNet:
    return SuperNet(Space(conv_bn, (1, 12), 2), rule=rule, probe=30)


def test_loop_tasks_have_the_one_shot_methods():
    assert callable(LoopTask.train_supernet) and callable(LoopTask.score_inherited)


@pytest.mark.parametrize("sampling", ["uniform", "fair", "sandwich"])
def test_training_moves_the_store_and_reports_the_paths(sampling):
    net, t = supernet(), task()
    before = {k: p.detach().clone() for k, p in net.store.items()}
    seen = []
    result = t.train_supernet(net, "12steps", sampling=sampling, device="cpu",
                              progress=lambda step, total: seen.append((step, total)))
    assert result.ok, result.error
    steps = {"uniform": 12, "fair": 6, "sandwich": 3}[sampling]  # 12 passes, 1, 2 or 4 a step
    assert seen == [(s, steps) for s in range(1, steps + 1)]
    assert result.metrics["trained_paths"] == 12
    assert result.metrics["steps"] == steps
    assert any(not torch.equal(p, before[k]) for k, p in net.store.items())


def test_fair_budget_counts_passes_each_option_trained_once_a_step():
    net, t = supernet(), task()
    trained = []
    activate = net.activate
    net.activate = lambda graph: trained.append(graph.meta["decisions"]) or activate(graph)
    result = t.train_supernet(net, "13steps", sampling="fair", device="cpu")  # 2 a step
    assert result.ok, result.error
    trained = trained[1:]  # the first: set up before training, not trained
    assert len(trained) == result.metrics["trained_paths"] == 14  # ceil(13 / 2) = 7 steps
    for j in range(0, 14, 2):  # each step: both widths and both activations, once each
        step = trained[j:j + 2]
        assert sorted(d["width"] for d in step) == [4, 8]
        assert sorted(d["act"] for d in step) == ["relu", "tanh"]
    assert collections.Counter(d["width"] for d in trained) == {4: 7, 8: 7}


def test_on_path_gets_each_trained_candidate_and_its_loss_and_changes_nothing():
    net, t = supernet(), task()
    trained = []
    activate = net.activate
    net.activate = lambda graph: trained.append(graph) or activate(graph)
    told = []
    result = t.train_supernet(net, "8steps", sampling="fair", device="cpu",
                              on_path=lambda step, g, loss: told.append((step, g, loss)))
    assert result.ok, result.error
    assert [g for _, g, _ in told] == trained[1:]  # the first activation: set-up only
    assert [s for s, _, _ in told] == [s for s in range(4) for _ in range(2)]  # 2 a step
    assert all(math.isfinite(loss) and loss > 0 for _, _, loss in told)
    plain = supernet()
    assert t.train_supernet(plain, "8steps", sampling="fair", device="cpu").ok
    assert all(torch.equal(p, plain.store[k]) for k, p in net.store.items())


def test_lr_sets_the_supernets_learning_rate():
    moved = {}
    for lr in (None, 1e-12):
        net, t = supernet(), task()
        before = {k: p.detach().clone() for k, p in net.store.items()}
        assert t.train_supernet(net, "8steps", device="cpu", lr=lr).ok
        moved[lr] = max(float((p.detach() - before[k]).abs().max())
                        for k, p in net.store.items())
    assert moved[None] > 1e-3 and moved[1e-12] < 1e-8  # 0.3 x the recipe's 1e-2 vs almost none


def test_the_default_supernet_lr_is_a_share_of_the_recipes():
    """lr None trains exactly as SUPERNET_LR_SCALE times the recipe's peak, not as the
    recipe's own."""
    from evaluators import SUPERNET_LR_SCALE

    stores = {}
    for lr in (None, SUPERNET_LR_SCALE * task().config.lr, task().config.lr):
        net, t = supernet(), task()
        assert t.train_supernet(net, "8steps", device="cpu", lr=lr).ok
        stores[lr] = {k: p.detach().clone() for k, p in net.store.items()}
    scaled, full = list(stores.values())[1:]
    assert 0 < SUPERNET_LR_SCALE < 1
    assert all(torch.equal(p, scaled[k]) for k, p in stores[None].items())
    assert not all(torch.equal(p, full[k]) for k, p in stores[None].items())


def test_passes_budget_leaves_epochs_and_seconds_alone():
    from evaluators.oneshot import passes_budget

    assert passes_budget("10steps", 3) == nas.Budget(4, "steps")
    assert passes_budget("10steps", 1) == nas.Budget(10, "steps")
    assert passes_budget("2epochs", 3) == nas.Budget(2, "epochs")
    assert passes_budget("30s", 4) == nas.Budget(30, "seconds")


def test_score_recalibrates_batch_norm_to_the_hand_averaged_batch_statistics():
    net, t = supernet(), task(n_train=40, batch=10)
    t.train_supernet(net, "4steps", device="cpu")  # running stats now hold something
    graph = Space(conv_bn, (1, 12), 2).build({"width": 4, "act": "tanh"})
    captured = {}
    original = net.extract

    def extract(g):
        captured["net"] = original(g)
        return captured["net"]

    net.extract = extract
    result = t.score_inherited(net, graph, seed=5, device="cpu", calib_batches=3)
    assert result.ok, result.error
    bn = captured["net"].batch_norm_0
    conv = captured["net"].conv_0
    # the same 3 batches the loop draws: seeded permutations of the training split
    batches = epoch_batches(40, 10, torch.Generator().manual_seed(5), "cpu")
    means, variances = [], []
    with torch.no_grad():
        for _ in range(3):
            h = torch.nn.functional.conv1d(t.splits.x_train[next(batches)], conv.weight,
                                           padding=1)  # (B, C, L)
            means.append(h.mean((0, 2)))
            variances.append(h.transpose(0, 1).reshape(h.shape[1], -1).var(1))
    assert torch.allclose(bn.running_mean, torch.stack(means).mean(0), atol=1e-5)
    assert torch.allclose(bn.running_var, torch.stack(variances).mean(0), atol=1e-5)
    assert bn.momentum == 0.1  # restored after the calibration


def test_score_is_the_candidates_own_result():
    net, t = supernet(), task()
    graph = Space(conv_bn, (1, 12), 2).build({"width": 8, "act": "relu"})
    result = t.score_inherited(net, graph, device="cpu", calib_batches=2)
    assert result.ok, result.error
    assert set(result.objectives) == {"val_acc"}
    assert result.metrics["params"] == count_params(compile_graph(graph))
    assert result.metrics["coverage"] == 1.0
    # the inherited weights decide the score: same store, same graph, same value
    again = t.score_inherited(net, graph, device="cpu", calib_batches=2)
    assert again.objectives == result.objectives
    with pytest.raises(ValueError, match="calib_batches"):
        t.score_inherited(net, graph, calib_batches=-1)


def test_gan_parts_hold_disjoint_weights_and_train_separately():
    from evaluators.generative.gan import GENERATED, SCORE, subgraph

    task = nas.get_task("gan", config={"latency_runs": 1, "batch_size": 16})
    space = nas.get_space("gan", in_shape=task.in_shape, n_out=task.n_out)
    net = SuperNet(space, rule="slice", probe=6)
    pair = task.supernet_model(net)
    g_ids = {id(p) for p in pair.generator.parameters()}
    d_ids = {id(p) for p in pair.discriminator.parameters()}
    assert g_ids and d_ids and not g_ids & d_ids
    assert g_ids | d_ids == {id(p) for p in net.store.values()}
    # the generator part runs the active candidate's generator on the store: what the
    # whole candidate, extracted, computes for its output "generated"
    graph = net.probe_graphs[0][1]
    net.activate(graph)
    gen_inputs = subgraph(graph, GENERATED).inputs  # the latent z
    z = torch.randn(3, pair.latent)
    whole = net.extract(graph).eval()
    inputs = [z[:, :spec.shape[0]] if name in gen_inputs else torch.randn(3, *spec.shape)
              for name, spec in graph.inputs.items()]
    expected = whole(*inputs)[whole.output_names.index(GENERATED)]
    assert torch.allclose(pair.generator.eval()(z), expected, atol=1e-6)
    assert SCORE in whole.output_names


def test_scoring_a_gan_leaves_its_inherited_weights_as_they_were():
    task = nas.get_task("gan", config={"latency_runs": 1, "batch_size": 16})
    space = nas.get_space("gan", in_shape=task.in_shape, n_out=task.n_out)
    net = SuperNet(space, rule="slice", probe=20)
    graph = next(g for _, g in net.probe_graphs
                 if any(n.op == "batch_norm" for n in g.nodes()))
    pair = task.inherited_model(net, graph)
    before = {k: v.clone() for k, v in pair.weights().items()}
    task.inherited_model = lambda supernet, g: pair  # the very modules we watch
    result = task.score_inherited(net, graph, device="cpu", calib_batches=3)
    assert result.ok, result.error
    after = pair.weights()
    stats = [k for k in before if "running_mean" in k]
    assert stats and all(not torch.equal(after[k], before[k]) for k in stats)  # calibrated
    assert all(torch.equal(after[k], v) for k, v in before.items()
               if "running" not in k and "num_batches" not in k)  # weights untouched


def test_a_candidate_that_cannot_be_built_is_a_failed_result():
    net, t = supernet(), task()
    graph = Space(conv_bn, (1, 12), 2).build({"width": 4, "act": "relu"})

    def broken(supernet, g):
        raise ValueError("no such op")

    t.inherited_model = broken
    result = t.score_inherited(net, graph, device="cpu")
    assert not result.ok and result.error.startswith("compile error:")
    assert "no such op" in result.error


def test_finetune_trains_the_candidates_copy_and_leaves_the_store_alone():
    net, t = supernet(), task()
    t.train_supernet(net, "4steps", device="cpu")
    graph = Space(conv_bn, (1, 12), 2).build({"width": 8, "act": "tanh"})
    store = {k: p.detach().clone() for k, p in net.store.items()}
    captured = []
    original = net.extract
    net.extract = lambda g: captured.append(original(g)) or captured[-1]
    inherited = dict(original(graph).named_parameters())
    result = t.score_inherited(net, graph, device="cpu", calib_batches=2, finetune_steps=5)
    assert result.ok, result.error
    assert result.metrics["steps"] == 5 and result.metrics["finetune_steps"] == 5
    tuned = dict(captured[-1].named_parameters())
    assert all(not torch.equal(tuned[k], p) for k, p in inherited.items())  # every one moved
    assert all(torch.equal(p, store[k]) for k, p in net.store.items())  # the store did not
    plain = t.score_inherited(net, graph, device="cpu", calib_batches=2)
    assert all(torch.equal(q, inherited[k]) for k, q in captured[-1].named_parameters())
    assert plain.metrics["finetune_steps"] == 0
    with pytest.raises(ValueError, match="finetune_steps"):
        t.score_inherited(net, graph, finetune_steps=-1)
