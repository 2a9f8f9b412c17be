"""Differentiable architecture search (DARTS family), pure torch: mixed networks whose
categorical op choices are softmax-weighted sums, architecture parameters, the guards
against collapse, and the discretization into an ordinary ``ArchGraph``::

    ds = mixed_space(space)                 # DartsSpace: net, choices, fixed
    arch = Architecture(ds.choices, guard="darts-")
    ds.net.set_mixing(arch.weights(), beta)  # then ds.net(x)
    graph, decisions = ds.resolve(arch.answers())

Training it (first-order alternating updates on the train and validation splits) is a
task's job: ``evaluators.darts``.
"""

from nas.darts._arch import (
    DEFAULT_GUARD,
    GUARDS,
    Architecture,
    darts_minus_beta,
    dirichlet_concentration,
    gdas_tau,
)
from nas.darts._flow import (
    TRAJECTORY_FILE,
    DartsError,
    check_darts_task,
    load_trajectory,
    run_differentiable,
)
from nas.darts._mixers import (
    DartsSpace,
    UnsupportedSpace,
    aligned_mixer,
    mixed_space,
    register_mixer,
)
from nas.darts._program import Mix, MixedNet, Recorder
from nas.darts._progress import DartsProgress, darts_progress
from nas.darts._select import DEFAULT_SELECT, SELECTS, perturbation_answers
from nas.darts._settings import Differentiable, differentiable_of
from nas.darts._steps import arch_step, parameter_free

__all__ = ["DEFAULT_GUARD", "DEFAULT_SELECT", "GUARDS", "SELECTS", "TRAJECTORY_FILE",
           "Architecture", "DartsError",
           "DartsProgress", "DartsSpace", "Differentiable", "Mix", "MixedNet", "Recorder",
           "UnsupportedSpace", "aligned_mixer", "arch_step", "check_darts_task",
           "darts_minus_beta", "darts_progress", "differentiable_of",
           "dirichlet_concentration", "gdas_tau", "load_trajectory", "mixed_space",
           "parameter_free", "perturbation_answers", "register_mixer",
           "run_differentiable"]
