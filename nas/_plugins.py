"""Loads the packages that register spaces, tasks and strategies (entry points).

``nas`` never imports ``search_spaces`` or ``evaluators`` by name; they announce
themselves under the ``nas_toolkit.plugins`` entry-point group (see pyproject.toml),
as third-party packages can too.
"""

from __future__ import annotations

import importlib
import warnings
from importlib.metadata import entry_points

_loaded = False


def load_plugins() -> None:
    """Import every registered plugin module once; a broken plugin warns, not crashes."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for ep in entry_points(group="nas_toolkit.plugins"):
        try:
            importlib.import_module(ep.value.split(":")[0])
        except Exception as exc:  # a third-party plugin must not break the toolkit
            warnings.warn(f"nas-toolkit plugin '{ep.name}' ({ep.value}) failed to load: "
                          f"{type(exc).__name__}: {exc}", stacklevel=2)
