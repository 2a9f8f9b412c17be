"""Sequence tasks for the ``transformer`` space: a synthetic seq2seq task (reverse or sort
token sequences) and character-level language modelling on a text file.

Both feed token ids (long) and expect per-position logits: ``seq2seq`` models take
``src`` (Ls,) and ``tgt`` (Lt,) and return (Lt, V) (``mode="seq2seq"``); ``charlm``
models take (L,) and return (L, V) (``mode="decoder"``). The ``rnn`` space returns one
vector per sequence, not one per position, so it fits neither. Bind a space with
``nas.get_space("transformer", in_shape=task.in_shape, n_out=task.n_out,
**task.space_config)``.
"""

from __future__ import annotations

import importlib
import inspect
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from evaluators.measure import trained_metrics
from evaluators.multi_input import Inputs as Tensors
from evaluators.multi_input import TensorTask
from evaluators.recipe import TrainConfig
from nas import Budget, TensorSpec, register_task

BOS = 0  # the start token of seq2seq targets (never in a source)


class _SequenceTask(TensorTask):
    """Shared parts: the batch axis, the default budget (``evaluate``: ``TensorTask``)."""

    name = "sequence"
    batch_axis = True  # every tensor's first axis is the sample
    default_budget = Budget(500, "steps")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(in_shape={self.in_shape!r}, n_out={self.n_out})"


