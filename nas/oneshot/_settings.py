"""OneShot: the settings of a one-shot search, typed and checked once.

A one-shot search trains one weight-sharing supernet (phase 1), lets the search's
strategy score ``candidates`` architectures with the inherited weights (phase 2), and
trains the best ``trials`` of them stand-alone as ordinary trials (phase 3). The
settings travel inside ``SearchConfig.one_shot`` and are stored with the study, so
``nas resume`` and ``nas status`` know them.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

from nas.budget import Budget
from nas.settings import ConfigError, mode_of
from nas.supernet import (
    NORM_SHARING,  # shared, per_width
    SAMPLINGS,  # uniform (SPOS), fair (FairNAS), sandwich
)
from nas.supernet import SHARING_RULES as RULES  # how candidates share weights

RETRAIN = 3  # trials (top candidates retrained stand-alone) when none is given


@dataclass(frozen=True)
class OneShot:
    """How the supernet is built and trained, and how many candidates it scores.

    The number retrained stand-alone is the search's ``trials`` (default ``RETRAIN``
    with one-shot on). Constructing one checks every value (``ConfigError`` naming
    ``one_shot.<field>``).
    """

    budget: str = "4000steps"  # supernet training: candidate passes (or 2epochs, 60s)
    candidates: int = 50  # architectures the strategy scores with inherited weights
    rule: str = "slice"  # weight sharing: slice (largest tensor, sliced) or identity
    sampling: str = "uniform"  # paths per step: uniform (SPOS, one: an update a pass), fair
    # (FairNAS: a set covering every option, one update), sandwich
    calib_batches: int = 20  # training batches that recalibrate batch-norm before a score
    finetune: int = 0  # training steps of each inherited copy before its score (0: none)
    norms: str = "shared"  # a norm's affine weights: shared as the rule says, or per_width
    rescale: bool = False  # a sliced weight times sqrt(fan-in ratio): its own init's scale
    probe: int = 200  # sampled candidates the supernet's weight store is built from
    max_mb: float | None = None  # largest store allowed; None: a share of free memory
    distinct: float = 0.25  # each retrained candidate differs from the others in >= this
    # share of its decisions (0: the plain top; near-copies of one architecture otherwise)
    lr: float | None = None  # the supernet's peak learning rate; None: the task's
    # train_supernet default (the built-in tasks: 0.3 x their own, SUPERNET_LR_SCALE)

    def __post_init__(self) -> None:
        _budget(self.budget)
        for name, least in (("candidates", 1), ("calib_batches", 0), ("finetune", 0),
                            ("probe", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or \
                    value < least:
                raise ConfigError("one_shot", f"one_shot.{name} must be a whole number >= "
                                              f"{least}, got {value!r}")
            object.__setattr__(self, name, int(value))
        for name, known in (("rule", RULES), ("sampling", SAMPLINGS), ("norms", NORM_SHARING)):
            if getattr(self, name) not in known:
                raise ConfigError("one_shot", f"one_shot.{name} must be one of "
                                              f"{', '.join(known)}, got {getattr(self, name)!r}")
        if not isinstance(self.rescale, bool):
            raise ConfigError("one_shot", f"one_shot.rescale must be true or false, got "
                                          f"{self.rescale!r}")
        d = self.distinct
        if isinstance(d, bool) or not isinstance(d, int | float) or not 0 <= d < 1:
            raise ConfigError("one_shot", f"one_shot.distinct must be a share of the "
                                          f"decisions, >= 0 and < 1, got {d!r}")
        object.__setattr__(self, "distinct", float(d))
        lr = self.lr
        if lr is not None and (isinstance(lr, bool) or not isinstance(lr, int | float)
                               or not 0 < lr < math.inf):
            raise ConfigError("one_shot", f"one_shot.lr must be a positive learning rate "
                                          f"(or None: the task's), got {lr!r}")
        mb = self.max_mb
        if mb is not None and (isinstance(mb, bool) or not isinstance(mb, int | float)
                               or not mb > 0):
            raise ConfigError("one_shot", f"one_shot.max_mb must be a positive number of "
                                          f"megabytes (or None), got {mb!r}")

    def __str__(self) -> str:
        tune = f", each fine-tuned {self.finetune} steps" if self.finetune else ""
        return (f"supernet {self.budget} ({self.rule}, {self.sampling}), "
                f"{self.candidates} candidates scored{tune}")

    @classmethod
    def from_dict(cls, d: Mapping) -> OneShot:
        """Settings from their stored form; an unknown key is a ConfigError naming it."""
        return mode_of(cls, "one_shot", dict(d), "budget, candidates")

    def to_dict(self) -> dict:
        """The JSON form stored with the study."""
        return dataclasses.asdict(self)


def one_shot_of(value) -> OneShot | None:
    """``None``/``False`` (off), ``True`` (the defaults), a mapping or a ``OneShot``, as
    a checked ``OneShot`` or None; anything else is a ConfigError."""
    return mode_of(OneShot, "one_shot", value, "budget, candidates")


def _budget(value) -> None:
    if isinstance(value, bool) or not isinstance(value, str):
        raise ConfigError("one_shot", f"one_shot.budget must be a budget such as 1000steps, "
                                      f"2epochs or 60s, got {value!r}")
    try:
        Budget.parse(value)
    except ValueError as exc:
        raise ConfigError("one_shot", f"one_shot.budget: {exc}") from None


__all__ = ["RETRAIN", "RULES", "SAMPLINGS", "OneShot", "one_shot_of"]
