"""torch.nn layers -> library primitives, with the weights they carry.

``map_module(m, shape)`` gives the primitive(s) computing what layer ``m`` computes on
an input of graph shape ``shape`` (batch excluded), or None when no primitive does
(then the layer stays an opaque node). A step is ``(op, params, load)``: ``load(target)``
copies ``m``'s weights into the module the op compiles to. Each mapper checks every
setting that the primitive does not have (ceil_mode, eps...) and declines on a misfit.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn
from torch.nn import functional as F

Load = Callable[[nn.Module], None] | None
Step = tuple[str, dict, Load]


def copy_from(m: nn.Module, rename: dict[str, str] | None = None, inner: str = "") -> Load:
    """A loader putting ``m``'s state (keys renamed) into ``target`` (or its ``inner``)."""
    def load(target: nn.Module) -> None:
        state = {(rename or {}).get(k, k): v for k, v in m.state_dict().items()}
        (target.get_submodule(inner) if inner else target).load_state_dict(state, strict=True)
    return load


def _uniform(value) -> int | None:
    """An int from an int or a tuple of equal ints; None otherwise."""
    if isinstance(value, int):
        return value
    if isinstance(value, tuple | list) and value and len(set(value)) == 1:
        return int(value[0])
    return None


def _conv(m: nn.Conv1d | nn.Conv2d, shape) -> list[Step] | None:
    rank = 2 if isinstance(m, nn.Conv1d) else 3
    k, s, d = _uniform(m.kernel_size), _uniform(m.stride), _uniform(m.dilation)
    pad = m.padding
    if pad == "same":
        pad = d * (k - 1) // 2 if d and k and (d * (k - 1)) % 2 == 0 else None
    pad = 0 if pad == "valid" else _uniform(pad)
    if len(shape) != rank or m.padding_mode != "zeros" or None in (k, s, d, pad):
        return None
    params = {"channels": m.out_channels, "kernel": k, "stride": s, "dilation": d,
              "groups": m.groups, "padding": pad, "bias": m.bias is not None}
    return [("conv1d" if rank == 2 else "conv2d", params, copy_from(m))]


def _batch_norm(m: nn.BatchNorm1d | nn.BatchNorm2d, shape) -> list[Step] | None:
    rank_ok = len(shape) == 3 if isinstance(m, nn.BatchNorm2d) else len(shape) in (1, 2)
    if not rank_ok or m.eps != 1e-5 or not m.track_running_stats or m.momentum is None:
        return None
    return [("batch_norm", {"momentum": m.momentum, "affine": m.affine}, copy_from(m))]


def _layer_norm(m: nn.LayerNorm, shape) -> list[Step] | None:
    if tuple(m.normalized_shape) != tuple(shape[-1:]) or not m.elementwise_affine \
            or m.bias is None:
        return None
    return [("layer_norm", {"eps": m.eps}, copy_from(m))]


def _pool(kind: str):
    def mapper(m, shape) -> list[Step] | None:
        rank = 3 if "2d" in type(m).__name__ else 2
        size, pad = _uniform(m.kernel_size), _uniform(m.padding)
        stride = _uniform(m.stride) if m.stride is not None else size
        ok = len(shape) == rank and None not in (size, pad, stride) and not m.ceil_mode
        if kind == "max_pool":
            ok = ok and _uniform(m.dilation) == 1 and not m.return_indices
        else:
            ok = ok and (pad == 0 or not m.count_include_pad) and m.divisor_override is None
        return [(kind, {"size": size, "stride": stride, "padding": pad}, None)] if ok else None
    return mapper


def _global(kind: str):
    def mapper(m, shape) -> list[Step] | None:
        if _uniform(m.output_size) != 1 or len(shape) not in (2, 3):
            return None
        if getattr(m, "return_indices", False):
            return None
        keep = [shape[0], *([1] * (len(shape) - 1))]  # torch keeps size-1 spatial axes
        return [(kind, {}, None), ("reshape", {"shape": keep}, None)]
    return mapper


def _linear(m: nn.Linear, shape) -> list[Step] | None:
    if not shape or shape[-1] != m.in_features:
        return None
    return [("linear", {"features": m.out_features, "bias": m.bias is not None}, copy_from(m))]


def _embedding(m: nn.Embedding, shape) -> list[Step] | None:
    if len(shape) != 1 or m.padding_idx is not None or m.max_norm is not None \
            or m.scale_grad_by_freq or m.sparse:
        return None
    return [("embedding", {"vocab": m.num_embeddings, "dim": m.embedding_dim}, copy_from(m))]


def _simple(op: str, params: Callable[[nn.Module], dict | None] = lambda m: {}):
    def mapper(m, shape) -> list[Step] | None:
        p = params(m)
        return None if p is None else [(op, p, None)]
    return mapper


