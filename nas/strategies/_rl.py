"""An RL controller (Zoph & Le, 2017): an LSTM policy answers the decisions one by one.

At each decision ``(name, domain)`` met by the space's builder, the policy embeds the
decision's name plus its previous action, runs one LSTM step and samples from the
decision's own head::

    x_t = e_name(t) + e_action(t-1);  (h_t, c_t) = LSTM(x_t, (h_t-1, c_t-1))
    p(a_t) = softmax((W_t h_t + b_t) / temperature)

A head is created the first time a decision (name and domain) is met, so the policy
follows conditional decisions and spaces it has never seen. Choices and bools: one
action per option; ints: one per value, or ``max_bins`` bins (uniform inside a bin)
when there are more; floats: ``float_bins`` bins, log-spaced for log floats.

Training is REINFORCE, one Adam step per told result, with a moving-average baseline
``b`` and a moving standard deviation ``s`` of the reward R (the first objective,
signed): ``loss = -clip((R - b) / s) log p(decisions) - entropy * H(policy)``. The
log-probability is recomputed at tell time by teacher forcing the told decisions, so
results of candidates asked elsewhere (other workers, a resume) train it too. A
failed result gets ``R = min(worst seen, b) - s`` (an advantage of -1 before any
success); so does a pruned one: its partial score, from fewer steps, is on another
scale than the finished rewards and the baseline, and the pruner's verdict ("worse
than its peers") is the signal. With several objectives the first one is the reward. An architecture
already proposed (same fingerprint) is sampled again, up to ``tries`` times, then
replaced by an unseen mutant. The defaults (lr 0.02, entropy 1e-2, decay 0.8,
temperature 1.25) were tuned on the NAS-Bench-201 CIFAR-10 table at 100 evaluations
and a 40-evaluation toy; the policy is sharp after a few dozen results, so it suits
budgets of tens to hundreds of trials.
"""

from __future__ import annotations

import bisect
import math

import torch
from torch import nn

from nas._domain import Domain
from nas.space import DictProposal
from nas.strategies._base import Strategy
from nas.strategies._registry import register_strategy