@register_task("seq2seq")
class Seq2Seq(_SequenceTask):
    """Seq2seq: reverse or sort random token sequences (transformer, mode seq2seq).

    Sources are ``length`` tokens drawn from ``1..vocab-1`` (token 0 is BOS), all
    distinct sequences; the target is the source reversed (``op="reverse"``) or sorted
    (``op="sort"``); the decoder reads ``tgt`` = BOS + target[:-1]. ``n_train`` /
    ``n_val`` / ``n_test`` sequences, fixed by ``seed``. Objective ``val_acc``: the
    teacher-forced token accuracy; ``val_exact`` / ``test_exact``: the fraction of
    sequences with every token right (still teacher-forced: no free-running decoding).
    """

    name = "seq2seq"
    objective = ("val_acc", "max")
    metrics = trained_metrics({"acc": "max", "exact": "max", "loss": "min"})
    space_config = {"mode": "seq2seq"}

    def __init__(self, op: str = "reverse", vocab: int = 12, length: int = 8,
                 n_train: int = 4000, n_val: int = 500, n_test: int = 500, seed: int = 0,
                 config: TrainConfig | dict | None = None):
        if op not in ("reverse", "sort"):
            raise ValueError(f"op must be 'reverse' or 'sort', got {op!r}")
        if vocab < 3 or length < 2:
            raise ValueError(f"need vocab >= 3 and length >= 2, got {vocab} and {length}")
        n = n_train + n_val + n_test
        if (vocab - 1) ** length < 2 * n:
            raise ValueError(f"{vocab - 1} symbols and length {length} give too few distinct "
                             f"sequences for {n}: raise vocab or length")
        rng = np.random.default_rng(seed)
        src = np.zeros((0, length), dtype=np.int64)
        while len(src) < n:  # draw, drop repeats, keep the first n in a seeded order
            more = rng.integers(1, vocab, size=(2 * n, length))
            src = np.unique(np.concatenate([src, more]), axis=0)
        src = torch.as_tensor(src[rng.permutation(len(src))[:n]])  # (N, L)
        out = src.flip(1) if op == "reverse" else src.sort(1).values  # (N, L)
        tgt = torch.cat([torch.full((n, 1), BOS), out[:, :-1]], 1)  # (N, L) teacher forcing
        cut = {"train": slice(0, n_train), "val": slice(n_train, n_train + n_val),
               "test": slice(n_train + n_val, n)}
        tensors = {f"{k}_{s}": t[c] for s, c in cut.items()
                   for k, t in (("src", src), ("tgt", tgt), ("out", out))}
        super().__init__(tensors, config)
        self.op = op
        self.in_shape = TensorSpec((length,), kind="tokens", vocab=vocab)
        self.n_out = vocab

    def steps_per_epoch(self, batch_size: int) -> int:
        return max(1, len(self.tensors["src_train"]) // batch_size)

    def train_batch(self, data: Tensors, gen: torch.Generator, batch_size: int):
        n = len(data["src_train"])
        idx = torch.randint(n, (min(batch_size, n),), generator=gen).to(data["src_train"].device)
        return {"src": data["src_train"][idx], "tgt": data["tgt_train"][idx]}, \
            data["out_train"][idx]

    def split(self, data: Tensors, name: str):
        return {"src": data[f"src_{name}"], "tgt": data[f"tgt_{name}"]}, data[f"out_{name}"]

    def loss(self, out: torch.Tensor, target: torch.Tensor,
             label_smoothing: float = 0.0) -> torch.Tensor:
        return F.cross_entropy(out.flatten(0, 1), target.flatten(), label_smoothing=label_smoothing)

    def score(self, out: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        right = out.argmax(-1) == target  # (N, L)
        return {"acc": right.float().mean().item(),
                "exact": right.all(1).float().mean().item(),
                "loss": F.cross_entropy(out.flatten(0, 1), target.flatten()).item()}


DEFAULT_CORPUS = ("textwrap", "argparse", "difflib")
"""Standard-library modules whose source text is the default ``charlm`` corpus."""


def default_corpus() -> str:
    """The source of ``DEFAULT_CORPUS`` (about 200k characters), read with
    ``inspect.getsource``: present wherever Python is, no download. It changes a little
    between Python versions, so results compare within one version."""
    return "\n".join(inspect.getsource(importlib.import_module(m)) for m in DEFAULT_CORPUS)


@register_task("charlm")
class CharLM(_SequenceTask):
    """Character-level language model on a text file, scored by perplexity (transformer, decoder).

    Text: ``path`` (``charlm:PATH``, UTF-8) or by default the source of Python's
    ``textwrap``, ``argparse`` and ``difflib`` modules (``default_corpus``). The text
    splits into contiguous train / validation / test parts (``val`` and ``test``
    fractions at the end); the vocabulary is the training part's characters plus an
    unknown id 0 for characters it lacks. Models read windows of ``context`` ids
    (random starts while training, non-overlapping windows for scoring) and predict
    the next character at every position. Objective ``("val_ppl", "min")`` =
    exp(mean validation cross-entropy); metrics ``val_bpc`` (bits per character),
    ``test_ppl``, ``test_bpc``. No label smoothing (it would bias perplexity).
    """

    name = "charlm"
    objective = ("val_ppl", "min")
    metrics = trained_metrics({"ppl": "min", "bpc": "min", "loss": "min"})
    space_config = {"mode": "decoder"}

    def __init__(self, path: str | None = None, context: int = 64, val: float = 0.05,
                 test: float = 0.05, max_chars: int | None = None,
                 config: TrainConfig | dict | None = None):
        text = default_corpus() if path is None else Path(path).read_text(encoding="utf-8")
        text = text[:max_chars] if max_chars else text
        n_val, n_test = int(len(text) * val), int(len(text) * test)
        n_train = len(text) - n_val - n_test
        if min(n_val, n_test) < context + 1 or n_train < 2 * (context + 1):
            raise ValueError(f"a text of {len(text)} characters is too short for context "
                             f"{context} with val={val} and test={test}")
        self.chars = ["\0"] + sorted(set(text[:n_train]))  # id 0: unknown
        lookup = {c: i for i, c in enumerate(self.chars)}
        ids = torch.tensor([lookup.get(c, 0) for c in text])
        parts = {"train": ids[:n_train], "val": ids[n_train:n_train + n_val],
                 "test": ids[n_train + n_val:]}
        tensors = {"train": parts["train"],
                   **{k: self.windows(parts[k], context) for k in ("val", "test")}}
        super().__init__(tensors, config)
        self.context = context
        self.in_shape = TensorSpec((context,), kind="tokens", vocab=len(self.chars))
        self.n_out = len(self.chars)

    @staticmethod
    def windows(ids: torch.Tensor, context: int) -> torch.Tensor:
        """(W, context + 1) non-overlapping windows (inputs and next-character targets)."""
        n = (len(ids) - 1) // context
        starts = torch.arange(n) * context
        return ids[starts[:, None] + torch.arange(context + 1)]

    def steps_per_epoch(self, batch_size: int) -> int:
        return max(1, len(self.tensors["train"]) // (batch_size * self.context))

    def train_batch(self, data: Tensors, gen: torch.Generator, batch_size: int):
        text = data["train"]
        starts = torch.randint(len(text) - self.context, (batch_size,), generator=gen)
        w = text[starts.to(text.device)[:, None] +
                 torch.arange(self.context + 1, device=text.device)]  # (B, L+1)
        return {"x": w[:, :-1]}, w[:, 1:]

    def split(self, data: Tensors, name: str):
        w = data[name]
        return {"x": w[:, :-1]}, w[:, 1:]

    def loss(self, out: torch.Tensor, target: torch.Tensor,
             label_smoothing: float = 0.0) -> torch.Tensor:
        return F.cross_entropy(out.flatten(0, 1), target.flatten())

    def score(self, out: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        ce = F.cross_entropy(out.flatten(0, 1), target.flatten()).item()
        return {"ppl": math.exp(min(ce, 700.0)), "bpc": ce / math.log(2), "loss": ce}