_MAPPERS: dict[type, Callable] = {
    nn.Linear: _linear,
    nn.Conv1d: _conv, nn.Conv2d: _conv,
    nn.BatchNorm1d: _batch_norm, nn.BatchNorm2d: _batch_norm,
    nn.LayerNorm: _layer_norm,
    nn.MaxPool1d: _pool("max_pool"), nn.MaxPool2d: _pool("max_pool"),
    nn.AvgPool1d: _pool("avg_pool"), nn.AvgPool2d: _pool("avg_pool"),
    nn.AdaptiveAvgPool1d: _global("global_avg_pool"),
    nn.AdaptiveAvgPool2d: _global("global_avg_pool"),
    nn.AdaptiveMaxPool1d: _global("global_max_pool"),
    nn.AdaptiveMaxPool2d: _global("global_max_pool"),
    nn.Embedding: _embedding,
    nn.ReLU: _simple("relu"), nn.SiLU: _simple("silu"), nn.Tanh: _simple("tanh"),
    nn.Sigmoid: _simple("sigmoid"), nn.Identity: _simple("identity"),
    nn.GELU: _simple("gelu", lambda m: {} if m.approximate == "none" else None),
    nn.ELU: _simple("elu", lambda m: {} if m.alpha == 1.0 else None),
    nn.LeakyReLU: _simple("leaky_relu", lambda m: {"slope": m.negative_slope}),
    nn.Dropout: _simple("dropout", lambda m: {"p": m.p}),
    nn.Flatten: _simple("flatten", lambda m: {} if (m.start_dim, m.end_dim) == (1, -1)
                        else None),
}


def map_module(m: nn.Module, shape) -> list[Step] | None:
    """The primitive steps computing layer ``m`` on graph shape ``shape``, or None."""
    mapper = _MAPPERS.get(type(m))
    return mapper(m, tuple(shape)) if mapper else None


# --------------------------------------------------------------------- attention blocks


def _mha_ok(m: nn.MultiheadAttention) -> bool:
    return (m.batch_first and m._qkv_same_embed_dim and m.in_proj_bias is not None
            and m.bias_k is None and not m.add_zero_attn)


_MHA_NAMES = {"in_proj_weight": "in_proj.weight", "in_proj_bias": "in_proj.bias"}


def map_attention(m: nn.MultiheadAttention) -> Step | None:
    """Self-attention (query, key and value the same tensor, no mask) as ``self_attention``."""
    if not _mha_ok(m):
        return None
    return ("self_attention", {"heads": m.num_heads, "dropout": m.dropout, "bias": True},
            copy_from(m, _MHA_NAMES))


def map_encoder_layer(m: nn.TransformerEncoderLayer) -> Step | None:
    """``nn.TransformerEncoderLayer`` (batch first, no mask) as ``transformer_encoder``."""
    act = {F.relu: "relu", F.gelu: "gelu"}.get(m.activation) if callable(m.activation) \
        and not isinstance(m.activation, nn.Module) else None
    if isinstance(m.activation, nn.ReLU | nn.GELU):
        act = "relu" if isinstance(m.activation, nn.ReLU) else "gelu"
    dim, hidden = m.linear1.in_features, m.linear1.out_features
    p = m.dropout.p
    ok = (act and _mha_ok(m.self_attn) and m.self_attn.batch_first
          and m.norm1.eps == m.norm2.eps == 1e-5 and m.linear1.bias is not None
          and m.dropout1.p == m.dropout2.p == p == m.self_attn.dropout
          and int(hidden / dim * dim) == hidden)
    if not ok:
        return None
    rename = {f"self_attn.{k}": f"attn.{v}" for k, v in _MHA_NAMES.items()}
    rename.update({"self_attn.out_proj.weight": "attn.out_proj.weight",
                   "self_attn.out_proj.bias": "attn.out_proj.bias"})
    params = {"heads": m.self_attn.num_heads, "ff_ratio": hidden / dim, "dropout": p,
              "norm_first": m.norm_first, "activation": act}
    return ("transformer_encoder", params, copy_from(m, rename))


RECURRENT = {nn.LSTM: "lstm", nn.GRU: "gru", nn.RNN: "rnn"}


def map_recurrent(m: nn.RNNBase) -> Step | None:
    """A batch-first RNN/LSTM/GRU as the op of its kind, output "sequence"."""
    kind = RECURRENT.get(type(m))
    ok = kind and m.batch_first and m.bias and not getattr(m, "proj_size", 0) \
        and getattr(m, "nonlinearity", "tanh") == "tanh"
    if not ok:
        return None
    params = {"hidden": m.hidden_size, "layers": m.num_layers,
              "bidirectional": m.bidirectional, "output": "sequence", "dropout": m.dropout}
    return (kind, params, copy_from(m, inner="rnn"))
