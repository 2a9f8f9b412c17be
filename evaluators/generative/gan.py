"""The GAN task: adversarial training of a generator and a discriminator, scored by MMD.

Training (``train_gan``): the non-saturating GAN of Goodfellow et al. (2014). Each step
draws a batch of real samples x and latents z ~ N(0, I), then

- updates D on  L_D = BCE(D(x), 1 - label_smoothing) + BCE(D(G(z)), 0)   (G(z) detached),
- updates G on  L_G = BCE(D(G(z)), 1) = softplus(-D(G(z))), on the same G(z),

each with its own AdamW optimizer (the recipe's lr, betas, decay, warm-up then cosine
decay and gradient clipping), bf16 autocast on CUDA, data kept on the device. Budgets,
failure isolation, ``report`` and ``keep_weights`` work as in ``evaluators.train``.

Score: the unbiased kernel MMD^2 (``mmd2_unbiased``) between generated samples and
held-out real ones, with a Gaussian kernel averaged over three bandwidths, 0.25, 0.5 and
1 times the median distance between real training samples (the median heuristic, fixed
by the task so every candidate meets the same kernel; the smaller ones see more than
the first two moments). ``val_mmd`` (the objective,
minimized) compares the validation split with as many samples generated from a fixed
latent seed; ``test_mmd`` does the same on the test split with another latent seed.
Its expectation is 0 for a generator that matches the data; an estimate can dip
slightly below 0.

Reference values on mnist1d (500 validation samples): other real samples (the training
split, 500 at a time) -0.0004 to 0; a Gaussian with the data's mean and covariance
0.0002 (so the score cannot tell a generator that only gets the first two moments right
from a perfect one); independent Gaussian values per position with the data's means
and variances 0.008; near-constant noise (an untrained generator) about 0.5; sampled
``gan`` architectures after 1,000 steps 0.003 to 0.6.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from evaluators.device import autocast
from evaluators.failures import (
    CandidateFailure,
    compile_failure,
    is_out_of_memory,
)
from evaluators.generative.base import GenerativeTask
from evaluators.generative.measures import KERNEL_SCALES, median_distance, mmd2_unbiased
from evaluators.loop import LoopHooks, TrainLoop, measure_or_nan
from evaluators.measure import latency_ms
from evaluators.recipe import TrainConfig, epoch_batches
from evaluators.splits import Splits
from nas import (
    ArchGraph,
    Budget,
    Report,
    Result,
    compile_graph,
    count_flops,
    count_params,
    register_task,
)

GENERATED, SCORE = "generated", "score"  # the GAN graph's outputs (the ``gan`` space's)


# --------------------------------------------------------------------- the model
def subgraph(graph: ArchGraph, output: str) -> ArchGraph:
    """The part of ``graph`` that computes ``output``: its ancestors, inputs included."""
    nodes = {n.id: n for n in graph.nodes()}
    keep, todo = set(), [graph.outputs[output]]
    while todo:
        nid = todo.pop()
        if nid not in keep:
            keep.add(nid)
            todo.extend(nodes[nid].inputs if nid in nodes else ())
    sub = ArchGraph()
    for name, spec in graph.inputs.items():
        if name in keep:
            sub.add_input(name, spec.shape, spec.kind, spec.vocab)
    for node in nodes.values():
        if node.id in keep:
            sub.add_node(node.id, node.op, node.params, node.inputs, resolve=False)
    sub.set_output(output, graph.outputs[output])
    return sub


class GanPair(nn.Module):
    """A GAN as two modules: ``generator`` z (B, latent) -> (B, *data shape) and
    ``discriminator`` (B, *data shape) -> (B, 1) real-vs-fake logits."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, latent: int):
        super().__init__()
        self.generator, self.discriminator, self.latent = generator, discriminator, latent
        self.flat_names = False  # True: weights() uses the graph's node names

    @classmethod
    def from_graph(cls, graph: ArchGraph) -> GanPair:
        """Split a GAN graph (outputs ``generated`` = G(z) and ``score`` = D(x), sharing no
        node, as the ``gan`` space builds them) into two compiled modules."""
        if set(graph.outputs) != {GENERATED, SCORE}:
            raise ValueError(f"a GAN graph has the outputs '{GENERATED}' (G(z)) and '{SCORE}' "
                             f"(D(x)), as the 'gan' space builds them; got "
                             f"{sorted(graph.outputs)}")
        g, d = subgraph(graph, GENERATED), subgraph(graph, SCORE)
        shared = {n.id for n in g.nodes(True)} & {n.id for n in d.nodes(True)}
        if shared or len(g.inputs) != 1 or len(d.inputs) != 1:
            raise ValueError(f"the generator and the discriminator must each read one input "
                             f"and share no node; shared: {sorted(shared)}, generator inputs "
                             f"{list(g.inputs)}, discriminator inputs {list(d.inputs)}")
        (z_spec,) = g.inputs.values()
        if len(z_spec.shape) != 1:
            raise ValueError(f"the generator's input must be a latent vector, got shape "
                             f"{z_spec.shape}")
        pair = cls(compile_graph(g), compile_graph(d), z_spec.shape[0])
        pair.flat_names = True
        return pair

    def weights(self) -> dict[str, torch.Tensor]:
        """The trained weights on the CPU; from a graph, under its node names (they load
        into ``compile_graph(graph)``)."""
        if self.flat_names:
            state = {**self.generator.state_dict(), **self.discriminator.state_dict()}
        else:
            state = self.state_dict()
        return {k: v.detach().cpu().clone() for k, v in state.items()}


