"""Zero-cost proxies: score an untrained network from one batch of training data.

Each proxy is ``fn(model, x, y, loss_fn) -> float`` (higher is better, by convention of
the papers) and lives in ``PROXIES`` by name. ``score`` builds a graph after
``torch.manual_seed(seed)`` and takes a fixed, seeded batch of the task's training
split, so a score is reproducible; ``ProxyEvaluator`` wraps a task so a search can use
proxies as objectives (or as a filter before training) with the usual ``Result``.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence

import torch
from torch import nn

from evaluators.device import resolve_device
from evaluators.failures import compile_failure, describe_failure, free_memory
from nas import ArchGraph, Budget, Report, Result, compile_graph, count_flops, count_params
from nas.result import traceback_text

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Proxy = Callable[[nn.Module, torch.Tensor, torch.Tensor, LossFn], float]

# Modules whose input sign gives NASWOT's binary code (the ReLU family and its smooth kin).
ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU,
               nn.SiLU, nn.Mish, nn.Hardswish, nn.Tanh, nn.Sigmoid)


def _grads(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: LossFn):
    """(parameter, gradient) pairs of ``loss_fn(model(x), y)``; unused parameters skipped."""
    model.zero_grad(set_to_none=True)
    loss_fn(model(x), y).backward()
    return [(p, p.grad) for p in model.parameters() if p.grad is not None]


def grad_norm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: LossFn) -> float:
    """sum_l ||dL/dtheta_l||_2 over parameter tensors (Abdelfattah et al. 2021)."""
    return sum(g.norm().item() for _, g in _grads(model, x, y, loss_fn))


def snip(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: LossFn) -> float:
    """sum |theta * dL/dtheta|: connection sensitivity (Lee et al. 2019)."""
    return sum((p * g).abs().sum().item() for p, g in _grads(model, x, y, loss_fn))


@torch.no_grad()
def _linearize(model: nn.Module) -> dict[str, torch.Tensor]:
    signs = {}
    for name, p in model.state_dict().items():  # parameters and BN running stats alike
        if p.is_floating_point():
            signs[name] = torch.sign(p)
            p.abs_()
    return signs


def synflow(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: LossFn) -> float:
    """log(1 + S), S = sum |theta * dR/dtheta| with R = sum(f_|theta|(1)) (Tanaka et al. 2020).

    The network runs with every weight made positive, on an input of ones, in float64
    and eval mode (batch norm uses its running statistics: a batch of identical ones
    would make batch statistics degenerate, and dropout is off); the signs are restored
    afterwards. S is a product over layers and grows by orders of magnitude with depth
    and width, so the proxy returns log(1 + S): same ranking, readable, finite for 0.
    ``y`` and ``loss_fn`` are unused (the proxy is data-free).
    """
    was_training = model.training
    dtype = next(model.parameters(), torch.empty(0)).dtype
    model.eval().double()
    signs = _linearize(model)
    try:
        ones = torch.ones_like(x[:1], dtype=torch.float64 if x.is_floating_point() else x.dtype)
        model.zero_grad(set_to_none=True)
        out = model(ones)
        out.sum().backward()
        s = sum((p * p.grad).abs().sum().item() for p in model.parameters()
                if p.grad is not None)
    finally:
        with torch.no_grad():
            state = model.state_dict()
            for name, sign in signs.items():
                state[name].mul_(sign)
        model.to(dtype).train(was_training)
        model.zero_grad(set_to_none=True)
    return math.log1p(s)


@torch.no_grad()
def naswot(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: LossFn) -> float:
    """log|K|, K = C C^T + (1 - C)(1 - C)^T + I, C the (B, units) binary activation codes.

    Mellor et al. 2021: inputs the untrained net tells apart (different ReLU patterns)
    score higher. The code of a unit is ``pre-activation > 0`` at the input of every
    activation module (for ReLU, exactly the paper's code; for GELU, SiLU, ... the same
    sign pattern). A network with no activation module is coded by its output's sign.
    K counts matching units per pair of inputs; the identity (one private unit per
    input) keeps log|K| finite when codes coincide: a network whose activations all see
    zeros (e.g. an all-``none`` NB201 cell) has K = N_A 11^T + I and scores
    log(1 + B N_A), far below a network that tells its inputs apart.
    """
    codes: list[torch.Tensor] = []

    def hook(module, inputs):  # before the module: in-place activations cannot hide the sign
        codes.append((inputs[0] > 0).flatten(1).double())  # (B, units)

    handles = [m.register_forward_pre_hook(hook) for m in model.modules()
               if isinstance(m, ACTIVATIONS)]
    try:
        out = model(x)
    finally:
        for h in handles:
            h.remove()
    if not codes:
        codes = [(out > 0).flatten(1).double()]
    c = torch.cat(codes, dim=1)  # (B, N_A)
    k = c @ c.T + (1 - c) @ (1 - c).T  # (B, B)
    k += torch.eye(len(k), dtype=k.dtype, device=k.device)
    return torch.linalg.slogdet(k).logabsdet.item()


def params(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: LossFn) -> float:
    """Trainable parameter count (``nas.count_params``)."""
    return float(count_params(model))


def flops(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: LossFn) -> float:
    """Forward FLOPs per sample (``nas.count_flops``)."""
    return float(count_flops(model, (x[:1],)))


PROXIES: dict[str, Proxy] = {
    "synflow": synflow,
    "naswot": naswot,
    "grad_norm": grad_norm,
    "snip": snip,
    "params": params,
    "flops": flops,
}


def _proxy(name: str) -> Proxy:
    if name not in PROXIES:
        raise ValueError(f"unknown proxy {name!r}; use one of {', '.join(PROXIES)}")
    return PROXIES[name]


def proxy_batch(task, batch: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed batch of ``task.splits``' training split: ``batch`` samples chosen by ``seed``."""
    x, y = task.splits.x_train, task.splits.y_train
    idx = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:batch]
    return x[idx], y[idx]


