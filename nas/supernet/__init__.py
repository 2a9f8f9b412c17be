"""Weight sharing for one-shot search: a supernet holding one store of weights for every
candidate of a space (pure torch; training and scoring it is a task's job, in
``evaluators.oneshot``, reached through the task's methods)::

    supernet = SuperNet(space, rule="slice", probe=200, seed=0)   # SupernetTooLarge?
    task.train_supernet(supernet, "4000steps", sampling="uniform")  # a Result
    result = task.score_inherited(supernet, graph)  # the task's Result, untrained
    result.metrics["coverage"]                      # share of weights the store held

``SuperNet.module_for(graph)`` is a candidate on the store (training it trains the
store), ``extract(graph)`` a standalone copy with the inherited weights (exportable),
``coverage(graph)`` the share of its weights the store holds, ``paths(sampling, seed)``
the candidates of each training step (``SAMPLINGS``), ``ids(graph)`` the identity
each node shares weights by (``node_ids``, ``NODE_IDS``), ``part(select)`` a subgraph
(a GAN's generator) with only its own weights. ``FewShot(space, split)``: one
supernet per option of a decision (few-shot NAS), each over a ``PinnedSpace``. A task
without ``train_supernet`` / ``score_inherited`` (a proxy, a table) cannot be searched
one-shot.
"""

from nas.supernet._candidate import SharedCandidate
from nas.supernet._fewshot import FewShot, PinnedSpace
from nas.supernet._identity import NODE_IDS, node_ids
from nas.supernet._paths import FAIR_MAX_OPTIONS, SAMPLINGS, fair_assignments
from nas.supernet._store import NORM_SHARING, SHARING_RULES, slice_index
from nas.supernet._supernet import SuperNet, SupernetPart, SupernetTooLarge, free_memory_mb

__all__ = [
    "FAIR_MAX_OPTIONS",
    "FewShot",
    "NODE_IDS",
    "NORM_SHARING",
    "PinnedSpace",
    "SAMPLINGS",
    "SHARING_RULES",
    "SharedCandidate",
    "SuperNet",
    "SupernetPart",
    "SupernetTooLarge",
    "fair_assignments",
    "node_ids",
    "free_memory_mb",
    "slice_index",
]
