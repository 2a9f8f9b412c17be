"""Loads the packages that register spaces, tasks and strategies (entry points).

``nas`` never imports ``search_spaces`` or ``evaluators`` by name; they announce
themselves under the ``nas_toolkit.plugins`` entry-point group (see pyproject.toml),
as third-party packages can too. ``NAS_PLUGINS=mod_a,mod_b`` imports more modules
(e.g. your own spaces and tasks) in every process, workers included.
"""

from __future__ import annotations

import importlib
import os
import warnings
from importlib.metadata import entry_points

_loaded = False


def load_plugins() -> None:
    """Import every registered plugin module once; a broken plugin warns, not crashes."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    modules = [(ep.name, ep.value.split(":")[0])
               for ep in entry_points(group="nas_toolkit.plugins")]
    modules += [(m, m) for m in os.environ.get("NAS_PLUGINS", "").split(",") if m.strip()]
    for name, module in modules:
        try:
            importlib.import_module(module.strip())
        except Exception as exc:  # a third-party plugin must not break the toolkit
            warnings.warn(f"nas-toolkit plugin '{name}' ({module}) failed to load: "
                          f"{type(exc).__name__}: {exc}", stacklevel=2)