def _model(graph: ArchGraph | nn.Module, seed: int, device: torch.device) -> nn.Module:
    """A fresh module: compiled after seeding, or a copy (proxies change weights and grads)."""
    torch.manual_seed(seed)
    if isinstance(graph, nn.Module):
        return copy.deepcopy(graph).to(device)
    return compile_graph(graph).to(device)


def score(graph: ArchGraph | nn.Module, task, proxy: str, batch: int = 64, seed: int = 0,
          device: str | torch.device = "cpu") -> float:
    """Proxy ``proxy`` of ``graph`` (a graph, or a module left untouched) on ``task``.

    Deterministic for a seed: the weights come from ``torch.manual_seed(seed)`` and the
    batch from ``proxy_batch(task, batch, seed)``. Runs on ``device`` ("cpu" by default,
    "auto" for CUDA when present). Raises what the candidate raises.
    """
    fn = _proxy(proxy)
    dev = resolve_device(device)
    x, y = proxy_batch(task, batch, seed)
    return fn(_model(graph, seed, dev), x.to(dev), y.to(dev), task.loss)


class ProxyEvaluator:
    """A task scoring candidates by zero-cost proxies instead of training them.

    ``proxies[0]`` is the objective (maximized; ``params`` and ``flops`` too, the
    "bigger is better" baseline); every proxy in ``proxies`` lands in ``metrics``, with
    ``score_time_s``. The budget is ignored (no training); ``report`` is
    never called. A candidate that fails to build, raises, or gives a NaN or infinite
    score becomes a failed Result.
    """

    def __init__(self, task, proxies: Sequence[str] = ("synflow",), batch: int = 64):
        if not proxies:
            raise ValueError("ProxyEvaluator needs at least one proxy")
        for p in proxies:
            _proxy(p)
        self.task = task
        self.proxies = tuple(proxies)
        self.batch = batch
        self.name = f"{task.name}:{self.proxies[0]}"
        self.in_shape = task.in_shape
        self.n_out = task.n_out
        self.objective = (self.proxies[0], "max")
        # every proxy is maximized (params and flops too: the bigger-is-better baseline)
        self.metrics = {**{p: "max" for p in self.proxies}, "score_time_s": "min"}

    def evaluate(self, graph: ArchGraph | nn.Module, budget: Budget | str | None = None,
                 seed: int = 0, device: str = "auto", report: Report | None = None,
                 keep_weights: bool = False) -> Result:
        """Score ``graph`` with every proxy; never raises for a bad candidate. Nothing is
        trained, so ``keep_weights`` keeps none (``result.state_dict`` stays None)."""
        dev = resolve_device(device)
        t0 = time.perf_counter()
        try:
            try:
                _model(graph, seed, dev)
            except Exception as exc:
                raise compile_failure(exc) from exc
            values = {p: score(graph, self.task, p, self.batch, seed, dev)
                      for p in self.proxies}
        except Exception as exc:
            reason, trace = describe_failure(exc), traceback_text(exc)
            free_memory(dev)
            return Result.failure(reason, trace, score_time_s=time.perf_counter() - t0)
        bad = [p for p, v in values.items() if not math.isfinite(v)]
        if bad:
            return Result.failure(f"runtime error: proxy {bad[0]} is {values[bad[0]]}",
                                  **{p: v for p, v in values.items() if p not in bad})
        metrics = dict(values, score_time_s=time.perf_counter() - t0)
        return Result({self.objective[0]: values[self.objective[0]]}, metrics)

    def __repr__(self) -> str:
        return f"ProxyEvaluator({self.task!r}, proxies={self.proxies})"
