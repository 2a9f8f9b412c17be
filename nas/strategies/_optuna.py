"""Optuna samplers as strategies: ``optuna:tpe``, ``optuna:gp``, ``optuna:nsga2``, ...

A private in-memory optuna study runs the sampler through ask/tell. ``ask()`` returns
a Proposal that answers each decision with the trial's ``suggest_*`` (define-by-run),
so samplers that understand conditional parameters (TPE) see them as such. Results
of trials this strategy did not ask (other workers, a resume) are added with
``study.add_trial``. Architectures already proposed (same fingerprint) are not
proposed again: the sampler is asked a few more times, then an unseen mutant is
enqueued.

A pruned result reaches the sampler as optuna's own pruned trials do: state PRUNED, its
last reported value at the step it reached (the ``steps`` metric) as an intermediate
value and as its value (single objective). TPE ranks such trials below complete ones,
by step reached and then value; samplers that read only complete trials ignore them.

Seeding: before each ask the sampler's random states are reseeded from
``(seed, number of asks so far)``, so what it proposes is a function of the seed and
the study's trials alone, and a state round trip (which replays the trials with
``add_trial``) resumes exactly. Exceptions: a sampler's in-memory caches (GPSampler's
warm-started kernel) restart empty; trials asked but not told when the state was
saved are not replayed (when told later they come back through ``add_trial``).
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import math
import warnings
from typing import Any

import numpy as np

from nas._domain import Domain, decisions_key
from nas.objective import signed as signed_of
from nas.strategies._base import Strategy, pruned_values, signed_values
from nas.strategies._registry import register_strategy

# method -> (optuna sampler class name, extra package it needs)
SAMPLERS = {
    "tpe": ("TPESampler", None),
    "random": ("RandomSampler", None),
    "gp": ("GPSampler", None),
    "nsga2": ("NSGAIISampler", None),
    "nsga3": ("NSGAIIISampler", None),
    "qmc": ("QMCSampler", None),
    "cmaes": ("CmaEsSampler", "cmaes"),
}


@register_strategy("optuna")
class OptunaStrategy(Strategy):
    """Optuna samplers (optuna:tpe, gp, nsga2, nsga3, qmc, random, cmaes) via ask/tell.

    method: the sampler, the part after ``optuna:`` (default tpe). tries: sampler asks
    per proposal while they give known architectures, before an unseen mutant is
    enqueued. Other keywords go to the sampler, e.g. ``n_startup_trials=5,
    multivariate=True`` for TPE; its seed comes from ``seed``.
    """

    def __init__(self, space, seed=0, objectives=None, method: str = "tpe", tries: int = 4,
                 **sampler_options):
        super().__init__(space, seed, objectives)
        self.method = method.lower()
        self.sampler_cls = _sampler_class(self.method, sampler_options)
        self.sampler_options = dict(sampler_options)
        params = inspect.signature(self.sampler_cls.__init__).parameters
        if "warn_independent_sampling" in params:  # conditional decisions are the norm here
            self.sampler_options.setdefault("warn_independent_sampling", False)
        self.tries = max(1, tries)
        self.n_asked = 0  # sampler asks so far; reseeds the sampler
        self.seen: dict[str, list | None] = {}  # fingerprint -> signed values (None: unknown)
        self._pending: dict[tuple, list] = {}  # decisions key -> asked, untold optuna trials
        self.study = self._new_study()
        self.sampler = self._new_sampler()

    # ------------------------------------------------------------ asking
    def ask(self) -> _TrialProposal:
        from nas.study import quiet_optuna

        with quiet_optuna():  # the private study's INFO lines are not the user's
            return self._ask()

    def _ask(self) -> _TrialProposal:
        from optuna.trial import TrialState

        decisions: dict = {}
        for _ in range(self.tries):
            trial = self._ask_trial()
            proposal, fp, decisions = self._identify(trial)
            if fp not in self.seen:
                break
            known = self.seen[fp]  # a duplicate: the sampler learns its known value
            if known is None or not all(math.isfinite(v) for v in known):
                self.study.tell(trial, state=TrialState.FAIL)
            else:
                self.study.tell(trial, self._raw(known))
        else:  # the sampler keeps proposing known architectures: enqueue an unseen one
            self.study.enqueue_trial(self.unseen_near(decisions, self.seen))
            proposal, fp, decisions = self._identify(self._ask_trial())
        self.seen[fp] = None
        self._pending.setdefault(decisions_key(decisions), []).append(proposal.trial)
        return proposal

    def _ask_trial(self):
        """A new optuna trial, the sampler reseeded from (seed, number of asks)."""
        seed = int(np.random.SeedSequence([self.seed, self.n_asked]).generate_state(1)[0])
        self.n_asked += 1
        if not _reseed(self.sampler, seed):  # a sampler whose random states we cannot find
            self.sampler = self._new_sampler(seed)
        self.study.sampler = self.sampler
        return self.study.ask()

    def _new_sampler(self, seed: int | None = None):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ExperimentalWarning for some options
            return self.sampler_cls(seed=self.seed if seed is None else seed,
                                    **self.sampler_options)

    def _identify(self, trial):
        """Run the space on ``trial``: the proposal, its fingerprint and decisions."""
        from optuna.trial import TrialState

        proposal = _TrialProposal(trial)
        try:
            fp, decisions = self.space.identify(proposal, allow_invalid=True)
        except Exception:
            self.study.tell(trial, state=TrialState.FAIL)
            raise
        return proposal, fp, decisions

    # ------------------------------------------------------------ telling
    def _tell(self, decisions, result) -> None:
        from nas.study import quiet_optuna

        with quiet_optuna():
            self._tell_study(decisions, result)

    def _tell_study(self, decisions, result) -> None:
        from optuna.trial import TrialState, create_trial

        values = signed_values(result, self.objectives)
        if result.pruned:
            state = TrialState.PRUNED
        elif all(math.isfinite(v) for v in values):
            state = TrialState.COMPLETE
        else:
            state = TrialState.FAIL  # failed, NaN or missing objective
        raw = self._raw(values) if state == TrialState.COMPLETE else None
        curve = self._curve(result) if state == TrialState.PRUNED else {}
        fp, decisions = self.space.identify(dict(decisions), allow_invalid=True)
        queue = self._pending.get(decisions_key(decisions))
        if queue:
            trial = queue.pop(0)
            if not queue:
                del self._pending[decisions_key(decisions)]
            for step, value in curve.items():  # optuna's tell makes the last one its value
                trial.report(value, step)
            self.study.tell(trial, raw, state=state)
        else:  # asked elsewhere (another worker, before a resume)
            from nas.study import distribution

            dists = {n: distribution(self.space.domains[n]) for n in decisions}
            last = list(curve.values())[-1:] or None
            self.study.add_trial(create_trial(state=state, values=raw or last, params=decisions,
                                              distributions=dists, intermediate_values=curve))
        self.seen[fp] = values if state == TrialState.COMPLETE else None

    def _curve(self, result) -> dict[int, float]:
        """A pruned result's intermediate values for optuna, ``{step: last value}`` (empty
        with several objectives, which optuna cannot prune, or without a finite value)."""
        partial = pruned_values(result, self.objectives)
        if partial is None or len(partial) != 1 or not math.isfinite(partial[0]):
            return {}
        steps = result.metrics.get("steps")
        step = int(steps) if isinstance(steps, int | float) and math.isfinite(steps) else 0
        return {max(0, step): self._raw(partial)[0]}

    def _raw(self, signed: list[float]) -> list[float]:
        """Finite signed values back in each objective's own direction (what optuna gets)."""
        return [o.unsigned(v) for v, o in zip(signed, self.objectives)]

    # ------------------------------------------------------------ state
    def _new_study(self):
        import optuna

        from nas.study import quiet_optuna

        with quiet_optuna():  # leaves the user's optuna verbosity as it was
            return optuna.create_study(
                directions=[o.optuna_direction for o in self.objectives],
                sampler=optuna.samplers.RandomSampler(seed=self.seed))

    def state_dict(self) -> dict:
        from optuna.distributions import distribution_to_json
        from optuna.trial import TrialState

        dists: dict[str, str] = {}
        trials = []
        done = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)
        for t in self.study.get_trials(deepcopy=False, states=done):
            for n, dist in t.distributions.items():
                dists.setdefault(n, distribution_to_json(dist))
            signed = None if t.values is None else signed_of(t.values, self.objectives)
            trials.append({"params": t.params, "state": t.state.name, "values": signed,
                           "system_attrs": _jsonable(t.system_attrs),
                           "intermediate": sorted(t.intermediate_values.items())})
        storage = self.study._storage  # study system attrs: QMC's counter, GA parent caches
        study_attrs = _jsonable(storage.get_study_system_attrs(self.study._study_id))
        seen = [[fp, _enc(v)] for fp, v in self.seen.items()]
        return {**super().state_dict(), "method": self.method, "n_asked": self.n_asked,
                "distributions": dists, "trials": trials, "study_system_attrs": study_attrs,
                "seen": seen}

    def load_state_dict(self, state: dict) -> None:
        from optuna.distributions import json_to_distribution
        from optuna.trial import TrialState, create_trial

        super().load_state_dict(state)
        if state["method"] != self.method:
            raise ValueError(f"state is for optuna:{state['method']}, not optuna:{self.method}")
        self.n_asked = state["n_asked"]
        self.seen = {fp: _dec(v) for fp, v in state["seen"]}
        self._pending = {}
        self.study = self._new_study()
        self.sampler = self._new_sampler()
        dists = {n: json_to_distribution(s) for n, s in state["distributions"].items()}
        for t in state["trials"]:
            st = TrialState[t["state"]]
            raw = None if t["values"] is None else self._raw(t["values"])
            kept = st == TrialState.COMPLETE or (st == TrialState.PRUNED and raw is not None)
            self.study.add_trial(create_trial(
                state=st, values=raw if kept else None, params=t["params"],
                distributions={n: dists[n] for n in t["params"]},
                system_attrs=t["system_attrs"],
                intermediate_values={int(k): v for k, v in t.get("intermediate", [])}))
        for k, v in state["study_system_attrs"].items():
            self.study._storage.set_study_system_attr(self.study._study_id, k, v)


