"""Generative tasks (ae, vae, gan on MNIST-1D): each trains a tiny model from its own
space and beats the untrained model, the scores match hand-computed oracles, bad
candidates become failed Results, and runs repeat for a seed."""

from __future__ import annotations

import math

import pytest
import torch
from clock_helpers import fake_clock, steps_take
from torch import nn

import nas
from evaluators import TrainConfig
from evaluators.generative import (
    KERNEL_SCALES,
    GanPair,
    PackedVAE,
    gaussian_kernel,
    median_distance,
    mmd2_unbiased,
    negative_elbo,
)

QUICK = {"latency_runs": 2}  # over each task's own recipe
NAMES = ["ae", "vae", "gan"]
TINY = {  # small architectures of each task's space
    "autoencoder": {"kind": "linear", "activation": "relu", "batch_norm": False,
                    "enc_depth": 1, "enc_width_0": 32, "latent": 8, "dec_depth": 1,
                    "dec_width_0": 32},
    "gan": {"latent": 8, "gen_norm": "none", "gen_depth": 1, "gen_width_0": 64,
            "gen_activation": "relu", "gen_output": "tanh", "disc_norm": "none",
            "disc_depth": 1, "disc_width_0": 64, "disc_activation": "leaky_relu"},
}
TINY["vae"] = TINY["autoencoder"]


@pytest.fixture(scope="module")
def tasks():
    return {name: nas.get_task(f"{name}:mnist1d", config=QUICK) for name in NAMES}


def space_of(task) -> nas.Space:
    return nas.get_space(task.space, in_shape=task.in_shape, n_out=task.n_out,
                         **task.space_config)


def tiny_model(task) -> nas.ArchGraph:
    space = space_of(task)
    return space.build(space.complete(dict(TINY[task.space]), rng=0))


