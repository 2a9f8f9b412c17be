"""Nevergrad optimizers as strategies: ``nevergrad:NGOpt``, ``nevergrad:DiscreteOnePlusOne``...

Nevergrad needs a fixed parametrization, but spaces are define-by-run, so the
decisions are discovered first by sampling the space, then parametrized together
as one ``ng.p.Tuple``: ``Choice(deterministic=True)`` over the option indices of
finite domains (choices, bools, ints with at most 64 values), an integer-cast
``Scalar`` (``Log`` when log) for larger ints, ``Scalar`` / ``Log`` for floats. A
candidate answers the decisions its architecture reaches; the others are ignored.
When a decision never seen before shows up, the parametrization grows and a new
optimizer is told the history so far. Nevergrad minimizes: the loss is the negated
signed objective; a failed (or pruned) candidate gets the worst loss seen plus the
range seen plus one (1e9 before any success): nevergrad's optimizers compare losses of
one fidelity, so a pruned candidate's partial score is not mixed with finished ones.

State: a JSON log of the optimizer's asks and tells since it was built, replayed
on a fresh optimizer seeded the same way, so a round trip resumes exactly.
"""

from __future__ import annotations

import math
import random

import numpy as np

from nas._domain import Domain, decisions_key
from nas._registry import suggest
from nas.space import DictProposal, RandomProposal
from nas.strategies._base import Strategy, signed_values
from nas.strategies._registry import register_strategy

MAX_CHOICE = 64  # ints with more values than this become integer-cast scalars
FAIL_LOSS = 1e9  # the loss of a failure before any success


