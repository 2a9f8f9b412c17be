"""Architecture parameters of differentiable search and the guards against collapse.

One vector ``alpha`` per decision (DARTS, Liu et al. 2019). The mixing weights are
``softmax(alpha)`` (``guard="none"`` and ``"darts-"``) or, under DrNAS (Chen et al.
2021), a reparameterized sample of ``Dirichlet(elu(alpha) + 1)`` while training and
its mean ``conc / conc.sum()`` otherwise.

The guards (``GUARDS``):

- ``"none"``: plain first-order DARTS, which on NAS-Bench-201 collapses onto
  parameter-free ops (skip connections) as the search goes on.
- ``"darts-"`` (DARTS-, Chu et al. 2021): an auxiliary skip connection on every mixed
  edge whose input and output shapes agree, scaled by ``beta`` decaying linearly from
  ``beta0`` to 0 over the search (``darts_minus_beta``), so the real skip op no
  longer has to carry the gradient flow and stops being favoured.
- ``"drnas"``: Dirichlet mixing weights; the sampling noise is a regularizer that
  keeps the search off sharp minima (the paper's anchor regularizer is left out).
- ``"gdas"`` (GDAS, Dong & Yang 2019): not a guard but the single-path variant on the
  same code: each forward draws one option per decision (hard Gumbel-softmax with
  temperature ``tau``, annealed from 10 to 0.1 by the search; straight-through
  gradients reach alpha), and only the drawn option's modules run.

DrNAS is the default: in ``bench/results/darts.md`` (3 seeds, two tasks, with
progressive pruning) its mnist1d cells had 0-1 parameter-free ops and every seed at
the random cells' 90th percentile, against 3-6 ops unguarded; DARTS- and GDAS (at
these short searches) ended on mostly skip or pooling cells.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

GUARDS = ("darts-", "drnas", "gdas", "none")
TAU = (10.0, 0.1)  # GDAS' Gumbel-softmax temperature: from, to (linear over the search)
DEFAULT_GUARD = "drnas"  # chosen by measurement (bench/results/darts.md): see docs/strategies.md


def darts_minus_beta(step: int, total: int, beta0: float = 1.0) -> float:
    """DARTS-'s auxiliary skip weight at ``step`` of ``total``: ``beta0`` decaying
    linearly to 0 at the last step."""
    if total <= 0:
        return 0.0
    return beta0 * max(0.0, 1.0 - step / total)


def gdas_tau(step: int, total: int) -> float:
    """GDAS' temperature at ``step`` of ``total``: ``TAU[0]`` decaying linearly to
    ``TAU[1]`` at the last step."""
    if total <= 0:
        return TAU[1]
    return TAU[0] - (TAU[0] - TAU[1]) * min(1.0, step / total)


def dirichlet_concentration(alpha: torch.Tensor) -> torch.Tensor:
    """DrNAS's concentration of a decision: ``elu(alpha) + 1`` (positive)."""
    return F.elu(alpha) + 1.0