class _TrialProposal:
    """Answers decisions with an optuna trial's suggest_* calls (define-by-run)."""

    def __init__(self, trial):
        self.trial = trial

    def decide(self, name: str, domain: Domain) -> Any:
        t = self.trial
        if domain.kind in ("choice", "bool"):
            return t.suggest_categorical(name, list(domain.options))
        if domain.kind == "int":
            return t.suggest_int(name, int(domain.low), int(domain.high), step=int(domain.step),
                                 log=domain.log)
        return t.suggest_float(name, domain.low, domain.high, log=domain.log)


def _sampler_class(method: str, options: dict):
    """The optuna sampler class for ``method``; clear errors for unknown names/options."""
    import optuna

    if method not in SAMPLERS:
        raise ValueError(f"unknown optuna sampler '{method}'; use one of "
                         + ", ".join(f"optuna:{m}" for m in SAMPLERS))
    cls_name, package = SAMPLERS[method]
    if package and importlib.util.find_spec(package) is None:
        raise ImportError(f"optuna:{method} needs the '{package}' package: "
                          f"pip install {package}")
    cls = getattr(optuna.samplers, cls_name)
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self",
                                                                                    "seed")]
    for key in options:
        if key not in accepted:
            raise ValueError(f"optuna:{method} ({cls_name}) has no option '{key}'"
                             + ("; the seed comes from the strategy's seed" if key == "seed"
                                else "") + f"; its options: {', '.join(accepted)}")
    return cls


