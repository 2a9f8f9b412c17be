"""Built-in search spaces, one file per architecture family (registered on import).

Importing this package registers them with ``nas.register_space``; ``nas`` finds it
through the ``nas_toolkit.plugins`` entry point.
"""

from search_spaces import (  # noqa: F401
    autoencoder,
    cnn,
    gan,
    gnn,
    mlp,
    mobilenet,
    nb201,
    nb201_darts,
    resnet,
    rnn,
    sequence,
    transformer,
    vae,
)
from search_spaces.nb201 import from_arch_string, to_arch_string

__all__ = ["from_arch_string", "to_arch_string"]
