"""Weight sharing for one-shot search: a supernet holding one store of weights for every
candidate of a space (pure torch; training and scoring it is a task's job, in
``evaluators.oneshot``)."""

from nas.supernet._candidate import SharedCandidate
from nas.supernet._paths import FAIR_MAX_OPTIONS, SAMPLINGS, fair_assignments
from nas.supernet._store import SHARING_RULES, slice_index
from nas.supernet._supernet import SuperNet, SupernetPart, SupernetTooLarge, free_memory_mb

__all__ = [
    "FAIR_MAX_OPTIONS",
    "SAMPLINGS",
    "SHARING_RULES",
    "SharedCandidate",
    "SuperNet",
    "SupernetPart",
    "SupernetTooLarge",
    "fair_assignments",
    "free_memory_mb",
    "slice_index",
]