class Architecture(nn.Module):
    """The architecture parameters: ``alpha[decision]`` over each decision's options,
    initialized to ``init_scale * N(0, 1)`` with ``seed`` (DARTS' 1e-3)."""

    def __init__(self, choices: dict[str, list], guard: str = DEFAULT_GUARD, seed: int = 0,
                 init_scale: float = 1e-3):
        super().__init__()
        if guard not in GUARDS:
            raise ValueError(f"guard must be one of {', '.join(GUARDS)}, got {guard!r}")
        self.choices = {k: list(v) for k, v in choices.items()}
        self.guard = guard
        gen = torch.Generator().manual_seed(seed)
        self.alpha = nn.ParameterDict({
            _key(name): nn.Parameter(init_scale * torch.randn(len(opts), generator=gen))
            for name, opts in self.choices.items()})
        self.pruned: dict[str, list[int]] = {name: [] for name in self.choices}
        self.tau = TAU[0]  # GDAS' temperature (the search anneals it)

    def active(self, name: str) -> torch.Tensor:
        """Which of decision ``name``'s options are still searched (a bool vector)."""
        a = self.vector(name)
        mask = torch.ones(len(a), dtype=torch.bool, device=a.device)
        mask[self.pruned[name]] = False
        return mask

    def prune_weakest(self) -> dict[str, object]:
        """Progressive pruning (P-DARTS, DrNAS): drop each decision's active option of
        smallest probability (the first on a tie), leaving at least one; its mixing
        weight is 0 from now on. Returns the dropped option per decision."""
        dropped = {}
        with torch.no_grad():
            for name, p in self.probabilities().items():
                mask = self.active(name)
                if int(mask.sum()) <= 1:
                    continue
                i = int(torch.argmin(p.masked_fill(~mask, float("inf"))).item())
                self.pruned[name].append(i)
                dropped[name] = self.choices[name][i]
        return dropped

    def vector(self, name: str) -> torch.Tensor:
        """The alpha vector of decision ``name``."""
        return self.alpha[_key(name)]

    def probabilities(self) -> dict[str, torch.Tensor]:
        """Each decision's expected mixing weights, no sampling (what is recorded)."""
        out = {}
        for name in self.choices:
            a = self.vector(name)
            if self.guard == "drnas":
                conc = dirichlet_concentration(a)
                if self.pruned[name]:
                    conc = conc * self.active(name)
                out[name] = conc / conc.sum()
            else:
                out[name] = torch.softmax(self._masked(name), dim=0)
        return out

    def weights(self, sample: bool = True) -> dict[str, torch.Tensor]:
        """The mixing weights of one forward: DrNAS draws them (``rsample``, so
        gradients reach alpha) when ``sample``; otherwise ``probabilities()``."""
        if self.guard == "gdas" and sample:
            return {name: F.gumbel_softmax(self._masked(name), tau=self.tau, hard=True)
                    for name in self.choices}
        if self.guard != "drnas" or not sample:
            return self.probabilities()
        return {name: self._draw(name) for name in self.choices}

    def _masked(self, name: str) -> torch.Tensor:
        """Alpha with the pruned options at -inf (softmax weight 0)."""
        a = self.vector(name)
        return a.masked_fill(~self.active(name), float("-inf")) if self.pruned[name] else a

    def skipped(self, weights: dict[str, torch.Tensor]) -> set[tuple[str, object]]:
        """The ``(decision, option)`` pairs whose modules need not run under
        ``weights``: the pruned options, and under GDAS every option not drawn."""
        out = {(n, self.choices[n][i]) for n, idx in self.pruned.items() for i in idx}
        if self.guard == "gdas":
            for name, w in weights.items():
                out |= {(name, o) for o, v in zip(self.choices[name], w.tolist(),
                                                  strict=True) if v == 0.0}
        return out

    def _draw(self, name: str) -> torch.Tensor:
        """One Dirichlet draw over the decision's active options (0 for pruned ones)."""
        conc = dirichlet_concentration(self.vector(name))
        if not self.pruned[name]:
            return torch.distributions.Dirichlet(conc).rsample()
        idx = torch.nonzero(self.active(name)).flatten()
        draw = torch.distributions.Dirichlet(conc[idx]).rsample()
        return torch.zeros_like(conc).index_copy(0, idx, draw)

    def answers(self) -> dict:
        """The discretization: each decision's option of largest weight (the first on
        a tie)."""
        return {name: self.choices[name][int(torch.argmax(p).item())]
                for name, p in self.probabilities().items()}

    def snapshot(self) -> dict[str, list[float]]:
        """The mixing probabilities as plain lists (one trajectory point)."""
        return {name: [round(float(v), 6) for v in p.detach().cpu()]
                for name, p in self.probabilities().items()}


def _key(name: str) -> str:
    """A ParameterDict key for a decision name (no dots)."""
    return name.replace(".", "__")


__all__ = ["DEFAULT_GUARD", "GUARDS", "TAU", "Architecture", "darts_minus_beta",
           "dirichlet_concentration", "gdas_tau"]