@register_strategy("rl")
class RLController(Strategy):
    """REINFORCE over the decision sequence with an LSTM policy (Zoph & Le, 2017).

    The options are commented where they are stored below.
    """

    def __init__(self, space, seed=0, objectives=None, lr: float = 0.02,
                 entropy: float = 1e-2, decay: float = 0.8, temperature: float = 1.25,
                 clip: float = 3.0, hidden: int = 64, max_bins: int = 64,
                 float_bins: int = 16, tries: int = 5):
        super().__init__(space, seed, objectives)
        self.lr = lr  # Adam learning rate
        self.entropy_coef = entropy  # weight of the entropy bonus
        self.decay = decay  # of the moving baseline and the moving variance
        self.temperature = temperature  # logits are divided by it
        self.clip = clip  # |advantage| cap, in moving standard deviations
        self.max_bins = max_bins  # ints with more values are binned
        self.float_bins = float_bins  # bins of a float decision
        self.tries = tries  # resamples when the policy proposes a known architecture
        self.gen = torch.Generator().manual_seed(seed)  # all of the policy's randomness
        self.policy = _Policy(hidden, self.gen)
        self.optim = torch.optim.Adam(self.policy.parameters(), lr=lr)
        self.baseline: float | None = None
        self.var = 0.0  # moving variance of R around the baseline
        self.worst: float | None = None  # lowest finite reward seen
        self.last_entropy = math.nan  # policy entropy along the last told decisions
        self.seen: set[str] = set()

    # ------------------------------------------------------------ heads
    def _head(self, name: str, domain: Domain) -> _Head:
        """The head of a decision, created (and given to Adam) on first use."""
        key = f"{name}|{domain}"
        head = self.policy.index.get(key)
        if head is None:
            bins = _Bins(domain, self.max_bins, self.float_bins)
            head = self.policy.add(key, name, domain, bins, self.gen)
            self.optim.add_param_group({"params": list(head.parameters())})
        return head

    # ------------------------------------------------------------ asking
    def ask(self) -> DictProposal:
        for _ in range(self.tries):  # a known architecture: sample again
            fp, decisions = self.space.identify(_PolicyProposal(self), allow_invalid=True)
            if fp not in self.seen:
                break
        else:  # the policy keeps proposing known architectures: an unseen mutant
            decisions = self.unseen_near(decisions, self.seen)
            fp = self.fingerprint(decisions)
        self.seen.add(fp)
        return DictProposal(decisions)

    # ------------------------------------------------------------ telling
    def _tell(self, decisions, result) -> None:
        fp, decisions = self.space.identify(dict(decisions),  # in the builder's order
                                            allow_invalid=True)
        self.seen.add(fp)
        reward = self.fitness(result)
        if math.isfinite(reward):
            if self.baseline is None:
                self.baseline = reward
            delta = reward - self.baseline
            self.var = self.decay * self.var + (1 - self.decay) * delta * delta
            self.baseline += (1 - self.decay) * delta
            self.worst = reward if self.worst is None else min(self.worst, reward)
            spread = math.sqrt(self.var)
            advantage = delta / spread if spread > 0 else 0.0
        else:  # failed: one spread below the worst result seen (or the baseline)
            spread = math.sqrt(self.var)
            low = min(self.worst, self.baseline) - self.baseline if spread > 0 else 0.0
            advantage = low / spread - 1.0 if spread > 0 else -1.0
        advantage = max(-self.clip, min(self.clip, advantage))
        log_prob, entropy = self._evaluate(decisions)
        loss = -advantage * log_prob - self.entropy_coef * entropy
        self.optim.zero_grad(set_to_none=True)
        loss.backward()
        self.optim.step()
        self.last_entropy = float(entropy.detach())

    def _evaluate(self, decisions: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """log p(decisions) and the summed entropy along them (teacher forcing)."""
        state, prev = None, None
        log_prob, entropy = torch.zeros(()), torch.zeros(())
        for name, value in decisions.items():
            head = self._head(name, self.space.domains[name])
            logits, state = self.policy.step(head, prev, state)
            logp = torch.log_softmax(logits / self.temperature, dim=-1)
            action = head.bins.action(value)
            log_prob = log_prob + logp[action]
            entropy = entropy - (logp.exp() * logp).sum()
            prev = (head, action)
        return log_prob, entropy

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict:
        optim = self.optim.state_dict()
        return {
            **super().state_dict(),
            "heads": [[h.name, h.domain.to_dict()] for h in self.policy.heads],
            "weights": {k: v.tolist() for k, v in self.policy.state_dict().items()},
            "adam": {"state": {str(i): {k: v.tolist() for k, v in s.items()}
                               for i, s in optim["state"].items()},
                     "param_groups": optim["param_groups"]},
            "generator": self.gen.get_state().tolist(),
            "baseline": self.baseline, "var": self.var, "worst": self.worst,
            "seen": sorted(self.seen),
        }

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.policy = _Policy(self.policy.hidden, self.gen)
        self.optim = torch.optim.Adam(self.policy.parameters(), lr=self.lr)
        for name, domain in state["heads"]:
            self._head(name, _domain(domain))
        self.policy.load_state_dict({k: torch.tensor(v) for k, v in state["weights"].items()})
        adam = {int(i): {k: torch.tensor(v, dtype=torch.float32) for k, v in s.items()}
                for i, s in state["adam"]["state"].items()}
        self.optim.load_state_dict({"state": adam, "param_groups": state["adam"]["param_groups"]})
        self.gen.set_state(torch.tensor(state["generator"], dtype=torch.uint8))
        self.baseline, self.var, self.worst = state["baseline"], state["var"], state["worst"]
        self.seen = set(state["seen"])


class _PolicyProposal:
    """Samples each decision from the policy as the builder meets it."""

    def __init__(self, ctrl: RLController):
        self.ctrl = ctrl
        self.state = None
        self.prev = None

    def decide(self, name: str, domain: Domain):
        ctrl = self.ctrl
        head = ctrl._head(name, domain)
        with torch.no_grad():
            logits, self.state = ctrl.policy.step(head, self.prev, self.state)
            probs = torch.softmax(logits / ctrl.temperature, dim=-1)
            action = int(torch.multinomial(probs, 1, generator=ctrl.gen))
        self.prev = (head, action)
        return head.bins.value(action, ctrl.gen)


class _Policy(nn.Module):
    """An LSTM cell shared by all decisions and one ``_Head`` per decision."""

    def __init__(self, hidden: int, gen: torch.Generator):
        super().__init__()
        self.hidden = hidden
        # built on the meta device, then initialized from ``gen`` (never the global RNG)
        self.cell = nn.LSTMCell(hidden, hidden, device="meta").to_empty(device="cpu")
        with torch.no_grad():
            for p in self.cell.parameters():
                p.uniform_(-0.1, 0.1, generator=gen)
        self.start = nn.Parameter(torch.zeros(hidden))  # the "previous action" of step 0
        self.heads = nn.ModuleList()
        self.index: dict[str, _Head] = {}

    def add(self, key: str, name: str, domain: Domain, bins: _Bins, gen) -> _Head:
        head = _Head(name, domain, bins, self.hidden, gen)
        self.heads.append(head)
        self.index[key] = head
        return head

    def step(self, head: _Head, prev, state):
        """Logits of ``head`` after one LSTM step on (its name, the previous action)."""
        before = self.start if prev is None else prev[0].action_emb[prev[1]]
        h, c = self.cell((head.name_emb + before).unsqueeze(0), state)  # (1, H)
        return head.weight @ h[0] + head.bias, (h, c)  # (n_actions,)


class _Head(nn.Module):
    """One decision's parameters: name embedding, action embeddings, output layer."""

    def __init__(self, name: str, domain: Domain, bins: _Bins, hidden: int, gen):
        super().__init__()
        self.name, self.domain, self.bins = name, domain, bins
        n = bins.n
        self.name_emb = nn.Parameter(torch.empty(hidden).uniform_(-0.1, 0.1, generator=gen))
        self.action_emb = nn.Parameter(torch.empty(n, hidden).uniform_(-0.1, 0.1,
                                                                       generator=gen))
        self.weight = nn.Parameter(torch.zeros(n, hidden))  # a uniform policy at first
        self.bias = nn.Parameter(torch.zeros(n))


class _Bins:
    """Actions of one decision: options, int values, or bins of ints/floats."""

    def __init__(self, domain: Domain, max_bins: int, float_bins: int):
        self.domain = domain
        size = domain.size()
        self.edges: list[float] | None = None
        if size is not None and size <= max_bins:
            self.values = domain.values()
            self.index = {repr(v): i for i, v in enumerate(self.values)}
            self.n = size
            return
        d = domain
        if d.kind == "int":  # integer edges over indices (values for log ints)
            lo, hi = (d.low, d.high + 1) if d.log else (0, size)
            edges = [_mix(lo, hi, k / max_bins, d.log) for k in range(max_bins + 1)]
            self.edges = sorted({int(e) for e in edges} | {int(lo), int(hi)})
        else:
            self.edges = [_mix(d.low, d.high, k / float_bins, d.log)
                          for k in range(float_bins + 1)]
        self.n = len(self.edges) - 1

    def value(self, action: int, gen: torch.Generator):
        if self.edges is None:
            return self.values[action]
        d, lo, hi = self.domain, self.edges[action], self.edges[action + 1]
        u = float(torch.rand((), generator=gen))
        if d.kind == "int":
            k = min(int(lo + u * (hi - lo)), int(hi) - 1)
            return k if d.log else int(d.low) + int(d.step) * k
        return min(max(_mix(lo, hi, u, d.log), d.low), d.high)

    def action(self, value) -> int:
        if self.edges is None:
            return self.index[repr(self.domain.canonical(value))]
        d = self.domain
        x = value if d.kind == "float" or d.log else (int(value) - int(d.low)) // int(d.step)
        return min(max(bisect.bisect_right(self.edges, x) - 1, 0), self.n - 1)


def _mix(lo: float, hi: float, t: float, log: bool) -> float:
    """The point a fraction ``t`` of the way from lo to hi (geometrically if log)."""
    if log:
        return math.exp(math.log(lo) + t * (math.log(hi) - math.log(lo)))
    return lo + t * (hi - lo)


def _domain(d: dict) -> Domain:
    if d["kind"] in ("choice", "bool"):
        return Domain(d["kind"], options=tuple(d["options"]))
    return Domain(d["kind"], low=d["low"], high=d["high"], step=d.get("step"), log=d["log"])
