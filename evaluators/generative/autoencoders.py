"""Autoencoder and VAE tasks: reconstruct the input, trained by the supervised hooks.

Both reuse the supervised training unchanged (budgets, AdamW with warm-up and cosine decay,
failure isolation, pruning reports, cost metrics, ``keep_weights``): the target of
every sample is the sample itself. The VAE's three outputs travel through the trainer
packed into one tensor by ``PackedVAE``.
"""

from __future__ import annotations

import contextlib
import math

import torch
import torch.nn.functional as F
from torch import nn

from evaluators.failures import CandidateFailure, describe_failure
from evaluators.generative.base import GenerativeTask
from evaluators.generative.measures import negative_elbo
from evaluators.loop import build_model
from evaluators.measure import trained_metrics
from evaluators.trainer import SupervisedHooks
from nas import ArchGraph, Budget, GraphModule, Report, Result, register_task
from nas.result import traceback_text


def as_target_shape(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``out`` viewed with ``y``'s shape when each sample has as many values (a flat
    (B, 40) output for (B, 1, 40) data); a clear failure when it cannot be."""
    if not isinstance(out, torch.Tensor):
        raise CandidateFailure(f"runtime error: an autoencoder returns one reconstruction, got "
                               f"{type(out).__name__} (a VAE's outputs go to the 'vae' task)")
    if out.shape == y.shape:
        return out
    if out.dim() >= 1 and out.shape[0] == y.shape[0] and out[0].numel() == y[0].numel():
        return out.reshape(y.shape)
    raise CandidateFailure(f"runtime error: the model's output {tuple(out.shape[1:])} cannot "
                           f"be a reconstruction of inputs {tuple(y.shape[1:])}: it needs "
                           f"{y[0].numel()} values per sample")


@register_task("ae")
class Autoencoder(GenerativeTask):
    """Autoencoder on MNIST-1D (ae:DATASET): reconstruct the input; minimize validation MSE.

    Data: the inputs of ``dataset`` (``mnist1d`` by default, standardized signals of
    shape (1, 40); ``digits`` also works), split as that task splits them (``val_size``,
    ``split_seed``), labels unused. Objective ``("val_mse", "min")``: the mean squared
    reconstruction error per element on the validation split; ``test_mse`` is recorded,
    never selected on. Trained on that same error by ``evaluators.train``. Matching
    space: ``autoencoder``; any space whose output holds as many values per sample as
    the input (``n_out`` = that count) fits.
    """

    name = "ae"
    space = "autoencoder"
    objective = ("val_mse", "min")
    metrics = trained_metrics({"mse": "min"})

    def __init__(self, dataset: str = "mnist1d", config=None, **data_args):
        super().__init__(dataset, config, **data_args)
        self.n_out = math.prod(self.in_shape)

    def loss(self, out: torch.Tensor, y: torch.Tensor,
             label_smoothing: float = 0.0) -> torch.Tensor:
        """The mean squared error of a batch (``label_smoothing`` does not apply)."""
        return F.mse_loss(as_target_shape(out, y).float(), y)

    def score(self, out: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        return {"mse": self.loss(out, y).item()}

class PackedVAE(nn.Module):
    """A VAE ``net(x) -> (reconstruction, mu, logvar)`` as one tensor (B, D + 2 L).

    The trainer scores a split by concatenating single-tensor outputs; the task unpacks
    them (``unpack``). In eval mode the reparameterization nodes of a compiled graph
    still sample z, with a fixed seed (``eval_seed``) and without touching the global
    random state, so a split's negative ELBO is a proper (and repeatable) estimate
    rather than the decoder's output at z = mu.
    """

    def __init__(self, net: nn.Module, data_size: int, eval_seed: int = 0):
        super().__init__()
        self.net, self.data_size, self.eval_seed = net, data_size, eval_seed
        graph = net.graph if isinstance(net, GraphModule) else None
        self.samplers = [getattr(net, n.id) for n in graph.nodes()
                         if n.op == "reparameterize"] if graph is not None else []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training or not self.samplers:
            return self._pack(self.net(x))
        with _seeded(x.device, self.eval_seed), _training(self.samplers):
            return self._pack(self.net(x))

    def _pack(self, out) -> torch.Tensor:
        if not isinstance(out, tuple | list) or len(out) != 3:
            got = f"{len(out)} outputs" if isinstance(out, tuple | list) else "one output"
            raise CandidateFailure(f"runtime error: a VAE needs 3 outputs (reconstruction, "
                                   f"mu, logvar), got {got}: use the 'vae' space")
        recon, mu, logvar = (t.flatten(1) for t in out)
        if recon.shape[1] != self.data_size or mu.shape != logvar.shape:
            raise CandidateFailure(f"runtime error: a VAE returns a reconstruction of "
                                   f"{self.data_size} values and mu, logvar of one shape; got "
                                   f"{recon.shape[1]} values, mu {tuple(mu.shape[1:])}, "
                                   f"logvar {tuple(logvar.shape[1:])}")
        return torch.cat([recon, mu, logvar], 1)  # (B, D + 2 L)


@contextlib.contextmanager
def _seeded(device: torch.device, seed: int):
    """Draws from a fixed seed inside, the caller's random state restored after."""
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.default_generator.manual_seed(seed)
        if cuda:
            with torch.cuda.device(device):
                torch.cuda.manual_seed(seed)
        yield


