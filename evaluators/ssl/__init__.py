"""Self-supervised tasks: ``simclr:<dataset>`` and ``byol:<dataset>``.

An encoder from any space is pre-trained without labels (SimCLR or BYOL, on two
augmented views from ``evaluators.augment``), frozen, and scored by a linear probe
fit on a small labeled subset.
"""

from evaluators.ssl.losses import byol_loss, nt_xent
from evaluators.ssl.methods import BYOL, SimCLR, encode, mlp_head
from evaluators.ssl.pretrain import PretrainHooks, pretrain, probe
from evaluators.ssl.probe import RidgeProbe, features
from evaluators.ssl.tasks import SSL_CONFIG, BYOLTask, SimCLRTask, SSLTask

__all__ = [
    "BYOL",
    "BYOLTask",
    "PretrainHooks",
    "RidgeProbe",
    "SSL_CONFIG",
    "SSLTask",
    "SimCLR",
    "SimCLRTask",
    "byol_loss",
    "encode",
    "features",
    "mlp_head",
    "nt_xent",
    "pretrain",
    "probe",
]