def _reseed(sampler, seed: int) -> int:
    """Reseed every numpy random state inside an optuna sampler (its sub-samplers and
    strategies included); the number reseeded. Optuna keeps them in ``LazyRandomState``
    attributes and offers only an entropy-based ``reseed_rng()``, hence the walk."""
    from optuna.samplers._lazy_random_state import LazyRandomState

    seeds = np.random.SeedSequence(seed)
    found: list = []
    visited: set[int] = set()

    def walk(obj, depth: int) -> None:
        if id(obj) in visited or depth > 4:
            return
        visited.add(id(obj))
        if isinstance(obj, LazyRandomState):
            found.append(obj)
        elif type(obj).__module__.startswith("optuna.samplers") and hasattr(obj, "__dict__"):
            for value in vars(obj).values():
                walk(value, depth + 1)

    walk(sampler, 0)
    for state, child in zip(found, seeds.spawn(len(found))):
        state.rng.seed(int(child.generate_state(1)[0]))
    return len(found)


def _jsonable(attrs: dict) -> dict:
    """The attributes that survive a JSON round trip unchanged."""
    out = {}
    for k, v in attrs.items():
        try:
            if json.loads(json.dumps(v)) == v:
                out[k] = v
        except (TypeError, ValueError):
            pass
    return out


def _enc(values: list | None) -> list | None:
    return None if values is None else [v if math.isfinite(v) else None for v in values]


def _dec(values: list | None) -> list | None:
    return None if values is None else [-math.inf if v is None else v for v in values]
