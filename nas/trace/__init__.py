"""Mutable graphs from PyTorch models: ``from_module`` traces an ``nn.Module`` with
torch.fx into an ArchGraph of library primitives (the rest kept as "opaque" nodes) and
the model's weights."""

from nas.trace._fx import TraceError
from nas.trace._opaque import OPAQUE
from nas.trace._trace import Traced, from_module

__all__ = ["OPAQUE", "TraceError", "Traced", "from_module"]