def untrained(task, graph: nas.ArchGraph, seed: int = 0) -> float:
    """The validation objective of ``graph`` as built for ``seed``, before any step."""
    torch.manual_seed(seed)
    x = task.splits.x_val
    if task.space == "gan":
        pair = GanPair.from_graph(graph).eval()
        z = torch.randn(len(x), pair.latent, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            return task.mmd(pair.generator(z), x)
    net = nas.compile_graph(graph)
    net = (PackedVAE(net, task.n_out) if task.space == "vae" else net).eval()
    with torch.no_grad():
        return task.score(net(x), x)[task.objective[0].removeprefix("val_")]


def assert_complete(result: nas.Result, task) -> None:
    assert result.ok, result.error
    for key, value in {**result.objectives, **result.metrics}.items():
        if key != "device":
            assert math.isfinite(value), (key, value)
    test_metric = task.objective[0].replace("val_", "test_")
    for key in (test_metric, "params", "flops", "latency_ms", "peak_mem_mb", "train_time_s",
                "steps", "device"):
        assert key in result.metrics, key


# ---------------------------------------------------------------- registry and data
@pytest.mark.parametrize("name", NAMES)
def test_registered_with_the_dataset_after_a_colon(name, tasks):
    task = tasks[name]
    assert name in nas.list_tasks() and nas.task_doc(name)
    assert isinstance(task, nas.Task) and task.name == f"{name}:mnist1d"
    assert task.in_shape == (1, 40) and task.objective[1] == "min"
    assert task.space in nas.list_spaces()
    assert nas.get_task(name).name == f"{name}:mnist1d"  # mnist1d is the default
    with pytest.raises(ValueError, match="float inputs"):
        nas.get_task(f"{name}:karate")
    with pytest.raises(ValueError, match="unknown task"):
        nas.get_task(f"{name}:nope")


def test_a_config_dict_goes_over_the_tasks_own_recipe(tasks):
    gan = tasks["gan"].config  # built with {"latency_runs": 2}
    assert gan.latency_runs == 2 and gan.betas == (0.5, 0.999) and gan.lr == 5e-4
    assert tasks["ae"].config == TrainConfig(latency_runs=2)
    whole = TrainConfig(lr=0.1)
    assert nas.get_task("gan", config=whole).config is whole
    with pytest.raises(ValueError, match="unknown trainer option.*lr_max"):
        nas.get_task("vae", config={"lr_max": 1.0})


def test_splits_are_mnist1d_inputs_disjoint_and_follow_its_split_args(tasks):
    source = nas.get_task("mnist1d").splits
    s = tasks["ae"].splits
    for part in ("train", "val", "test"):
        x = getattr(s, f"x_{part}")
        assert torch.equal(x, getattr(source, f"x_{part}"))
        assert torch.equal(getattr(s, f"y_{part}"), x)  # the target is the input
    rows = [{tuple(r) for r in x.flatten(1).tolist()} for x in (s.x_train, s.x_val, s.x_test)]
    assert not (rows[0] & rows[1] or rows[0] & rows[2] or rows[1] & rows[2])
    other = nas.get_task("vae:mnist1d", val_size=300, split_seed=1).splits
    assert other.sizes == (3700, 300, 1000)
    assert torch.equal(other.x_val, nas.get_task("mnist1d", val_size=300,
                                                 split_seed=1).splits.x_val)


def test_gan_data_is_scaled_to_the_unit_interval(tasks):
    task, source = tasks["gan"], nas.get_task("mnist1d").splits
    x = task.splits.x_train
    assert x.min().item() == pytest.approx(-1) and x.max().item() == pytest.approx(1)
    back = (task.splits.x_val + 1) * (task.hi - task.lo) / 2 + task.lo
    torch.testing.assert_close(back, source.x_val)
    assert task.bandwidths == pytest.approx([f * median_distance(x) for f in KERNEL_SCALES])


def test_digits_works_as_a_dataset():
    pytest.importorskip("sklearn")
    task = nas.get_task("ae:digits", config=QUICK)
    assert task.in_shape == (1, 8, 8) and task.n_out == 64
    assert_complete(task.evaluate(tiny_model(task), budget="5steps"), task)


# ---------------------------------------------------------------- training
@pytest.mark.parametrize("name", NAMES)
def test_each_task_trains_a_tiny_model_from_its_space(name, tasks):
    task = tasks[name]
    graph = tiny_model(task)
    result = task.evaluate(graph, budget="20steps", keep_weights=True)
    assert_complete(result, task)
    assert result.metrics["steps"] == 20 and set(result.objectives) == {task.objective[0]}
    module = nas.compile_graph(graph)  # the weights come back under the graph's names
    module.load_state_dict(result.state_dict, strict=True)


@pytest.mark.parametrize("name", NAMES)
def test_each_task_trains_samples_of_its_space(name, tasks):
    task = tasks[name]
    space = space_of(task)
    for seed in range(3):
        assert_complete(task.evaluate(space.build(space.sample(seed)), budget="3steps"), task)


GAUSS_CONST = 20 * math.log(2 * math.pi)  # in every sample's -log N(x; x', I), D = 40


@pytest.mark.parametrize("name, steps, floor", [("ae", 200, 0.0), ("vae", 200, GAUSS_CONST),
                                                ("gan", 500, 0.0)])
def test_training_lowers_the_objective(name, steps, floor, tasks):
    """``floor``: the part of the objective no model can lower (the VAE's constant)."""
    task = tasks[name]
    graph = tiny_model(task)
    before = untrained(task, graph)
    result = task.evaluate(graph, budget=f"{steps}steps")
    assert result.ok, result.error
    after = result.objectives[task.objective[0]]
    assert after - floor < 0.8 * (before - floor), (before, after)


@pytest.mark.parametrize("name", NAMES)
def test_a_seed_repeats_its_result(name, tasks):
    task, graph = tasks[name], tiny_model(tasks[name])
    a, b, c = (task.evaluate(graph, budget="15steps", seed=s) for s in (3, 3, 4))
    key = task.objective[0]
    assert a.objectives == b.objectives
    assert {k: v for k, v in a.metrics.items() if k.startswith("test_")} == \
        {k: v for k, v in b.metrics.items() if k.startswith("test_")}
    assert a.objectives[key] != c.objectives[key]


def test_gan_weights_split_and_join_exactly(tasks):
    """The generator and discriminator trained apart are the whole graph's module."""
    task = tasks["gan"]
    graph = tiny_model(task)
    result = task.evaluate(graph, budget="10steps", keep_weights=True)
    whole = nas.compile_graph(graph).eval()
    whole.load_state_dict(result.state_dict, strict=True)
    pair = GanPair.from_graph(graph).eval()
    pair.generator.load_state_dict(result.state_dict, strict=False)
    pair.discriminator.load_state_dict(result.state_dict, strict=False)
    z, x = torch.randn(5, pair.latent), task.splits.x_val[:5]
    generated, score = whole(z, x)
    torch.testing.assert_close(generated, pair.generator(z))
    torch.testing.assert_close(score, pair.discriminator(x))
    assert result.metrics["gen_params"] < result.metrics["params"]


def test_gan_budgets_in_epochs_and_seconds(tasks, monkeypatch):
    task, graph = tasks["gan"], tiny_model(tasks["gan"])
    epoch = task.evaluate(graph, budget="1epochs")
    assert epoch.ok and epoch.metrics["steps"] == len(task.splits.x_train) // 100
    # seconds on the fake clock: every step (generator and discriminator) takes 1/64 s
    steps_take(monkeypatch, fake_clock(monkeypatch), 1 / 64)
    timed = task.evaluate(graph, budget="1.5s")
    assert timed.ok and timed.metrics["steps"] == 96  # 1.5 * 64, sized after the probe
    capped = task.evaluate(graph, budget="100000steps,1s")
    assert capped.ok and capped.metrics["steps"] == 64 and capped.metrics["capped"] == 1.0


def test_gan_report_prunes_and_skips_the_test_split():
    task = nas.get_task("gan", config={"report_every": 5, "latency_runs": 2})
    seen = []
    result = task.evaluate(tiny_model(task), budget="50steps",
                           report=lambda step, value: seen.append((step, value)) or step >= 10)
    assert result.pruned and [s for s, _ in seen] == [5, 10]
    assert result.objectives["val_mmd"] == seen[-1][1]
    assert "test_mmd" not in result.metrics and result.metrics["steps"] == 10

    def broken(step, value):
        raise KeyError("the caller's bug")

    with pytest.raises(KeyError):  # not the candidate's fault: it propagates
        task.evaluate(tiny_model(task), budget="10steps", report=broken)


def test_vae_scores_sample_z_repeatably_without_touching_the_global_rng(tasks):
    task = tasks["vae"]
    torch.manual_seed(0)
    net = nas.compile_graph(tiny_model(task))
    packed = PackedVAE(net, task.n_out).eval()
    x = task.splits.x_val
    state = torch.get_rng_state()
    with torch.no_grad():
        a, b, at_mean = packed(x), packed(x), torch.cat([t.flatten(1) for t in net(x)], 1)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a, b) and not torch.equal(a, at_mean)
    d = task.n_out  # mu and logvar are the same; only the decoded sample differs
    torch.testing.assert_close(a[:, d:], at_mean[:, d:])