@register_strategy("nevergrad")
class NevergradStrategy(Strategy):
    """Nevergrad optimizers (nevergrad:NGOpt, DiscreteOnePlusOne, ...) over all decisions.

    method: a name in ``nevergrad.optimizers.registry`` (default NGOpt). budget: told to
    the optimizer (some adapt to it). samples: space samples to discover decisions.
    tries: optimizer asks per proposal while they give known architectures, before an
    unseen mutant is proposed instead. Other keywords go to the optimizer.
    """

    def __init__(self, space, seed=0, objectives=None, method: str = "NGOpt",
                 budget: int = 10_000, samples: int = 64, tries: int = 4,
                 **optimizer_options):
        super().__init__(space, seed, objectives)
        self.method = method
        self.optimizer_cls = _optimizer_class(method)
        self.budget = budget
        self.tries = max(1, tries)
        self.options = optimizer_options
        self.domains: dict[str, Domain] = {}  # parametrized decisions, in order
        self.history: list[tuple[dict, list, bool]] = []  # (decisions, losses told, failed)
        self.seen: dict[str, list | None] = {}  # fingerprint -> losses (None: pending)
        self.epoch = 0  # how many times the optimizer was (re)built
        self._discover(samples)
        self._build()

    # ------------------------------------------------------------ parametrization
    def _discover(self, samples: int) -> None:
        """Sample the space (own rng) until no new decision shows up for a while."""
        rng, quiet = random.Random(self.seed), 0
        for _ in range(samples):
            known = len(self.domains)
            for name in self.space.identify(RandomProposal(rng), allow_invalid=True)[1]:
                self.domains.setdefault(name, self.space.domains[name])
            quiet = quiet + 1 if len(self.domains) == known else 0
            if quiet >= 16:
                break

    def _build(self) -> None:
        """A fresh optimizer over ``self.domains``; the event log restarts."""
        ng = _nevergrad()
        param = ng.p.Tuple(*[_param(ng, d) for d in self.domains.values()])
        seed = np.random.SeedSequence([self.seed, self.epoch]).generate_state(1)[0]
        param.random_state = np.random.RandomState(int(seed))
        self.param = param
        self.opt = self.optimizer_cls(parametrization=param, budget=self.budget, num_workers=1,
                                      **self.options)
        if len(self.objectives) > 1:
            self.opt.num_objectives = len(self.objectives)
        self.log: list[list] = []  # ["ask"] | ["spawn", vector] | ["tell", i, loss] | ["add", ...]
        self._asked: list = []  # candidates by ask index (this optimizer)
        self._pending: dict[tuple, list[int]] = {}  # decisions key -> ask indices not told

    def _grow(self, decisions: dict) -> bool:
        """Add decisions never seen before; rebuild and retell the history if any."""
        new = [n for n in decisions if n not in self.domains]
        if not new:
            return False
        for n in new:
            self.domains[n] = self.space.domains[n]
        self.epoch += 1
        self._build()
        for d, loss, _ in self.history:
            self._do(["add", self._encode(d), loss])
        return True

    # ------------------------------------------------------------ events
    def _do(self, event: list) -> None:
        """Apply one optimizer event and log it (the state replays the log)."""
        kind = event[0]
        if kind == "ask":
            self._asked.append(self.opt.ask())
        elif kind == "spawn":
            self._asked.append(self.param.spawn_child(new_value=tuple(event[1])))
        elif kind == "tell":
            self.opt.tell(self._asked[event[1]], _loss_arg(event[2]))
        else:  # "add": a result of a candidate this optimizer never asked
            self.opt.tell(self.param.spawn_child(new_value=tuple(event[1])), _loss_arg(event[2]))
        self.log.append(event)

    # ------------------------------------------------------------ asking
    def ask(self) -> DictProposal:
        for _ in range(self.tries):
            self._do(["ask"])
            fp, decisions = self.space.identify(
                DictProposal(self._decode(self._asked[-1].value), self.rng), allow_invalid=True)
            if self._grow(decisions):  # a new decision: new optimizer, ask it
                continue
            if fp not in self.seen:
                break
            if self.seen[fp] is not None:  # a duplicate: tell it its known loss
                self._do(["tell", len(self._asked) - 1, self.seen[fp]])
        else:  # the optimizer keeps proposing known architectures: propose an unseen one
            decisions = self.unseen_near(decisions, self.seen)
            self._grow(decisions)
            self._do(["spawn", self._encode(decisions)])
            fp, decisions = self.space.identify(dict(decisions), allow_invalid=True)
        self.seen[fp] = None
        self._pending.setdefault(decisions_key(decisions), []).append(len(self._asked) - 1)
        return DictProposal(decisions)

    # ------------------------------------------------------------ telling
    def _tell(self, decisions, result) -> None:
        fp, decisions = self.space.identify(dict(decisions), allow_invalid=True)
        self._grow(decisions)
        values = signed_values(result, self.objectives)
        loss = self._loss(values)
        queue = self._pending.get(decisions_key(decisions))
        if queue:
            i = queue.pop(0)
            if not queue:
                del self._pending[decisions_key(decisions)]
            self._do(["tell", i, loss])
        else:  # asked elsewhere, or before the parametrization grew
            self._do(["add", self._encode(decisions), loss])
        self.history.append((decisions, loss, not all(map(math.isfinite, values))))
        self.seen[fp] = loss

    def _loss(self, values: list[float]) -> list[float]:
        """Losses to minimize; a failure: the worst seen + the range seen + 1."""
        out = []
        for k, v in enumerate(values):
            if math.isfinite(v):
                out.append(-v)
                continue
            ok = [loss[k] for _, loss, failed in self.history if not failed]
            out.append(max(ok) + (max(ok) - min(ok)) + 1.0 if ok else FAIL_LOSS)
        return out

    # ------------------------------------------------------------ encoding
    def _decode(self, vector: tuple) -> dict:
        """A candidate's value -> decisions for every parametrized name."""
        out = {}
        for (name, d), raw in zip(self.domains.items(), vector):
            size = d.size()
            if size is not None and size <= MAX_CHOICE:
                out[name] = d.values()[int(raw)]
            elif d.kind == "int":
                k = int(round(raw)) if d.log else int(d.low) + int(d.step) * int(round(raw))
                out[name] = min(max(k, int(d.low)), int(d.high))
            else:
                out[name] = min(max(float(raw), d.low), d.high)
        return out

    def _encode(self, decisions: dict) -> list:
        """Decisions -> a parametrization value; unreached ones take the default."""
        vector = []
        for name, d in self.domains.items():
            size = d.size()
            finite = size is not None and size <= MAX_CHOICE
            if name not in decisions:
                vector.append(0 if finite else _default(d))
            elif finite:
                spelled = repr(d.canonical(decisions[name]))
                vector.append([repr(v) for v in d.values()].index(spelled))
            elif d.kind == "int":
                v = int(decisions[name])
                vector.append(v if d.log else (v - int(d.low)) // int(d.step))
            else:
                vector.append(float(decisions[name]))
        return vector

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict:
        return {**super().state_dict(), "method": self.method, "epoch": self.epoch,
                "domains": [[n, d.to_dict()] for n, d in self.domains.items()],
                "history": [list(h) for h in self.history],
                "seen": [[fp, loss] for fp, loss in self.seen.items()],
                "log": self.log, "pending": [[[list(t) for t in k], v]
                                                 for k, v in self._pending.items()]}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        if state["method"] != self.method:
            raise ValueError(f"state is for nevergrad:{state['method']}, "
                             f"not nevergrad:{self.method}")
        self.epoch = state["epoch"]
        self.domains = {n: _domain(d) for n, d in state["domains"]}
        self.history = [tuple(h) for h in state["history"]]
        self.seen = {fp: loss for fp, loss in state["seen"]}
        self._build()
        for event in state["log"]:
            self._do(event)
        self._pending = {tuple(map(tuple, k)): list(v) for k, v in state["pending"]}


def _param(ng, d: Domain):
    size = d.size()
    if size is not None and size <= MAX_CHOICE:
        return ng.p.Choice(list(range(size)), deterministic=True)
    if d.kind == "int":
        if d.log:
            return ng.p.Log(lower=d.low, upper=d.high).set_integer_casting()
        return ng.p.Scalar(lower=0, upper=size - 1).set_integer_casting()
    if d.log:
        return ng.p.Log(lower=d.low, upper=d.high)
    return ng.p.Scalar(lower=d.low, upper=d.high)


def _default(d: Domain) -> float:
    """The middle of a scalar's range (geometric for log), as nevergrad starts there."""
    if d.kind == "int" and not d.log:
        return (d.size() - 1) / 2
    return math.sqrt(d.low * d.high) if d.log else (d.low + d.high) / 2


def _domain(d: dict) -> Domain:
    if d["kind"] in ("choice", "bool"):
        return Domain(d["kind"], options=tuple(d["options"]))
    return Domain(d["kind"], low=d["low"], high=d["high"], step=d.get("step"), log=d["log"])


def _loss_arg(loss: list[float]):
    return loss[0] if len(loss) == 1 else list(loss)


def _nevergrad():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import nevergrad as ng
    return ng


def _optimizer_class(method: str):
    """The nevergrad optimizer registered as ``method``; a clear error listing options."""
    registry = _nevergrad().optimizers.registry
    if method in registry:
        return registry[method]
    hint = suggest(method, list(registry), n=5)
    hint = f"{hint} " if hint else ""
    raise ValueError(f"unknown nevergrad optimizer '{method}'; {hint}use any name in "
                     "nevergrad.optimizers.registry, e.g. nevergrad:NGOpt, "
                     "nevergrad:DiscreteOnePlusOne, nevergrad:PortfolioDiscreteOnePlusOne "
                     f"({len(registry)} registered)")