def _latent(graph: ArchGraph) -> int:
    """The latent size of a GAN graph (its generator's one input)."""
    (spec,) = subgraph(graph, GENERATED).inputs.values()
    return spec.shape[0]


class _LatentCut(nn.Module):
    """A one-shot generator: the active candidate reads the leading values of z."""

    def __init__(self, part: nn.Module, supernet):
        super().__init__()
        self.part = part
        object.__setattr__(self, "supernet", supernet)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        graph = self.supernet.active_graph
        if getattr(self, "_seen", (None,))[0] is not graph:
            self._seen = (graph, _latent(graph))
        return self.part(z[:, :self._seen[1]])


def _pair(model: ArchGraph | GanPair, seed: int) -> GanPair:
    """The pair to train, built after seeding; graph build errors are compile errors."""
    torch.manual_seed(seed)
    if isinstance(model, GanPair):
        return model
    if not isinstance(model, ArchGraph):
        raise CandidateFailure(f"runtime error: the gan task trains a GAN graph or a GanPair, "
                               f"got {type(model).__name__}")
    try:
        return GanPair.from_graph(model)
    except Exception as exc:
        if is_out_of_memory(exc):
            raise
        raise compile_failure(exc) from exc


# --------------------------------------------------------------------- the task
@register_task("gan")
class GAN(GenerativeTask):
    """GAN on MNIST-1D (gan:DATASET): adversarial training; minimize validation kernel MMD^2.

    Data: the inputs of ``dataset`` (``mnist1d`` by default; ``digits`` also works), split
    as that task splits them, then scaled linearly so the training split spans [-1, 1]
    (``lo`` / ``hi`` hold the original range), which a tanh generator can reach. Models:
    the ``gan`` space's graphs (outputs ``generated`` = G(z), ``score`` = D(x)) or a
    ``GanPair``. Training: the non-saturating loss, separate AdamW optimizers for G and D
    (default lr 5e-4, betas (0.5, 0.999), no decay), one D and one G update a step.
    Objective ``("val_mmd", "min")``: the unbiased Gaussian-kernel MMD^2 between the
    validation samples and as many generated ones (module ``evaluators.generative.gan``
    documents the kernel); ``test_mmd`` on the test split. Metrics also hold ``d_loss``,
    ``g_loss``, ``gen_params``; ``flops`` and ``latency_ms`` are the generator's, per
    sample; ``params`` counts both networks.
    """

    name = "gan"
    space = "gan"
    objective = ("val_mmd", "min")
    metrics = {"val_mmd": "min", "test_mmd": "min", "d_loss": None, "g_loss": None,
               "params": "min", "gen_params": "min", "flops": "min", "peak_mem_mb": "min",
               "train_time_s": "min", "steps": None, "planned_steps": None, "capped": None,
               "latency_ms": "min"}
    n_out = 1  # the discriminator's one logit (the gan space ignores it)
    default_budget = Budget(2000, "steps")
    default_config = TrainConfig(lr=5e-4, betas=(0.5, 0.999), weight_decay=0.0,
                                 label_smoothing=0.0, grad_clip=None, report_every=200)

    def __init__(self, dataset: str = "mnist1d", config: TrainConfig | dict | None = None,
                 eval_seed: int = 0, **data_args):
        super().__init__(dataset, config, **data_args)
        s = self.splits
        self.lo, self.hi = float(s.x_train.min()), float(s.x_train.max())
        if not self.hi > self.lo:
            raise ValueError(f"the training inputs of {dataset!r} are constant ({self.lo}): "
                             "nothing to generate")
        scaled = [(x - self.lo) * (2 / (self.hi - self.lo)) - 1
                  for x in (s.x_train, s.x_val, s.x_test)]  # train split: [-1, 1]
        self.splits = Splits(scaled[0], scaled[0], scaled[1], scaled[1], scaled[2], scaled[2])
        self.bandwidths = tuple(f * median_distance(scaled[0]) for f in KERNEL_SCALES)
        self.eval_seed = eval_seed

    def mmd(self, generated: torch.Tensor, real: torch.Tensor) -> float:
        """The task's MMD^2 (its fixed kernel) between generated and real samples."""
        return mmd2_unbiased(generated.float(), real.float(), self.bandwidths)

    def supernet_model(self, supernet) -> GanPair:
        """One-shot training: G and D as two parts of the supernet (each with its own
        optimizer); z has the probe's largest latent size, each candidate reading its
        leading values."""
        latent = max(_latent(g) for _, g in supernet.probe_graphs)
        generator = _LatentCut(supernet.part(lambda g: subgraph(g, GENERATED)), supernet)
        return GanPair(generator, supernet.part(lambda g: subgraph(g, SCORE)), latent)

    def inherited_model(self, supernet, graph: ArchGraph) -> GanPair:
        """One-shot scoring: the candidate's G and D with inherited weights."""
        pair = GanPair.from_graph(graph)
        state = supernet.extract(graph).state_dict()
        for net in (pair.generator, pair.discriminator):
            net.load_state_dict({k: state[k] for k in net.state_dict()})
        return pair

    def hooks(self, model: ArchGraph | GanPair) -> GanHooks:
        """Adversarial training (``evaluate``: the weights kept are under the graph's own
        node names)."""
        return GanHooks(model, self)


