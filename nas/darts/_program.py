"""The mixed network of differentiable search: a straight-line program of op modules and
mixed steps (softmax-weighted sums of the options' outputs), recorded by ``Recorder``.

``Recorder`` stands in for ``nas.Builder`` in a space's own helper functions (``op``,
``shape``, ``input``): each op becomes its module at once, built by the op registry
exactly as ``compile_graph`` builds it, so an option's module computes what the
candidate graph's node computes. ``mix(decision, outputs, source)`` adds a mixed step:
the sum of the options' outputs weighted by the decision's mixing weights (an option
whose output is None contributes nothing: DARTS' ``none`` op), plus, under the DARTS-
guard, ``beta`` times ``source`` (the auxiliary skip connection).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from nas.ops import get_op

Shape = tuple


@dataclass(frozen=True)
class Mix:
    """A mixed step: decision ``decision``'s weighted sum of ``outputs`` (value ids, None
    for an option that outputs nothing), with ``source`` the value an auxiliary skip
    adds (None when the shapes differ)."""

    decision: str
    outputs: tuple[int | None, ...]
    source: int | None


class Recorder:
    """Records ops and mixed steps into a program (a ``nas.Builder`` look-alike)."""

    def __init__(self) -> None:
        self.modules: list[nn.Module | None] = []  # one per step; None for a Mix
        self.steps: list[tuple[int, tuple[int, ...]] | Mix] = []  # (module #, inputs) or Mix
        self.tags: list[tuple[str, object] | None] = []  # (decision, option) of each step
        self.shapes: list[Shape] = []  # one per value: the inputs, then each step's output
        self.n_inputs = 0
        self.tag: tuple[str, object] | None = None  # what the next steps belong to

    def _ref(self, node: str) -> int:
        return int(node.removeprefix("v"))

    def input(self, shape, name: str = "x", **_) -> str:
        if self.steps:
            raise ValueError("declare the program's inputs before its first op")
        self.shapes.append(tuple(getattr(shape, "shape", shape)))
        self.n_inputs += 1
        return f"v{len(self.shapes) - 1}"

    def shape(self, node: str) -> Shape:
        return self.shapes[self._ref(node)]

    def op(self, op: str, *inputs: str, name: str | None = None, **params) -> str:
        """A module of ``op`` on ``inputs``, as ``compile_graph`` builds it."""
        spec = get_op(op)
        full = {k: v for k, v in spec.params.items()}
        full.update(params)
        refs = tuple(self._ref(i) for i in inputs)
        in_shapes = [self.shapes[r] for r in refs]
        out = tuple(spec.infer_shape(full, in_shapes))
        self.modules.append(spec.make(full, in_shapes))
        self.steps.append((len(self.modules) - 1, refs))
        self.tags.append(self.tag)
        self.shapes.append(out)
        return f"v{len(self.shapes) - 1}"

    def mix(self, decision: str, outputs: list[str | None], source: str | None,
            shape: Shape) -> str:
        """The weighted sum of the options' ``outputs`` (all of ``shape``)."""
        for o in outputs:
            if o is not None and self.shape(o) != tuple(shape):
                raise ValueError(f"decision '{decision}': an option's output {self.shape(o)} "
                                 f"is not the mixed shape {tuple(shape)}")
        src = None if source is None or self.shape(source) != tuple(shape) \
            else self._ref(source)
        self.modules.append(None)
        self.steps.append(Mix(decision, tuple(None if o is None else self._ref(o)
                                              for o in outputs), src))
        self.tags.append(None)
        self.shapes.append(tuple(shape))
        return f"v{len(self.shapes) - 1}"


class MixedNet(nn.Module):
    """The recorded program as a module: ``set_mixing(weights, beta)`` then ``net(x)``.

    ``weights[decision]`` is a vector over the decision's options (from
    ``Architecture.weights``); ``beta`` scales the DARTS- auxiliary skip (0: none).
    Its parameters are the network weights only, never the architecture's.
    """

    def __init__(self, rec: Recorder, out: str, choices: dict[str, list]):
        super().__init__()
        self.ops = nn.ModuleList([m if m is not None else nn.Identity() for m in rec.modules])
        self.steps, self.tags = list(rec.steps), list(rec.tags)
        self.n_inputs, self.out = rec.n_inputs, rec._ref(out)
        self.choices = {k: list(v) for k, v in choices.items()}
        self._weights: dict[str, torch.Tensor] | None = None
        self.beta = 0.0
        self.skip: frozenset = frozenset()

    def set_mixing(self, weights: dict[str, torch.Tensor], beta: float = 0.0,
                   skip=frozenset()) -> None:
        """The mixing weights (and auxiliary skip scale) the next forwards use;
        ``skip``: ``(decision, option)`` pairs whose modules are not run at all (a
        pruned option, or GDAS' options not drawn: weight 0, so no term)."""
        missing = set(self.choices) - set(weights)
        if missing:
            raise ValueError(f"no mixing weights for decision(s) {sorted(missing)}")
        self._weights, self.beta, self.skip = weights, float(beta), frozenset(skip)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        if self._weights is None:
            raise RuntimeError("call set_mixing(weights) before running the mixed network")
        if len(inputs) != self.n_inputs:
            raise TypeError(f"expected {self.n_inputs} input(s), got {len(inputs)}")
        values: list = list(inputs)
        for step, tag in zip(self.steps, self.tags, strict=True):
            if tag is not None and tag in self.skip:
                values.append(None)
            elif isinstance(step, Mix):
                values.append(self._mix(step, values))
            else:
                m, refs = step
                values.append(self.ops[m](*[values[r] for r in refs]))
        return values[self.out]

    def _mix(self, step: Mix, values: list) -> torch.Tensor:
        w = self._weights[step.decision]
        total = None
        for i, ref in enumerate(step.outputs):
            if ref is not None and values[ref] is not None:
                term = w[i] * values[ref]
                total = term if total is None else total + term
        if total is None:  # every option outputs nothing
            total = torch.zeros_like(values[step.source if step.source is not None else 0])
        if self.beta and step.source is not None:
            total = total + self.beta * values[step.source]
        return total

    def chosen_modules(self, answers: dict) -> list[nn.Module]:
        """The op modules a candidate with ``answers`` runs, in program order (the
        untagged ones and those of each decision's chosen option): what a one-hot
        mixing computes, and the order ``compile_graph`` holds them in."""
        return [self.ops[step[0]] for step, tag in zip(self.steps, self.tags, strict=True)
                if not isinstance(step, Mix) and (tag is None or answers[tag[0]] == tag[1])]


__all__ = ["Mix", "MixedNet", "Recorder"]
