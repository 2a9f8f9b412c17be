"""The contract every strategy keeps, as a class of pytest tests to subclass, and the toy
objective and ask/tell loop it drives strategies with."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from nas.registry import load_space_fn
from nas.result import Result
from nas.space import Space
from nas.strategies import Strategy, get_strategy
from nas.testing._common import near_file, required
from nas.testing._spaces import bind_space

StrategySpec = str | Callable[..., Strategy]


def strategy_factory(spec: StrategySpec, near: Path | None = None) -> Callable[..., Strategy]:
    """What makes the strategy ``spec`` names, called as ``(space, seed=, objectives=,
    **options)``: for a registered name (``"evolution"``, ``"optuna:tpe"``) the registry,
    for ``"path/file.py:Class"`` (relative to ``near`` or the working folder) that class,
    else ``spec`` itself (a Strategy class or any such factory)."""
    if not isinstance(spec, str):
        return spec
    ref = near_file(spec, near)
    path, sep, _ = ref.rpartition(":")
    if sep and path.endswith(".py"):
        return load_space_fn(ref)  # any callable from a file, a Strategy class here
    return functools.partial(get_strategy, spec)


def new_strategy(spec: StrategySpec, space: Space, seed: int = 0, objectives=None,
                 **options) -> Strategy:
    """A fresh strategy ``spec`` names (see ``strategy_factory``)."""
    return strategy_factory(spec)(space, seed=seed, objectives=objectives, **options)


def pseudo_score(decisions: dict) -> float:
    """A deterministic score in [0, 1) for any decisions (a sha256 digest: the same in every
    process, whatever PYTHONHASHSEED), so that strategies have something to climb."""
    blob = json.dumps(sorted((k, str(v)) for k, v in decisions.items()))
    return int(hashlib.sha256(blob.encode()).hexdigest()[:8], 16) % 1000 / 1000


def run_strategy(strategy: Strategy, space: Space, n: int,
                 fail_every: int = 0) -> list[tuple[dict, str]]:
    """Ask and tell ``n`` times, scoring with ``pseudo_score`` (objective ``val_acc``) and
    telling a failure every ``fail_every``-th trial (0: never); the decisions and
    fingerprints proposed."""
    out = []
    for i in range(n):
        graph, decisions = space.resolve(strategy.ask())
        if fail_every and i % fail_every == 0:
            result = Result.failure("runtime error: boom")
        else:
            result = Result(objectives={"val_acc": pseudo_score(decisions)})
        strategy.tell(decisions, result)
        out.append((decisions, graph.fingerprint()))
    return out


def conditional_space(b, in_shape, n_out):
    """Conditional (``layers`` and ``w*`` only when ``deep``), integer, categorical and
    continuous (``p``) decisions."""
    x = b.op("flatten", b.input(in_shape))
    if b.bool("deep"):
        for i in range(b.int("layers", 1, 3)):
            x = b.op("linear", x, features=b.choice(f"w{i}", [4, 8, 16]))
    x = b.op("dropout", x, p=b.float("p", 0.0, 0.5))
    return b.output(b.op("linear", x, features=n_out))


class StrategyContract:
    """The tests every strategy passes; subclass it in a test module and set ``strategy``:

    >>> class TestMyStrategy(StrategyContract):     # doctest: +SKIP
    ...     strategy = "my_strategy.py:MyStrategy"

    ``strategy``: a registered name, ``"path/file.py:Class"`` (relative to the test file
    or the working folder), or a factory called as ``(space, seed=, objectives=,
    **options)`` (a Strategy class is one). ``options``: passed to every instance.
    ``spaces``: the ``(space, space_config)`` pairs proposals are checked on (the first
    also serves the resume and failure tests). To test many strategies, override the
    ``strategy_under_test`` fixture with ``params``.
    """

    strategy: StrategySpec | None = None
    options: dict = {}
    spaces: tuple = (("mlp", {}), ("cnn", {}), ("nb201", {"skeleton": False}))
    trials: int = 25

    def pytest_generate_tests(self, metafunc):
        """Each test that takes ``proposal_space`` runs once per entry of ``spaces``."""
        if "proposal_space" in metafunc.fixturenames:
            ids = [s if isinstance(s, str) else getattr(s, "__name__", "space")
                   for s, _ in self.spaces]
            metafunc.parametrize("proposal_space", list(self.spaces), ids=ids)

    @pytest.fixture
    def strategy_under_test(self) -> StrategySpec:
        """What to test (``strategy`` by default)."""
        return required(self, "strategy")

    @pytest.fixture
    def make_strategy(self, strategy_under_test, request) -> Callable[..., Strategy]:
        """Makes a fresh strategy under test: ``make_strategy(space, seed)``."""
        factory = strategy_factory(strategy_under_test, near=Path(request.path).parent)

        def make(space: Space, seed: int, objectives=None) -> Strategy:
            return factory(space, seed=seed, objectives=objectives, **self.options)

        return make

    def first_space(self) -> Space:
        spec, config = self.spaces[0]
        return bind_space(spec, config=config)

    # ------------------------------------------------------------ the contract
    def test_has_a_docstring(self, make_strategy):
        s = make_strategy(self.first_space(), 0)
        assert (type(s).__doc__ or "").strip(), \
            f"{type(s).__name__} needs a docstring (`nas strategies` shows its first line)"

    def test_proposals_are_valid_and_reproducible(self, make_strategy, proposal_space):
        space = bind_space(proposal_space[0], config=proposal_space[1])
        runs = [run_strategy(make_strategy(space, 3), space, self.trials,
                             fail_every=7) for _ in range(2)]
        assert runs[0] == runs[1], "the same seed must give the same proposals"
        for decisions, _ in runs[0]:
            space.build(decisions).validate()
        assert len({fp for _, fp in runs[0]}) == len(runs[0]), \
            "an architecture was proposed twice"

    def test_state_dict_round_trip_resumes_identically(self, make_strategy):
        space = self.first_space()
        s1 = make_strategy(space, 5)
        run_strategy(s1, space, 30, fail_every=9)
        state = json.loads(json.dumps(s1.state_dict()))  # must be JSON-able
        s2 = make_strategy(space, 99)
        s2.load_state_dict(state)
        assert run_strategy(s1, space, 10) == run_strategy(s2, space, 10), \
            "a strategy loaded from a state_dict must propose what the original does"

    def test_conditional_and_continuous_decisions(self, make_strategy):
        space = Space(conditional_space, (1, 8), 2)
        proposed = run_strategy(make_strategy(space, 0), space, 30,
                                fail_every=4)
        for decisions, _ in proposed:
            assert ("layers" in decisions) == decisions["deep"]
            assert 0.0 <= decisions["p"] <= 0.5

    def test_all_failures_are_accepted(self, make_strategy):
        space = self.first_space()
        s = make_strategy(space, 1)
        run_strategy(s, space, 25, fail_every=1)  # every result failed: still proposes
