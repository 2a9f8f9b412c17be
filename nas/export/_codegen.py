"""The codegen registry: op name -> rule writing the constructor of the op's module.

A rule is ``rule(params, input_shapes) -> Construct``: the Python expression that builds
the same ``nn.Module`` as the op's ``make`` (same class, same submodule names, so a
state dict moves between them), and the custom classes the expression names. Built-in
torch layers are written as ``nn.Linear(...)``; our own classes by their bare name, and
``to_source`` copies their source into ``model.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from nas._registry import Registry
from nas.export._errors import ExportError
from nas.ops import Shape


class Code(str):
    """Python source text: ``call`` writes it as is, where other values are ``repr``-ed."""


@dataclass(frozen=True)
class Construct:
    """The constructor expression of one node's module and the custom classes it names."""

    expr: str
    classes: tuple[type, ...] = ()


Rule = Callable[[dict, list[Shape]], Construct]


def _no_rule(message: str, where: str = "") -> ExportError:
    return ExportError(message)


_RULES: Registry[Rule] = Registry(
    "codegen rule", error=_no_rule, duplicate="op '{name}' already has a codegen rule",
    unknown="op '{name}'{where} has no codegen rule, so it cannot be written as standalone "
            "PyTorch; register one with @nas.export.register_codegen('{name}')")


def register_codegen(op: str) -> Callable[[Rule], Rule]:
    """Decorator registering the codegen rule of ``op``; a second rule for it raises."""
    return _RULES.register(op)


def get_codegen(op: str, node: str | None = None) -> Rule:
    """The codegen rule of ``op``; ``ExportError`` (naming ``node``) when it has none."""
    return _RULES.get(op, where=f" (node '{node}')" if node else "")


def has_codegen(op: str) -> bool:
    """Whether ``op`` has a codegen rule."""
    return op in _RULES


def fmt(value) -> str:
    """Python source for a constructor argument (``Code`` stays as written)."""
    if isinstance(value, Code):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(fmt(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(fmt(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, str) and '"' not in value and "\\" not in value and value.isprintable():
        return f'"{value}"'
    return repr(value)


def call(fn: str, *args, **kwargs) -> Code:
    """``fn(arg, ..., key=value, ...)`` as source text."""
    parts = [fmt(a) for a in args] + [f"{k}={fmt(v)}" for k, v in kwargs.items()]
    return Code(f"{fn}({', '.join(parts)})")


def construct(cls: type, *args, **kwargs) -> Construct:
    """A call of our own class ``cls`` (its source goes into model.py)."""
    return Construct(call(cls.__name__, *args, **kwargs), (cls,))


def layer(name: str, *args, **kwargs) -> Construct:
    """A call of the torch layer ``nn.<name>``."""
    return Construct(call(f"nn.{name}", *args, **kwargs))


def _one(value):
    """A conv size tuple written as an int when every axis agrees."""
    if isinstance(value, tuple) and len(set(value)) == 1:
        return value[0]
    return value


def torch_expr(module: nn.Module) -> Code:
    """Source rebuilding a built-in torch ``module`` (the layers the ops' helpers create)."""
    if isinstance(module, nn.Identity):
        return call("nn.Identity")
    if isinstance(module, nn.Linear):
        return call("nn.Linear", module.in_features, module.out_features,
                    bias=module.bias is not None)
    if isinstance(module, nn.Conv1d | nn.Conv2d) and not module.transposed:
        extra = {}
        if _one(module.dilation) != 1:
            extra["dilation"] = _one(module.dilation)
        if module.groups != 1:
            extra["groups"] = module.groups
        return call(f"nn.{type(module).__name__}", module.in_channels, module.out_channels,
                    _one(module.kernel_size), stride=_one(module.stride),
                    padding=_one(module.padding), **extra, bias=module.bias is not None)
    if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
        extra = {} if module.eps == 1e-5 else {"eps": module.eps}
        return call(f"nn.{type(module).__name__}", module.num_features, **extra,
                    momentum=module.momentum, affine=module.affine)
    if type(module) is nn.Sequential:
        return call("nn.Sequential", *[torch_expr(m) for m in module])
    raise ExportError(f"no source form for a {type(module).__name__} module; write the "
                      "op's codegen rule without torch_expr")
