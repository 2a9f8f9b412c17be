"""Self-supervised tasks: NT-Xent and the probe against hand computations, BYOL's target
moved only by its EMA, augmentations, pre-training that beats an untrained encoder,
and a search on simclr:mnist1d."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import nas
from evaluators import augment as A
from evaluators import build_model
from evaluators.ssl import BYOL, SSL_CONFIG, RidgeProbe, byol_loss, nt_xent, probe
from evaluators.ssl.probe import LAMBDAS

QUICK = {"batch_size": 64, "latency_runs": 2}


def tiny_encoder(in_shape, features: int) -> nas.ArchGraph:
    """flatten -> linear 32 -> batch norm -> relu -> linear ``features``."""
    g = nas.ArchGraph()
    h = g.add_node("flat", "flatten", {}, [g.add_input("x", tuple(in_shape))])
    h = g.add_node("hidden", "linear", {"features": 32}, [h])
    h = g.add_node("bn", "batch_norm", {}, [h])
    h = g.add_node("act", "relu", {}, [h])
    g.set_output("z", g.add_node("head", "linear", {"features": features}, [h]))
    return g


# ---------------------------------------------------------------- losses
def test_nt_xent_matches_a_hand_computed_case():
    """Two pairs in 2-D: z1 = (a, b), z2 = (c, d) with a = c = (1, 0), b = (0, 1),
    d = (1, 1)/sqrt(2). Cosines: a.b = 0, a.c = 1, a.d = b.d = c.d = r = 1/sqrt(2),
    b.c = 0. Anchor losses -log(exp(pos / t) / sum over the other three exp(cos / t))."""
    t, r = 0.5, 1 / math.sqrt(2)
    e = lambda c: math.exp(c / t)  # noqa: E731
    by_hand = [-math.log(e(1) / (e(0) + e(1) + e(r))),  # a: positive c; negatives b, d
               -math.log(e(r) / (e(0) + e(0) + e(r))),  # b: positive d; negatives a, c
               -math.log(e(1) / (e(1) + e(0) + e(r))),  # c: positive a; negatives b, d
               -math.log(e(r) / (e(r) + e(r) + e(r)))]  # d: positive b; negatives a, c
    z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z2 = torch.tensor([[3.0, 0.0], [2.0, 2.0]])  # lengths do not matter: cosines do
    assert nt_xent(z1, z2, t).item() == pytest.approx(sum(by_hand) / 4, rel=1e-6)
    assert nt_xent(z2, z1, t).item() == pytest.approx(sum(by_hand) / 4, rel=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        nt_xent(z1, z2[:1])


def test_nt_xent_is_lowest_when_views_agree_and_samples_differ():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(16, 8, generator=gen)
    aligned = nt_xent(z, z, 0.2).item()
    shuffled = nt_xent(z, z[torch.randperm(16, generator=gen)], 0.2).item()
    assert aligned < shuffled
    assert byol_loss(z, 5 * z).item() == pytest.approx(0.0, abs=1e-6)
    assert byol_loss(z, -z).item() == pytest.approx(4.0, abs=1e-6)


# ---------------------------------------------------------------- BYOL's target
def snapshot(module: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def test_byol_target_gets_no_gradient_and_moves_only_by_its_ema():
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(40, 32), nn.BatchNorm1d(32), nn.ReLU(),
                            nn.Linear(32, 16))
    byol = BYOL(encoder, features=16, hidden=32, proj_dim=8, tau_base=0.9)
    opt = torch.optim.SGD([p for p in byol.parameters() if p.requires_grad], lr=0.5)
    target_params = {id(p) for p in byol.target.parameters()}
    assert target_params and all(not p.requires_grad for p in byol.target.parameters())
    assert not target_params & {id(p) for g in opt.param_groups for p in g["params"]}

    x = torch.randn(32, 1, 40)
    for step in range(1, 4):
        before = snapshot(byol.target)
        loss = byol.loss(x + 0.1 * torch.randn_like(x), x + 0.1 * torch.randn_like(x))
        opt.zero_grad()
        loss.backward()
        assert all(p.grad is None for p in byol.target.parameters())
        assert all(p.grad is not None for p in byol.encoder.parameters())
        opt.step()
        # forward, backward and the optimizer step left the target alone ...
        assert all(torch.equal(a, b) for a, b in zip(before, snapshot(byol.target)))
        tau = byol.tau_at(step, 10)
        byol.after_step(step, 10)
        # ... and the EMA moved it: tau * old + (1 - tau) * online, parameter by parameter
        online = [p for m in byol.online() for p in m.parameters()]
        for old, new, o in zip(before, byol.target.parameters(), online):
            torch.testing.assert_close(new, tau * old + (1 - tau) * o.detach())
        for tb, ob in zip(byol.target.buffers(), [b for m in byol.online() for b in m.buffers()]):
            assert torch.equal(tb, ob)
    assert 0.9 < byol.tau_at(1, 10) < byol.tau_at(5, 10) < byol.tau_at(10, 10) == 1.0


def test_byol_target_follows_the_ema_in_the_real_training_loop(monkeypatch):
    """In ``pretrain`` itself: before every EMA update the target still holds what the
    previous update left (nothing else wrote to it)."""
    task = nas.get_task("byol", config=QUICK)
    made, checks = [], []
    real_method, real_update = task.method, BYOL.update_target

    def method(encoder):
        made.append(real_method(encoder))
        return made[-1]

    def update_target(self, tau):
        if hasattr(self, "_last"):
            checks.append(all(torch.equal(a, b) for a, b in zip(self._last,
                                                                 snapshot(self.target))))
        real_update(self, tau)
        self._last = snapshot(self.target)

    monkeypatch.setattr(task, "method", method)
    monkeypatch.setattr(BYOL, "update_target", update_target)
    result = task.evaluate(tiny_encoder(task.in_shape, task.n_out), "12steps", device="cpu")
    assert result.ok, result.error
    assert checks == [True] * 11
    initial = build_model(tiny_encoder(task.in_shape, task.n_out), 0)  # the same seed: the start
    moved = made[0].target["encoder"].state_dict()
    assert any(not torch.equal(moved[k], v) for k, v in initial.state_dict().items())


# ---------------------------------------------------------------- augmentations
SIGNALS = torch.randn(8, 2, 40, generator=torch.Generator().manual_seed(1))
IMAGES = torch.rand(8, 1, 8, 8, generator=torch.Generator().manual_seed(2))


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("aug, x", [(A.SignalAugment(), SIGNALS),
                                    (A.ImageAugment(flip=0.5), IMAGES)], ids=["signal", "image"])
def test_augmentations_are_seeded_shape_preserving_and_per_sample(aug, x):
    a, b = aug(x, gen(0)), aug(x, gen(0))
    assert a.shape == x.shape and torch.equal(a, b)
    g = gen(0)
    v1, v2 = aug(x, g), aug(x, g)  # two views from one generator differ
    assert not torch.allclose(v1, v2)
    assert not torch.allclose(a, aug(x, gen(1)))


def test_zero_strength_augmentations_are_the_identity():
    signal = A.SignalAugment(max_shift=0, scale=(1, 1), cutout=0, noise=0, stretch=(1, 1),
                             trend=0)
    assert torch.allclose(signal(SIGNALS, gen()), SIGNALS)
    image = A.ImageAugment(crop_scale=(1, 1), flip=0, noise=0)
    torch.testing.assert_close(image(IMAGES, gen()), IMAGES)


def test_shift_is_a_circular_roll_and_cutout_a_zeroed_window():
    shifted = A.random_shift(SIGNALS, gen(), max_shift=0.25)
    for row, out in zip(SIGNALS, shifted):
        rolls = [k for k in range(-10, 11) if torch.equal(torch.roll(row, k, -1), out)]
        assert len(rolls) == 1
    assert not torch.equal(shifted, SIGNALS)
    cut = A.cutout(SIGNALS, gen(), max_frac=0.25)
    for row, out in zip(SIGNALS, cut):
        zeroed = (out != row).any(0).nonzero().flatten()  # positions that changed
        assert torch.all(out[:, zeroed] == 0)
        if len(zeroed):
            assert zeroed[-1] - zeroed[0] + 1 == len(zeroed) <= 10  # one window, <= 25%


def test_flip_crop_stretch_and_scale_do_what_they_say():
    torch.testing.assert_close(A.random_flip(IMAGES, gen(), p=1.0), IMAGES.flip(-1))
    crop = A.random_resized_crop(IMAGES, gen(), scale=(0.3, 0.6))
    assert crop.min() >= IMAGES.min() - 1e-6 and crop.max() <= IMAGES.max() + 1e-6  # bilinear
    flat = torch.full((2, 1, 8, 8), 0.7)
    torch.testing.assert_close(A.random_resized_crop(flat, gen(), (0.3, 0.6)), flat)
    ramp = torch.arange(40.0).expand(4, 1, 40)  # x_i = i
    zoom = A.random_stretch(ramp, gen(), (2.0, 2.0))  # x2 about the centre: x(39/4 + j/2)
    torch.testing.assert_close(zoom, (39 / 4 + torch.arange(40.0) / 2).expand(4, 1, 40))
    shrink = A.random_stretch(ramp, gen(), (0.5, 0.5))  # the edges repeat past the ends
    torch.testing.assert_close(shrink, (-39 / 2 + 2 * torch.arange(40.0)).clamp(0, 39).expand(
        4, 1, 40))
    scaled = A.random_scale(SIGNALS, gen(), (0.5, 2.0))
    ratio = scaled / SIGNALS
    assert torch.allclose(ratio, ratio[:, :1, :1].expand_as(ratio), atol=1e-5)
    assert ratio.min() >= 0.5 - 1e-5 and ratio.max() <= 2.0 + 1e-5


def test_augmenter_for_picks_by_rank_and_names_what_it_takes():
    assert isinstance(A.augmenter_for((1, 40)), A.SignalAugment)
    assert A.augmenter_for((1, 8, 8), {"flip": 0.5, "crop_scale": [0.4, 1]}).crop_scale == (
        0.4, 1)
    with pytest.raises(ValueError, match=r"signals \(C, L\) or images \(C, H, W\)"):
        A.augmenter_for((12,))
    with pytest.raises(ValueError, match="shfit"):
        A.augmenter_for((1, 40), {"shfit": 0.1})


# ---------------------------------------------------------------- the probe
def test_ridge_probe_leave_one_out_matches_refitting_without_each_sample():
    gen_ = torch.Generator().manual_seed(3)
    n, d, c = 30, 5, 3
    feats = torch.randn(n, d, generator=gen_, dtype=torch.float64)
    score = feats[:, :2].sum(1) + 0.8 * torch.randn(n, generator=gen_, dtype=torch.float64)
    labels = torch.bucketize(score, torch.tensor([-0.7, 0.7], dtype=torch.float64))  # 3 classes
    fitted = RidgeProbe.fit(feats, labels, c)
    x = (feats - feats.mean(0)) / feats.std(0)
    onehot = torch.nn.functional.one_hot(labels, c).double()
    design = torch.cat([torch.ones(n, 1, dtype=torch.float64), x], 1)
    accs = []
    for mult in LAMBDAS:  # refit without sample i, for every i: the unpenalized bias too
        penalty = torch.diag(torch.tensor([0.0] + [mult * n] * d, dtype=torch.float64))
        hits = 0
        for i in range(n):
            keep = torch.arange(n) != i
            a, y = design[keep], onehot[keep]
            w = torch.linalg.solve(a.T @ a + penalty, a.T @ y)
            hits += int((design[i] @ w).argmax() == labels[i])
        accs.append(hits / n)
    best = max(range(len(accs)), key=lambda k: (accs[k], k))
    assert fitted.loo_acc == pytest.approx(accs[best])
    assert fitted.lam == pytest.approx(LAMBDAS[best] * n)
    penalty = torch.diag(torch.tensor([0.0] + [fitted.lam] * d, dtype=torch.float64))
    w = torch.linalg.solve(design.T @ design + penalty, design.T @ onehot)
    assert torch.equal(fitted.predict(feats), (design @ w).argmax(1))
    with pytest.raises(ValueError, match="not finite"):
        RidgeProbe.fit(torch.full((4, 2), math.nan), torch.tensor([0, 1, 0, 1]), 2)


# ---------------------------------------------------------------- the tasks
@pytest.fixture(scope="module")
def simclr():
    return nas.get_task("simclr:mnist1d", config=QUICK)


def test_tasks_options_and_errors(simclr):
    assert simclr.name == "simclr:mnist1d" and simclr.objective == ("val_acc", "max")
    assert simclr.in_shape == (1, 40) and simclr.n_out == 64 and simclr.n_classes == 10
    assert len(simclr.probe_index) == 500 == len(set(simclr.probe_index.tolist()))
    task = nas.get_task("byol", features=16, probe_labels=100, config={"lr": 0.1})
    assert task.n_out == 16 and len(task.probe_index) == 100
    assert task.config.lr == 0.1 and task.config.batch_size == SSL_CONFIG.batch_size
    with pytest.raises(ValueError, match="probe_labels must be between 10"):
        nas.get_task("simclr", probe_labels=5)
    with pytest.raises(ValueError, match="lrate"):
        nas.get_task("simclr", config={"lrate": 0.1})
    with pytest.raises(ValueError, match="cannot be pre-trained on"):
        nas.get_task("simclr:karate")


def test_report_gets_the_probe_accuracy_and_can_prune(simclr):
    graph = tiny_encoder(simclr.in_shape, simclr.n_out)
    calls = []
    task = nas.get_task("simclr", config={**QUICK, "report_every": 5})
    result = task.evaluate(graph, "12steps", device="cpu",
                           report=lambda s, v: calls.append((s, v)) or False)
    assert result.ok and [s for s, _ in calls] == [5, 10]
    assert all(0 <= v <= 1 and v * 500 == round(v * 500) for _, v in calls)  # of 500 val
    pruned = task.evaluate(graph, "100steps", device="cpu", report=lambda s, v: s >= 10)
    assert pruned.pruned and pruned.metrics["steps"] == 10 and "val_acc" in pruned.objectives
    assert "test_acc" not in pruned.metrics


class NaNEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(40, 64)

    def forward(self, x):
        return self.linear(x.flatten(1)) * float("nan")


def test_a_bad_encoder_fails_cleanly_and_weights_are_the_encoders(simclr):
    failed = simclr.evaluate(NaNEncoder(), "20steps", device="cpu")
    assert failed.error.startswith("non-finite loss"), failed.error
    graph = tiny_encoder(simclr.in_shape, simclr.n_out)
    result = simclr.evaluate(graph, "5steps", device="cpu", keep_weights=True)
    assert result.ok and result.state_dict.keys() == nas.compile_graph(graph).state_dict().keys()
    assert result.metrics["params"] == nas.count_params(graph)  # the heads are not counted


def test_simclr_and_byol_on_digits_train():
    pytest.importorskip("sklearn")
    for name in ("simclr:digits", "byol:digits"):
        task = nas.get_task(name, config=QUICK)
        assert task.in_shape == (1, 8, 8)
        result = task.evaluate(tiny_encoder(task.in_shape, task.n_out), "10steps", device="cpu")
        assert result.ok and 0 < result.objectives["val_acc"] <= 1 and "test_acc" in result.metrics


def pooled_cnn(features: int, width: int = 32) -> nas.ArchGraph:
    """Three conv1d (kernels 5, 5 stride 2, 3) with batch norm and ReLU, global average
    pooling, linear ``features``: 10,752 parameters on (1, 40)."""
    g = nas.ArchGraph()
    h = g.add_input("x", (1, 40))
    for i, (kernel, stride) in enumerate([(5, 1), (5, 2), (3, 1)]):
        h = g.add_node(f"conv{i}", "conv1d", {"channels": width, "kernel": kernel,
                                              "stride": stride, "padding": kernel // 2}, [h])
        h = g.add_node(f"act{i}", "relu", {}, [g.add_node(f"bn{i}", "batch_norm", {}, [h])])
    h = g.add_node("pool", "global_avg_pool", {}, [h])
    g.set_output("z", g.add_node("head", "linear", {"features": features}, [h]))
    return g


def held_out_acc(val: float, test: float) -> float:
    """Accuracy over the 500 validation and 1,000 test signals together."""
    return (500 * val + 1000 * test) / 1500


@pytest.mark.parametrize("method, margin", [("simclr", 0.06), ("byol", 0.03)])
def test_pretraining_beats_the_untrained_encoders_probe(method, margin):
    """300 seeded steps on the CPU; the probe's accuracy over the held-out signals.
    Measured, untrained -> pre-trained, seeds 0 / 1 / 2: SimCLR 0.591 -> 0.715,
    0.541 -> 0.702, 0.571 -> 0.753; BYOL 0.591 -> 0.648, 0.541 -> 0.658, 0.571 -> 0.657."""
    task = nas.get_task(method, config={"latency_runs": 2})
    graph = pooled_cnn(task.n_out)
    _, untrained = probe(build_model(graph, 0), task, torch.device("cpu"))
    result = task.evaluate(graph, "300steps", seed=0, device="cpu")
    assert result.ok, result.error
    before = held_out_acc(untrained["val"], untrained["test"])
    after = held_out_acc(result.objectives["val_acc"], result.metrics["test_acc"])
    assert after > before + margin, (untrained, result)


def test_a_search_on_simclr_mnist1d_finishes_with_probe_accuracies(tmp_path):
    study = nas.search(space="cnn", task="simclr:mnist1d", strategy="random", trials=3,
                       budget="10steps", device="cpu", run_dir=tmp_path,
                       task_config={"config": QUICK})
    board = study.leaderboard()
    assert len(board) == 3 and (board["state"] == "COMPLETE").all()
    assert study.objectives == [("val_acc", "max")]
    for val, test in zip(board["val_acc"], board["test_acc"]):
        assert 0 < val <= 1 and val * 500 == pytest.approx(round(val * 500))  # of 500 val
        assert 0 < test <= 1 and test * 1000 == pytest.approx(round(test * 1000))
    best = study.best  # the same candidate evaluated again gives the stored probe accuracy
    again = nas.get_task("simclr:mnist1d", config=QUICK).evaluate(
        best.graph, "10steps", seed=best.number, device="cpu")
    assert again.objectives["val_acc"] == best.objectives["val_acc"] == board["val_acc"][0]
