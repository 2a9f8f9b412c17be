"""The primitive library: a registry from op name to ``OpSpec``.

Importing this package registers every built-in primitive. ``list_ops()`` names them,
``get_op(name)`` returns the spec, ``register_op(spec)`` adds one of your own.
"""

from nas.ops import _basic, _conv, _generative, _message_passing, _sequence  # noqa: F401
from nas.ops._registry import (
    KINDS,
    REQUIRED,
    OpSpec,
    Shape,
    TensorSpec,
    get_op,
    list_ops,
    register_op,
)

__all__ = ["KINDS", "REQUIRED", "OpSpec", "Shape", "TensorSpec", "get_op", "list_ops",
           "register_op"]
