"""Graph-edit spaces: architectures a few edits away from a seed model (``GraphSpace``),
and the start weights their candidates inherit (Lamarckian evolution)."""

from nas.graphspace._blocks import BLOCKS
from nas.graphspace._chain import edit_count
from nas.graphspace._edits import EDITS, MORPHISMS
from nas.graphspace._seed import FROM_DEFAULTS, seed_space
from nas.graphspace._shrink import SHRINKS, narrow
from nas.graphspace._space import DEFAULT_EDITS, GraphSpace
from nas.graphspace._start import keep_start_weights, load_start_weights, start_weights

__all__ = ["BLOCKS", "DEFAULT_EDITS", "EDITS", "FROM_DEFAULTS", "MORPHISMS", "SHRINKS",
           "GraphSpace", "edit_count", "keep_start_weights", "load_start_weights", "narrow",
           "seed_space", "start_weights"]