# --------------------------------------------------------------------- the loop
def train_gan(model: ArchGraph | GanPair, task: GAN, budget: Budget | str | float,
              config: TrainConfig | None = None, seed: int = 0, device: str = "auto",
              report: Report | None = None, keep_weights: bool = False) -> Result:
    """Train a GAN on ``task`` within ``budget``; a failed Result for a bad candidate.

    The contract of ``evaluators.train``: ``report(step, val_mmd)`` every
    ``config.report_every`` steps (True prunes), errors of ``report`` propagate, reasons
    start with one of ``evaluators.REASONS``.
    """
    loop = TrainLoop(config or task.config, budget, seed, device, keep_weights)
    return loop.run(GanHooks(model, task), report)


class GanHooks(LoopHooks):
    """The hooks of one adversarial run: a D step then a G step each training step, each
    on its own optimizer; ``validate`` and the objective: the validation MMD^2."""

    loss_names = ("d_loss", "g_loss")

    def __init__(self, model: ArchGraph | GanPair, task: GAN):
        self.model, self.task = model, task
        self.val = math.nan  # the last validation MMD^2

    def setup(self, loop: TrainLoop) -> int:
        cfg, dev = loop.config, loop.device
        self.data = self.task.splits_on(dev)
        self.pair = _pair(self.model, loop.seed).to(dev)
        self.g_net, self.d_net = self.pair.generator, self.pair.discriminator
        self.g_opt, self.d_opt = loop.adamw(self.g_net), loop.adamw(self.d_net)
        n = len(self.data.x_train)
        self.batch_size = batch = min(cfg.batch_size, n)
        self.batches = epoch_batches(n, batch, torch.Generator().manual_seed(loop.seed), dev)
        self.z_gen = torch.Generator(device=dev).manual_seed(loop.seed)  # latents
        self.real_target = torch.full((batch, 1), 1.0 - cfg.label_smoothing, device=dev)
        self.pair.train()
        return n // batch

    def train_step(self, loop: TrainLoop) -> torch.Tensor:
        """D on real -> 1 - smoothing and G(z) -> 0 (separate batches), then G on the same
        G(z) through the updated D; returns both losses."""
        dev, d_net = loop.device, self.d_net
        real = self.data.x_train[next(self.batches)]
        z = torch.randn(self.batch_size, self.pair.latent, generator=self.z_gen, device=dev)
        with autocast(dev):
            fake = self.g_net(z)
            d_real, d_fake = d_net(real).float(), d_net(fake.detach()).float()
        d_loss = F.binary_cross_entropy_with_logits(d_real, self.real_target) \
            + F.softplus(d_fake).mean()
        loop.optimize(d_loss, self.d_opt)
        d_net.requires_grad_(False)  # G's step needs no gradient of D's weights
        with autocast(dev):
            g_loss = F.softplus(-d_net(fake).float()).mean()  # non-saturating
        loop.optimize(g_loss, self.g_opt)
        d_net.requires_grad_(True)
        return torch.stack([d_loss.detach(), g_loss.detach()])

    def validate(self, loop: TrainLoop) -> float:
        self.val = _score(self.pair, self.task, self.data.x_val, self.task.eval_seed,
                          loop.config)
        return self.val

    def result(self, loop: TrainLoop, pruned: bool) -> Result:
        """The objective and metrics; a pruned run skips the test split and latency."""
        pair, task, cfg = self.pair, self.task, loop.config
        val = self.val if pruned else self.validate(loop)
        metrics: dict[str, float | str] = {}
        if not pruned:
            metrics["test_mmd"] = _score(pair, task, self.data.x_test, task.eval_seed + 1, cfg)
        z1 = torch.zeros(1, pair.latent, device=loop.device)
        metrics.update({**loop.train_losses, "params": float(count_params(pair)),
                        "gen_params": float(count_params(pair.generator)),
                        "flops": measure_or_nan(lambda: count_flops(pair.generator, (z1,))),
                        "peak_mem_mb": loop.memory.stop(), "train_time_s": loop.train_time_s,
                        **loop.plan_metrics(), "device": str(loop.device)})
        if not pruned:
            metrics["latency_ms"] = measure_or_nan(
                lambda: latency_ms(pair.generator, z1, runs=cfg.latency_runs))
        return Result(objectives={task.objective[0]: val}, metrics=metrics, pruned=pruned,
                      state_dict=pair.weights() if loop.keep_weights else None)


def _score(pair: GanPair, task: GAN, real: torch.Tensor, z_seed: int,
           cfg: TrainConfig) -> float:
    """The task's MMD^2 between ``real`` and as many samples generated (eval mode) from
    latents drawn with ``z_seed``."""
    z_gen = torch.Generator(device=real.device).manual_seed(z_seed)
    z = torch.randn(len(real), pair.latent, generator=z_gen, device=real.device)
    pair.eval()
    with torch.no_grad(), autocast(real.device):
        fake = torch.cat([pair.generator(z[i:i + cfg.eval_batch]).float()
                          for i in range(0, len(z), cfg.eval_batch)])
    pair.train()
    if not torch.isfinite(fake).all():
        raise CandidateFailure("non-finite loss (NaN or Inf): the generator's samples are not "
                               "finite")
    return task.mmd(fake, real)
