"""The strategy (controller) protocol: ask for a proposal, tell the result.

Strategies never train: the runner builds and evaluates what they propose. A strategy
is told every result, failed ones included (their fitness is -inf), and can save and
restore its state so a search resumes where it stopped.

A pruned result (``Result.pruned``) carries the last values it reported and its
``fidelity`` (the share of the budget it trained): ``pruned_values`` reads them. Its
``signed_values`` stay -inf, so a strategy that ignores fidelities treats it as a
failure; evolution and the optuna samplers use them (see each).
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

from nas._domain import SpaceError
from nas.objective import Objective, objectives_of
from nas.result import Result
from nas.space import Proposal, RandomProposal, Space

Objectives = list[Objective]  # also given as pairs or "name:dir" texts (objectives_of)


class Strategy(ABC):
    """Base class: ``ask() -> Proposal``, ``tell(decisions, result)``, state round trip.

    space: the space proposals are for. seed: makes proposals reproducible.
    objectives: names and directions of what the study optimizes; the first one is the
    fitness for single-objective strategies.
    """

    name = "base"

    def __init__(self, space: Space, seed: int = 0, objectives: Iterable | None = None):
        self.space = space
        self.seed = seed
        self.objectives: Objectives = objectives_of(objectives or [("val_acc", "max")])
        self.rng = random.Random(seed)
        self.n_told = 0

    @abstractmethod
    def ask(self) -> Proposal | dict:
        """The next candidate: a decisions dict or a Proposal answering them one by one."""

    def tell(self, decisions: dict, result: Result) -> None:
        """Record a finished candidate (failed or pruned ones included)."""
        self.n_told += 1
        self._tell(decisions, result)

    def _tell(self, decisions: dict, result: Result) -> None:  # noqa: B027 - optional hook
        """Hook for subclasses."""

    # ------------------------------------------------------------ helpers
    def fitness(self, result: Result) -> float:
        """The first objective, signed so that higher is better; -inf when it failed."""
        return signed_values(result, self.objectives)[0]

    def fingerprint(self, decisions: dict) -> str:
        """The architecture's fingerprint (``invalid_fingerprint`` for decisions that build
        no valid one: strategies are told about those like any failure)."""
        return self.space.identify(decisions, allow_invalid=True)[0]

    def sample_unseen(self, seen: set[str], tries: int = 50) -> dict:
        """A uniform sample whose fingerprint is not in ``seen`` (the last try if all
        were seen); its fingerprint is added to ``seen``."""
        for _ in range(tries):
            fp, decisions = self.space.identify(RandomProposal(self.rng), allow_invalid=True)
            if fp not in seen:
                break
        seen.add(fp)
        return decisions

    def unseen_near(self, decisions: dict, seen, tries: int = 20) -> dict:
        """A mutant of ``decisions`` whose fingerprint is not in ``seen``, else a uniform
        unseen sample (for samplers that keep proposing known architectures)."""
        for _ in range(tries):
            try:
                child = self.space.mutate(decisions, self.rng)
            except SpaceError:  # nothing to mutate
                break
            if self.fingerprint(child) not in seen:
                return child
        return self.sample_unseen(set(seen), tries)

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """JSON-able state; subclasses extend it."""
        return {"name": self.name, "seed": self.seed, "rng": _rng_state(self.rng),
                "n_told": self.n_told}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("name") != self.name:
            raise ValueError(f"state is for strategy '{state.get('name')}', not '{self.name}'")
        self.seed = state["seed"]
        self.rng.setstate(_rng_unstate(state["rng"]))
        self.n_told = state["n_told"]


def signed_values(result: Result, objectives: Iterable) -> list[float]:
    """The result's objective values, each signed by its ``Objective`` (higher is better;
    -inf where failed or missing)."""
    return [o.signed(result.objectives.get(o.name) if result.ok else None)
            for o in objectives_of(objectives)]


def pruned_values(result: Result, objectives: Iterable) -> list[float] | None:
    """A pruned result's last reported values, signed like ``signed_values`` (-inf where
    missing); None when the result is not pruned (or failed)."""
    if not result.pruned or result.error is not None:
        return None
    return [o.signed(result.objectives.get(o.name)) for o in objectives_of(objectives)]


def _rng_state(rng: random.Random) -> list:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def _rng_unstate(state: list) -> tuple:
    version, internal, gauss = state
    return (version, tuple(internal), gauss)
