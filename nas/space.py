"""Define-by-run search spaces.

A space is a Python function ``fn(b: Builder, in_shape, n_out, **config)`` that asks
the builder for decisions (``b.choice``, ``b.int``, ``b.float``, ``b.bool``) and adds
ops (``b.op``) as it goes, like an optuna objective asks its trial. Whoever answers
the decisions (a dict, a sampler, a strategy's policy) is a ``Proposal``.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from nas._domain import Domain, SpaceError, decisions_key, decisions_text
from nas._errors import GraphError
from nas._space_size import Branch, count_leaves, estimate_leaves
from nas.graph import ArchGraph
from nas.ops import Shape, TensorSpec

SpaceFn = Callable[..., Any]


@runtime_checkable
class Proposal(Protocol):
    """Answers the decisions of one candidate, one at a time, as the builder meets them."""

    def decide(self, name: str, domain: Domain) -> Any: ...


class DictProposal:
    """Answers from a dict; a decision the dict lacks is sampled from ``rng`` if given."""

    def __init__(self, decisions: dict, rng: random.Random | None = None):
        self.decisions = decisions
        self.rng = rng

    def decide(self, name: str, domain: Domain) -> Any:
        if name in self.decisions:
            return self.decisions[name]
        if self.rng is None:
            raise SpaceError(f"decision '{name}' ({domain}) is missing from the decisions")
        return domain.sample(self.rng)


class RandomProposal(DictProposal):
    """Samples every decision uniformly."""

    def __init__(self, rng: random.Random):
        super().__init__({}, rng)


class Builder:
    """Handed to a space function: records decisions and builds the architecture.

    The nodes go straight into an ArchGraph (its ``add_input`` / ``add_node`` check ids,
    ops, arity and params); the builder adds what a graph cannot know by itself: the
    decisions, and every node's shape as soon as it is added.
    """

    def __init__(self, space: Space, proposal: Proposal):
        self._space = space
        self._proposal = proposal
        self.decisions: dict[str, Any] = {}
        self._graph = ArchGraph()
        self._shapes: dict[str, Shape] = {}
        self._counts: dict[str, int] = {}
        self.scopes: dict[str, str] = {}  # node id -> the last decision asked before it

    # ------------------------------------------------------------ decisions
    def _decide(self, name: str, domain: Domain) -> Any:
        if not isinstance(name, str) or not name:
            raise SpaceError("decision names must be non-empty strings")
        if name in self.decisions:
            raise SpaceError(f"decision '{name}' is asked twice in one architecture; "
                             "give each decision its own name (e.g. f'width_{i}')")
        self._space._register_domain(name, domain)
        value = self._proposal.decide(name, domain)
        if not domain.contains(value):
            raise SpaceError(f"decision '{name}': value {value!r} is not in {domain}")
        value = domain.canonical(value)
        self.decisions[name] = value
        return value

    def choice(self, name: str, options) -> Any:
        """One of ``options`` (None, bool, int, float or str)."""
        return self._decide(name, Domain.choice(name, options))

    def int(self, name: str, low: int, high: int, step: int = 1, log: bool = False) -> int:
        """An int in [low, high] (inclusive) on a grid of ``step``."""
        return self._decide(name, Domain.integer(name, low, high, step, log))

    def float(self, name: str, low: float, high: float, log: bool = False) -> float:
        """A float in [low, high], uniform or log-uniform."""
        return self._decide(name, Domain.real(name, low, high, log))

    def bool(self, name: str) -> bool:
        return self._decide(name, Domain.boolean())

    # ------------------------------------------------------------ graph
    def input(self, spec: Shape | TensorSpec, name: str = "x", kind: str = "tensor",
              vocab: int | None = None) -> str:
        """Declare a graph input; ``spec`` is a shape or a TensorSpec (batch excluded)."""
        if isinstance(spec, TensorSpec):
            kind, vocab, spec = spec.kind, spec.vocab, spec.shape
        self._graph.add_input(name, spec, kind, vocab)
        self._shapes[name] = tuple(spec)
        return name

    def op(self, op: str, *inputs: str, name: str | None = None, **params) -> str:
        """Add ``op`` on ``inputs`` (node ids) and return the new node's id.

        The shape is inferred at once, so a misfit raises here, naming the node.
        """
        if name is None:
            k = self._counts.get(op, 0)
            self._counts[op] = k + 1
            name = f"{op}_{k}"
        for src in inputs:
            if src not in self._shapes:
                raise GraphError(f"input '{src}' is not a node of this architecture", node=name)
        self._graph.add_node(name, op, params, inputs)
        self._shapes[name] = self._graph.shape_of(name, self._shapes)
        self.scopes[name] = next(reversed(self.decisions), "")  # (supernet node identity)
        return name

    def shape(self, node: str) -> Shape:
        """The shape (batch excluded) of a node built so far."""
        return self._shapes[node]

    def output(self, node: str, name: str = "y") -> str:
        """Expose ``node`` as the graph output ``name``."""
        if node not in self._graph:
            raise GraphError(f"output '{name}' refers to a missing node", node=node)
        self._graph.set_output(name, node)
        return node

    @property
    def outputs(self) -> dict[str, str]:
        """The outputs set so far: name -> node id."""
        return self._graph.outputs

    def to_graph(self) -> ArchGraph:
        """The ArchGraph of what was built, without nodes that reach no output."""
        return self._graph.prune()

    def fingerprint(self) -> str:
        """The fingerprint of what was built (``ArchGraph.fingerprint``)."""
        return self._graph.fingerprint()


class Space:
    """A search space: a space function bound to a task's input shape and output size."""

    def __init__(self, fn: SpaceFn, in_shape: Shape | TensorSpec, n_out: int,
                 name: str | None = None, **config):
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "space")
        self.in_shape = in_shape
        self.n_out = n_out
        self.config = config
        self.domains: dict[str, Domain] = {}
        self._identity: dict[tuple, tuple[str, dict]] = {}

    def __repr__(self) -> str:
        cfg = "".join(f", {k}={v!r}" for k, v in self.config.items())
        return f"Space({self.name!r}, in_shape={self.in_shape}, n_out={self.n_out}{cfg})"

    def _register_domain(self, name: str, domain: Domain) -> None:
        known = self.domains.get(name)
        if known is None:
            self.domains[name] = domain
        elif known != domain:
            raise SpaceError(f"decision '{name}' was declared as {known} and now as {domain}; "
                             "a decision name keeps one domain for the life of the space - "
                             "use another name for the other domain")

    # ------------------------------------------------------------ building
    def _run(self, proposal: Proposal | dict) -> Builder:
        """Run the space function with ``proposal`` answering the decisions."""
        b, error = self._attempt(proposal)
        if error is not None:
            raise error
        return b

    def _attempt(self, proposal: Proposal | dict) -> tuple[Builder, GraphError | None]:
        """Run the space function; a GraphError (the decisions describe an invalid
        architecture) comes back with the builder, its decisions reached so far."""
        if isinstance(proposal, dict):
            proposal = DictProposal(proposal)
        b = Builder(self, proposal)
        try:
            result = self.fn(b, self.in_shape, self.n_out, **self.config)
            if not b.outputs:
                if isinstance(result, dict):
                    for out_name, node in result.items():
                        b.output(node, out_name)
                elif isinstance(result, str):
                    b.output(result, "y")
                else:
                    raise SpaceError(f"space '{self.name}' set no output: call b.output(node) "
                                     "or return the output node id")
        except GraphError as exc:
            return b, exc
        except (SpaceError, Branch):
            raise
        except Exception as exc:  # a bug in the user's space function: say where
            raise SpaceError(f"space '{self.name}' raised {type(exc).__name__}: {exc} "
                             f"(decisions so far: {b.decisions})") from exc
        return b, None

    def resolve(self, proposal: Proposal | dict) -> tuple[ArchGraph, dict]:
        """Run the space function: the graph and the decisions actually reached."""
        graph, decisions, error = self.try_resolve(proposal)
        if error is not None:
            raise error
        return graph, decisions

    def try_resolve(self, proposal: Proposal | dict
                    ) -> tuple[ArchGraph | None, dict, GraphError | None]:
        """Like ``resolve``, but decisions that describe an invalid architecture (a kernel
        larger than its input, ...) give ``(None, decisions reached, the GraphError)``
        instead of raising: a search records them as a failed trial and goes on."""
        b, error = self._attempt(proposal)
        decisions = dict(b.decisions)
        if error is not None:
            return None, decisions, error
        graph = b.to_graph()
        try:
            graph.validate()
        except GraphError as exc:
            return None, decisions, exc
        graph.meta = {"space": self.name, "decisions": dict(decisions)}
        return graph, decisions, None

    def identify(self, proposal: Proposal | dict, *,
                 allow_invalid: bool = False) -> tuple[str, dict]:
        """The fingerprint and reached decisions, without making the ArchGraph (fast).

        Decisions that describe an invalid architecture raise its GraphError, or with
        ``allow_invalid`` (strategies, which must be told about them, not stopped) get
        ``invalid_fingerprint(decisions reached)``. Results for decision dicts are
        cached, since a build from a dict is deterministic.
        """
        key = None
        if isinstance(proposal, dict | DictProposal):
            # a run answered from a dict asks the same decisions again: same result
            key = decisions_key(proposal if isinstance(proposal, dict) else proposal.decisions)
            hit = self._identity.get(key)
            if hit is not None:
                if is_invalid(hit[0]) and not allow_invalid:
                    self._run(dict(hit[1]))  # raises the GraphError afresh
                return hit[0], dict(hit[1])
        b, error = self._attempt(proposal)
        fp = b.fingerprint() if error is None else invalid_fingerprint(b.decisions)
        out = (fp, dict(b.decisions))
        if len(self._identity) > 100_000:
            self._identity.clear()
        self._identity[decisions_key(out[1])] = out
        given = proposal if isinstance(proposal, dict) else getattr(proposal, "decisions", {})
        if key is not None and all(k in given for k in out[1]):  # nothing was sampled
            self._identity[key] = out
        if error is not None and not allow_invalid:
            raise error
        return out[0], dict(out[1])

    def fingerprint(self, decisions: Proposal | dict) -> str:
        """The fingerprint of the architecture ``decisions`` build (see ``identify``)."""
        return self.identify(decisions)[0]

    def build(self, decisions: Proposal | dict) -> ArchGraph:
        """The ArchGraph for a decisions dict (or a Proposal); deterministic for a dict."""
        return self.resolve(decisions)[0]

    def sample(self, rng: random.Random | int | None = None) -> dict:
        """Uniformly sampled decisions (only those the architecture reaches)."""
        return self.identify(RandomProposal(_rng(rng)))[1]

    def sample_valid(self, rng: random.Random | int | None = None, tries: int = 20) -> dict:
        """Sampled decisions that build a valid architecture (a space may also describe
        invalid ones); SpaceError naming the last build error when ``tries`` samples
        build none (a space that does not fit its input, say)."""
        rng = _rng(rng)
        for _ in range(tries):
            _, decisions, error = self.try_resolve(RandomProposal(rng))
            if error is None:
                return decisions
        raise SpaceError(f"space '{self.name}' (input {self.in_shape}, {self.n_out} outputs) "
                         f"built no valid architecture in {tries} samples; the last: {error}")

    def complete(self, decisions: dict, rng: random.Random | int | None = None) -> dict:
        """Re-resolve ``decisions``: keep the reached ones, sample newly reached ones.

        Like ``mutate`` and ``crossover`` it returns decisions even when they describe
        an invalid architecture (``build`` raises then): a search records those as
        failed trials."""
        return self.identify(DictProposal(decisions, _rng(rng)), allow_invalid=True)[1]

    # ------------------------------------------------------------ variation
    def mutate(self, decisions: dict, rng: random.Random | int | None = None,
               tries: int = 20) -> dict:
        """Change at least one reached decision (and re-resolve conditional ones).

        Tries again (up to ``tries`` times) when the change leaves the architecture's
        fingerprint unchanged, so the mutant is a different architecture when one exists.
        """
        rng = _rng(rng)
        base_fp, current = self.identify(DictProposal(decisions, rng), allow_invalid=True)
        mutable = [n for n in current if (self.domains[n].size() or 2) > 1]
        if not mutable:
            raise SpaceError(f"space '{self.name}' has no decision with two or more values "
                             "to mutate")
        child = current
        for _ in range(tries):
            name = mutable[rng.randrange(len(mutable))]
            proposal = dict(current)
            proposal[name] = self.domains[name].neighbour(current[name], rng)
            fp, child = self.identify(DictProposal(proposal, rng), allow_invalid=True)
            if fp != base_fp:
                return child
        return child

    def crossover(self, a: dict, b: dict, rng: random.Random | int | None = None) -> dict:
        """Uniform crossover: each decision from one parent at random, then re-resolved."""
        rng = _rng(rng)
        child = {}
        for name in dict.fromkeys(itertools.chain(a, b)):
            if name in a and name in b:
                child[name] = a[name] if rng.random() < 0.5 else b[name]
            else:
                child[name] = a[name] if name in a else b[name]
        return self.complete(child, rng)

    # ------------------------------------------------------------ description
    def describe(self, samples: int = 64, max_enumerate: int = 20000, seed: int = 0) -> dict:
        """The decision domains and the number of architectures (decision sets) when finite.

        Domains are discovered by sampling; the size is counted exactly by walking the
        decision tree when it has at most ``max_enumerate`` leaves, else left as None with
        ``size_estimate`` (Knuth's random-walk estimate of the leaf count, which also
        decides when the walk would be too long to try) and an upper bound (the product
        of the domain sizes).
        """
        rng = random.Random(seed)
        for _ in range(samples):  # invalid architectures reveal domains too
            self.identify(RandomProposal(rng), allow_invalid=True)
        estimate = self._estimate_leaves(rng)
        size = None
        if estimate is not None and (max_enumerate <= 0 or estimate <= 2 * max_enumerate):
            size = self._enumerate(max_enumerate)  # walking a far larger tree would be slow
        sizes = [d.size() for d in self.domains.values()]
        bound = None
        if all(s is not None for s in sizes):
            bound = 1
            for s in sizes:
                bound *= s
        return {
            "space": self.name,
            "decisions": {n: d.to_dict() for n, d in self.domains.items()},
            "size": size,
            "size_estimate": size if size is not None else estimate,
            "size_upper_bound": bound,
        }

    def _estimate_leaves(self, rng: random.Random, probes: int = 32) -> float | None:
        """Knuth's estimate of the decision tree's leaf count (``nas._space_size``)."""
        return estimate_leaves(self, rng, probes)

    def _enumerate(self, limit: int) -> int | None:
        """The decision tree's leaves counted, or None past ``limit`` or if infinite."""
        return count_leaves(self, limit)


INVALID = "invalid:"  # the prefix of an invalid architecture's fingerprint


def invalid_fingerprint(decisions: dict) -> str:
    """A stable stand-in fingerprint for decisions that describe no valid architecture
    (a digest of the decisions reached), so that strategies skip them as seen."""
    return INVALID + hashlib.sha256(decisions_text(decisions).encode()).hexdigest()[:20]


def is_invalid(fingerprint: str | None) -> bool:
    """True for the fingerprint of decisions that built no valid architecture."""
    return bool(fingerprint) and fingerprint.startswith(INVALID)


def _rng(rng: random.Random | int | None) -> random.Random:
    if isinstance(rng, random.Random):
        return rng
    return random.Random(rng)