# ---------------------------------------------------------------- oracles
def test_mmd_matches_a_hand_computed_case():
    x, y = torch.tensor([[0.0], [1.0]]), torch.tensor([[2.0], [3.0]])
    e = math.exp
    # k(a, b) = exp(-(a - b)^2 / 2); off-diagonal xx and yy pairs at distance 1; cross
    # pairs at distances 2, 3, 1, 2
    expected = e(-0.5) + e(-0.5) - 2 * (2 * e(-2) + e(-4.5) + e(-0.5)) / 4
    assert mmd2_unbiased(x, y, (1.0,)) == pytest.approx(expected, rel=1e-12)
    assert mmd2_unbiased(y, x, (1.0,)) == pytest.approx(expected, rel=1e-12)
    k = gaussian_kernel(x, y, (1.0, 2.0))
    assert k[0, 0].item() == pytest.approx((e(-2) + e(-0.5)) / 2)
    assert median_distance(torch.tensor([[0.0], [1.0], [3.0]])) == pytest.approx(2.0)


def test_mmd_is_near_zero_for_one_distribution_and_grows_with_a_shift():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(400, 8, generator=g), torch.randn(400, 8, generator=g)
    bandwidths = [f * median_distance(x) for f in (0.5, 1.0, 2.0)]
    same = mmd2_unbiased(x, y, bandwidths)
    shifted = [mmd2_unbiased(x, y + s, bandwidths) for s in (0.25, 0.5, 1.0)]
    assert abs(same) < 0.005
    assert 0.01 < shifted[0] < shifted[1] < shifted[2]
    assert mmd2_unbiased(x, y * 2, bandwidths) > 0.05  # same mean, wider: also seen


def test_negative_elbo_matches_hand_computed_cases():
    x, recon = torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0, 2.0]])
    nll, kl = negative_elbo(x, recon, torch.zeros(1, 1), torch.zeros(1, 1))
    # -log N(x; recon, I) = |x - recon|^2 / 2 + (D / 2) log(2 pi), D = 2; KL(N(0,1)||N(0,1)) = 0
    assert nll.item() == pytest.approx(0.5 + math.log(2 * math.pi))
    assert kl.item() == pytest.approx(0.0)
    nll, kl = negative_elbo(x, recon, torch.tensor([[1.0]]), torch.tensor([[math.log(2)]]),
                            recon_std=2.0)
    # sigma = 2: 1 / (2 * 4) + 2 (log 2 + log(2 pi) / 2)
    # KL(N(1, 2) || N(0, 1)) = (1 + 2 - 1 - log 2) / 2
    assert nll.item() == pytest.approx(1 / 8 + 2 * math.log(2) + math.log(2 * math.pi))
    assert kl.item() == pytest.approx(1 - 0.5 * math.log(2))


