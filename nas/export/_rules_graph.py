"""Codegen rules for message passing (nas/ops/_message_passing.py) and the VAE sample
(nas/ops/_generative.py)."""

from __future__ import annotations

from nas.export._codegen import construct, register_codegen
from nas.ops import _generative
from nas.ops import _message_passing as ops


@register_codegen("gcn")
def _gcn(p, s):
    return construct(ops.GCNConv, s[0][0], p["features"], bias=p["bias"],
                     self_loops=p["self_loops"])


@register_codegen("gin")
def _gin(p, s):
    return construct(ops.GINConv, s[0][0], p["features"], eps=p["eps"],
                     train_eps=p["train_eps"], aggr=p["aggr"])


@register_codegen("gat")
def _gat(p, s):
    return construct(ops.GATConv, s[0][0], p["features"], heads=p["heads"], concat=p["concat"],
                     negative_slope=p["negative_slope"], self_loops=p["self_loops"])


@register_codegen("message_passing")
def _sage(p, s):
    return construct(ops.SAGEConv, s[0][0], p["features"], aggr=p["aggr"])


@register_codegen("readout")
def _readout(p, s):
    return construct(ops.Readout, p["mode"])


@register_codegen("reparameterize")
def _reparameterize(p, s):
    return construct(_generative.Reparameterize)
