"""The shared weight store's layout: which store tensor each candidate parameter reads.

A candidate's parameter is named by (node id, op, parameter path inside the node's
module). The sharing rule decides which candidates read the same store tensor:

- ``"identity"``: one tensor per (node id, op, path, the shapes of all the node's
  weights). Two candidates share a node's weights when the node has the same name,
  op and weight shapes (what its params and input shapes fix), so nothing is sliced.
- ``"slice"``: one tensor per (node id, op, path, rank), as large as the largest
  shape seen in each dimension; a candidate reads the leading slice of it, and for
  the kernel dimensions (the third on, of a weight with three or more dimensions: a
  convolution's) the centre crop (Once-for-All).

``norms`` (``NORM_SHARING``) decides the normalization layers' affine weights on their
own: ``"shared"`` follows the rule; ``"per_width"`` keys them by shape under either
rule, so a batch norm after a 16-channel conv never shares its scale and shift with
the same node at 64 channels (their statistics differ, and a slice of a wider
layer's affine weights fits neither). A norm is an op whose name ends in ``norm``.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass

import torch

SHARING_RULES = ("identity", "slice")
NORM_SHARING = ("shared", "per_width")  # a norm's affine weights: as the rule, by width


@dataclass(frozen=True)
class Slot:
    """Where one candidate parameter lives in the store: the store key and the index
    that cuts the candidate's shape out of the store tensor (None: the whole tensor)."""

    key: str
    index: tuple[slice, ...] | None
    scale: float = 1.0  # what the slice is multiplied by (``rescale``; 1: as it is)


def store_key(rule: str, nid: str, op: str, path: str, shape: tuple[int, ...],
              node_shapes: tuple = ()) -> str:
    """The store key of a candidate parameter under ``rule`` (a valid ParameterDict key:
    readable node and path, then a stable hashlib digest of what the rule keys by);
    ``node_shapes``: the shapes of all the node's parameters (the identity rule's)."""
    ident = (nid, op, path, tuple(shape), tuple(node_shapes)) if rule == "identity" \
        else (nid, op, path, len(shape))
    digest = hashlib.sha1(repr(ident).encode()).hexdigest()[:10]
    readable = re.split(r"[\[<]", nid)[0]  # the identity without its kind and shape marks
    return f"{_word(readable)}__{_word(path)}__{digest}"


def _word(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def slice_index(shape: tuple[int, ...], full: tuple[int, ...]) -> tuple[slice, ...] | None:
    """The index cutting ``shape`` out of a store tensor of shape ``full``: leading
    slices, centre crops for kernel dims (the third on, for rank >= 3); None when the
    shapes are equal, and ValueError when ``shape`` does not fit."""
    if tuple(shape) == tuple(full):
        return None
    if len(shape) != len(full) or any(s > f for s, f in zip(shape, full, strict=True)):
        raise ValueError(f"shape {tuple(shape)} does not fit in {tuple(full)}")
    index = []
    for d, (s, f) in enumerate(zip(shape, full, strict=True)):
        start = (f - s) // 2 if d >= 2 and len(full) >= 3 else 0
        index.append(slice(start, start + s))
    return tuple(index)


class Layout:
    """The shapes of the store tensors, grown from the parameter shapes of candidates."""

    def __init__(self, rule: str, norms: str = "shared", rescale: bool = False):
        if rule not in SHARING_RULES:
            raise ValueError(f"sharing rule must be one of {', '.join(SHARING_RULES)}, "
                             f"got {rule!r}")
        if norms not in NORM_SHARING:
            raise ValueError(f"norms must be one of {', '.join(NORM_SHARING)}, got {norms!r}")
        self.rule, self.norms, self.rescale = rule, norms, rescale
        self.shapes: dict[str, tuple[int, ...]] = {}  # store key -> store tensor shape
        self.dtypes: dict[str, torch.dtype] = {}
        self._slots: dict[tuple, Slot | None] = {}  # slot()'s answers, until add()

    def add(self, nid: str, op: str, path: str, shape: tuple[int, ...], node_shapes: tuple,
            dtype: torch.dtype) -> str:
        """Make room for a parameter of ``shape``; returns its store key."""
        key = store_key(self.rule_of(op), nid, op, path, shape, node_shapes)
        self._slots.clear()
        old = self.shapes.get(key)
        self.shapes[key] = tuple(shape) if old is None else \
            tuple(max(a, b) for a, b in zip(old, shape, strict=True))
        self.dtypes.setdefault(key, dtype)
        return key

    def rule_of(self, op: str) -> str:
        """The rule keying ``op``'s parameters: identity for a norm with per-width norms."""
        return "identity" if self.norms == "per_width" and op.endswith("norm") else self.rule

    def slot(self, nid: str, op: str, path: str, shape: tuple[int, ...],
             node_shapes: tuple) -> Slot | None:
        """Where a parameter of ``shape`` lives, or None when the store lacks it (a path
        the probe never met, or a shape larger than any it met). Remembered: a
        supernet step asks it for every parameter of its candidates."""
        ask = (nid, op, path, tuple(shape), tuple(node_shapes))
        if ask not in self._slots:
            self._slots[ask] = self._find_slot(*ask)
        return self._slots[ask]

    def _find_slot(self, nid: str, op: str, path: str, shape: tuple[int, ...],
                   node_shapes: tuple) -> Slot | None:
        key = store_key(self.rule_of(op), nid, op, path, shape, node_shapes)
        full = self.shapes.get(key)
        if full is None or len(full) != len(shape) or any(
                s > f for s, f in zip(shape, full, strict=True)):
            return None
        index = slice_index(tuple(shape), full)
        scale = fan_in_scale(tuple(shape), full) if self.rescale and index is not None else 1.0
        return Slot(key, index, scale)

    def megabytes(self) -> float:
        """What the store tensors take, in MiB."""
        return sum(math.prod(s) * _itemsize(self.dtypes[k]) for k, s in self.shapes.items()) \
            / 2**20


def fan_in_scale(shape: tuple[int, ...], full: tuple[int, ...]) -> float:
    """sqrt(fan-in of ``full`` / fan-in of ``shape``) for a weight (rank >= 2; fan-in:
    every dimension but the first), else 1. A slice of a tensor initialized for the
    widest candidate is that much too small for a narrower one (a 16-channel,
    3-wide conv reading a 64 x 7 store: 3x a layer, 3^8 over eight layers without
    batch norm); multiplied by it, every candidate starts at its own init's scale."""
    if len(shape) < 2:
        return 1.0
    return math.sqrt(math.prod(full[1:]) / math.prod(shape[1:]))


def _itemsize(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


def fill_store(target: torch.Tensor, seen: torch.Tensor) -> None:
    """Initialize a store tensor from ``seen``, the freshly initialized parameter of its
    largest candidate: ``seen`` where it fits (its slice), the rest drawn uniformly with
    ``seen``'s mean and spread (a constant init, as a norm's ones, stays constant)."""
    with torch.no_grad():
        mean, std = seen.float().mean(), seen.float().std() if seen.numel() > 1 else 0.0
        bound = float(std) * math.sqrt(3.0)
        target.uniform_(-bound, bound).add_(mean) if bound > 0 else target.fill_(mean)
        index = slice_index(tuple(seen.shape), tuple(target.shape))
        (target if index is None else target[index]).copy_(seen)