def test_vae_task_unpacks_its_outputs_into_the_elbo(tasks):
    task = tasks["vae"]
    g = torch.Generator().manual_seed(0)
    x, recon = torch.randn(3, 1, 40, generator=g), torch.randn(3, 1, 40, generator=g)
    mu, logvar = torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g)
    packed = torch.cat([recon.flatten(1), mu, logvar], 1)
    nll, kl = negative_elbo(x, recon, mu, logvar)
    scores = task.score(packed, x)
    assert scores["nelbo"] == pytest.approx((nll + kl).mean().item(), rel=1e-6)
    assert scores["kl"] == pytest.approx(kl.mean().item(), rel=1e-6)
    assert scores["mse"] == pytest.approx((x - recon).square().mean().item(), rel=1e-6)
    assert task.loss(packed, x).item() == pytest.approx(scores["nelbo"], rel=1e-6)


# ---------------------------------------------------------------- failures
class Broken(nn.Module):
    """A model failing as ``kind`` says: "raise" raises, "nan" returns NaN, "shape" returns
    7 values per sample; with ``vae``, followed by a zero mu and logvar (latent 2)."""

    def __init__(self, kind: str, vae: bool = False):
        super().__init__()
        self.w, self.kind, self.vae = nn.Parameter(torch.zeros(1)), kind, vae

    def forward(self, x):
        if self.kind == "raise":
            raise RuntimeError("boom")
        shape = (7,) if self.kind == "shape" else (1, 40)
        out = self.w + torch.full((len(x), *shape), math.nan if self.kind == "nan" else 0.0)
        zeros = self.w * 0 + torch.zeros(len(x), 2)
        return (out, zeros, zeros) if self.vae else out


def failing(kind: str, name: str, task):
    """A candidate that fails in the way ``kind`` says, for the task ``name``."""
    if kind == "time":
        return tiny_model(task)
    if name == "gan":
        return GanPair(Broken(kind), nn.Sequential(nn.Flatten(), nn.Linear(40, 1)), latent=4)
    return Broken(kind, vae=name == "vae")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind, reason", [("raise", "runtime error:"),
                                          ("nan", "non-finite loss"),
                                          ("shape", "runtime error:"),
                                          ("time", "time limit")])
def test_a_bad_candidate_gives_a_failed_result(name, kind, reason, tasks):
    task = tasks[name]
    if kind == "time":
        task = nas.get_task(name, config={"time_limit_s": 1e-9})
    result = task.evaluate(failing(kind, name, task), budget="30steps")
    assert not result.ok and result.error.startswith(reason), result.error
    assert "steps" in result.metrics and "train_time_s" in result.metrics
    assert kind != "raise" or "boom" in result.error
    after = tasks[name].evaluate(tiny_model(tasks[name]), budget="3steps")
    assert after.ok, after.error  # the process is healthy for the next candidate


@pytest.mark.parametrize("name, space", [("ae", "gan"), ("vae", "autoencoder"),
                                         ("gan", "vae")])
def test_a_graph_of_the_wrong_kind_fails_with_a_reason(name, space, tasks):
    task = tasks[name]
    other = nas.get_space(space, in_shape=task.in_shape, n_out=task.n_out)
    result = task.evaluate(other.build(other.sample(0)), budget="5steps")
    assert not result.ok and result.error.startswith(("runtime error:", "compile error:"))
    expected = {"ae": "input", "vae": "3 outputs", "gan": "outputs 'generated'"}[name]
    assert expected in result.error


# ---------------------------------------------------------------- end to end and GPU
@pytest.mark.slow
@pytest.mark.parametrize("task, space", [("vae:mnist1d", "vae"), ("gan:mnist1d", "gan")])
def test_a_two_trial_search_runs_end_to_end(task, space, tmp_path):
    study = nas.search(space, task=task, strategy="random", trials=2, budget="10steps",
                       run_dir=tmp_path, device="cpu", keep_weights=1,
                       task_config={"config": QUICK})
    done = study.completed()
    assert len(done) == 2 and all(math.isfinite(r.values[0]) for r in done)
    assert len(list((tmp_path / "weights").glob("trial_*.pt"))) == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", NAMES)
def test_cuda_training_in_bf16_gives_finite_scores(name, tasks):
    task = tasks[name]
    result = task.evaluate(tiny_model(task), budget="20steps", device="cuda")
    assert_complete(result, task)
    assert result.metrics["device"].startswith("cuda") and result.metrics["peak_mem_mb"] > 0
