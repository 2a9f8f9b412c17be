"""The "opaque" op: a piece of a traced model that is not a library primitive.

``nas.from_module`` keeps what it cannot express with primitives (a torch layer we have
no op for, a user's leaf module, a function such as ``torch.bincount``) as one node
whose module is a template held in this process, found by ``key``: a sha256 of the
piece's structure (code, classes, parameter names and shapes; not weight values), so
two traces of the same model give the same key and fingerprint on any machine.

The params are plain JSON, so the graph serializes; compiling it needs the template,
which lives only in the process that traced the model (elsewhere compile says so).
Export writes an opaque node only when it is a single built-in ``torch.nn`` layer whose
``repr`` rebuilds it; anything else is refused with an ``ExportError`` naming it.
"""

from __future__ import annotations

import copy
import hashlib
import json

from torch import fx, nn

from nas.export._codegen import Code, Construct, register_codegen
from nas.export._errors import ExportError
from nas.ops import REQUIRED, OpSpec, TensorSpec, register_op

OPAQUE = "opaque"
_TEMPLATES: dict[str, nn.Module] = {}  # key -> module (deep-copied by each compile)


def _plain_attrs(module: nn.Module) -> dict:
    """The module's own JSON-plain attributes (a scale, a flag), which repr may not show."""
    out = {}
    for name, value in sorted(vars(module).items()):
        if name.startswith("_") or name == "training":
            continue
        try:
            out[name] = json.loads(json.dumps(value))
        except (TypeError, ValueError):
            out[name] = type(value).__qualname__
    return out


def structure_key(template: nn.Module) -> str:
    """A stable hash of what ``template`` computes, weight values aside."""
    rows = [template.code if isinstance(template, fx.GraphModule) else repr(template)]
    for name, m in template.named_modules():
        rows.append([name, f"{type(m).__module__}.{type(m).__qualname__}", m.extra_repr(),
                     _plain_attrs(m) if not isinstance(m, fx.GraphModule) else {}])
    rows += [[n, list(t.shape), str(t.dtype)] for n, t in template.state_dict().items()]
    blob = json.dumps(rows, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def keep_template(template: nn.Module) -> str:
    """Store ``template`` (a copy) for compile; returns its key."""
    key = structure_key(template)
    _TEMPLATES.setdefault(key, copy.deepcopy(template))
    return key


def _fits(traced, given) -> bool:
    return len(traced) == len(given) and all(
        a is None or b is None or a == b for a, b in zip(traced, given))


def _shape(p, s):
    if len(s) != len(p["in_shapes"]) or not all(
            _fits(tuple(t), tuple(g)) for t, g in zip(p["in_shapes"], s)):
        raise ValueError(f"the opaque piece '{p['what']}' was traced with input shape(s) "
                         f"{[tuple(t) for t in p['in_shapes']]} and keeps them")
    return tuple(p["out_shape"])


def _make(p, s):
    template = _TEMPLATES.get(p["key"])
    if template is None:
        raise ValueError(f"the opaque piece '{p['what']}' (key {p['key']}) is not loaded in "
                         "this process: it exists only where nas.from_module traced the "
                         "model; trace the model again in this process")
    return copy.deepcopy(template)


# a layer torch has and we have no op for: the op contract's example
_EXAMPLE_KEY = keep_template(nn.Softplus(beta=2.0))

register_op(OpSpec(
    OPAQUE, (1, None),
    {"key": REQUIRED, "what": "", "in_shapes": REQUIRED, "out_shape": REQUIRED},
    _shape, _make,
    doc="A piece of a model traced by nas.from_module that no primitive expresses, kept "
        "as is (a module held in the tracing process, found by key); its shapes are fixed.",
    examples=(({"key": _EXAMPLE_KEY, "what": "Softplus", "in_shapes": [[6]], "out_shape": [6]},
               [TensorSpec((6,))]),),
))


@register_codegen(OPAQUE)
def _opaque_source(p, s) -> Construct:
    """``nn.<Layer>(<its extra_repr>)`` when that rebuilds the layer exactly."""
    template = _TEMPLATES.get(p["key"])
    refuse = ExportError(f"the opaque piece '{p['what']}' of a traced model cannot be written "
                         "as standalone PyTorch; export needs a graph of library primitives "
                         "(or a built-in torch.nn layer)")
    if template is None or not type(template).__module__.startswith("torch.nn.modules"):
        raise refuse
    name = type(template).__name__
    expr = f"nn.{name}({template.extra_repr()})"
    try:
        rebuilt = eval(expr, {"nn": nn})  # noqa: S307 - text made from a torch layer's repr
    except Exception:  # noqa: BLE001 - any failure means the repr is not a constructor
        raise refuse from None
    same = repr(rebuilt) == repr(template) and {
        k: v.shape for k, v in rebuilt.state_dict().items()} == {
        k: v.shape for k, v in template.state_dict().items()}
    if not same:
        raise refuse
    return Construct(Code(expr))