@contextlib.contextmanager
def _training(modules: list[nn.Module]):
    """``modules`` in training mode inside (the rest of the model keeps its mode)."""
    modes = [m.training for m in modules]
    for m in modules:
        m.train()
    try:
        yield
    finally:
        for m, mode in zip(modules, modes):
            m.train(mode)


@register_task("vae")
class VAE(GenerativeTask):
    """VAE on MNIST-1D (vae:DATASET): minimize the validation negative ELBO (nats per sample).

    Data as for ``ae``. Models return ``(reconstruction, mu, logvar)`` (the ``vae``
    space). The loss and the objective ``("val_nelbo", "min")`` are the negative ELBO
    per sample in nats, ``evaluators.generative.negative_elbo``: a Gaussian decoder
    N(reconstruction, ``recon_std``^2 I) (default std 1, the data's scale), so the
    reconstruction term is ||x - x'||^2 / (2 std^2) + D log(std sqrt(2 pi)) summed over
    the D = 40 values, plus the analytic KL(q(z|x) || N(0, I)) summed over the latent;
    the sum bounds -log p(x) from above. Splits are scored with z sampled once per
    sample from a fixed seed (``PackedVAE``). Metrics ``val_recon``, ``val_kl``,
    ``val_mse`` (per element) and the same on the test split.
    """

    name = "vae"
    space = "vae"
    objective = ("val_nelbo", "min")
    metrics = trained_metrics({"nelbo": "min", "recon": "min", "kl": "min", "mse": "min"})

    def __init__(self, dataset: str = "mnist1d", config=None, recon_std: float = 1.0,
                 eval_seed: int = 0, **data_args):
        if not recon_std > 0:
            raise ValueError(f"recon_std must be positive, got {recon_std}")
        super().__init__(dataset, config, **data_args)
        self.n_out = math.prod(self.in_shape)
        self.recon_std, self.eval_seed = recon_std, eval_seed

    def terms(self, out: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-sample ``recon``, ``kl`` and ``sq`` (squared error) of packed outputs."""
        out = out.float()
        d = self.n_out
        latent = (out.shape[1] - d) // 2
        recon = out[:, :d].reshape(y.shape)
        mu, logvar = out[:, d:d + latent], out[:, d + latent:]
        nll, kl = negative_elbo(y, recon, mu, logvar, self.recon_std)
        return {"recon": nll, "kl": kl, "sq": (y - recon).flatten(1).square().sum(1)}

    def loss(self, out: torch.Tensor, y: torch.Tensor,
             label_smoothing: float = 0.0) -> torch.Tensor:
        """The batch mean of the per-sample negative ELBO."""
        t = self.terms(out, y)
        return (t["recon"] + t["kl"]).mean()

    def score(self, out: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        t = self.terms(out, y)
        return {"nelbo": (t["recon"] + t["kl"]).mean().item(),
                "recon": t["recon"].mean().item(), "kl": t["kl"].mean().item(),
                "mse": t["sq"].mean().item() / self.n_out}

    def evaluate(self, graph: ArchGraph | nn.Module, budget: Budget | str | None = None,
                 seed: int = 0, device: str = "auto", report: Report | None = None,
                 keep_weights: bool = False) -> Result:
        """Train ``graph`` within ``budget`` (default ``default_budget``) and score it;
        ``keep_weights`` returns the weights under the graph's own names."""
        try:
            net = build_model(graph, seed)  # seeds, then compiles (errors are compile errors)
        except Exception as exc:
            return Result.failure(describe_failure(exc), traceback_text(exc))
        return super().evaluate(PackedVAE(net, self.n_out, self.eval_seed), budget, seed,
                                device, report, keep_weights)

    def supernet_model(self, supernet) -> PackedVAE:
        """One-shot training: the supernet's outputs packed as ``evaluate`` packs a graph's."""
        return PackedVAE(supernet, self.n_out, self.eval_seed)

    def inherited_model(self, supernet, graph: ArchGraph) -> PackedVAE:
        """One-shot scoring: the candidate with inherited weights, packed."""
        return PackedVAE(supernet.extract(graph), self.n_out, self.eval_seed)

    def hooks(self, model: PackedVAE) -> SupervisedHooks:
        """Supervised training of the packed VAE; the weights kept are the graph's."""
        return SupervisedHooks(model, self, weights=model.net)
