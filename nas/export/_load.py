"""``load``: an export folder (or an architecture.json) back to an ``nn.Module``."""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import sys
import types
import warnings
from pathlib import Path

from torch import nn

from nas.compile import compile_graph
from nas.export._errors import ExportError
from nas.export._weights import SAFETENSORS, WEIGHTS, apply_weights, read_weights
from nas.graph import ArchGraph

MODEL = "model.py"
ARCHITECTURE = "architecture.json"
METRICS = "metrics.json"
_count = itertools.count()


def import_model_file(path: str | Path) -> types.ModuleType:
    """Import ``path`` (a model.py) as a fresh module under a unique name."""
    path = Path(path).resolve()
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    name = f"nas_exported_model_{digest}_{next(_count)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ExportError(f"cannot import '{path}'")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # torch.export and inspect look classes up by module
    try:
        spec.loader.exec_module(module)
    except Exception:
        del sys.modules[name]
        raise
    return module


def load(path: str | Path) -> nn.Module:
    """The module saved in an export folder, with its weights (in training mode, as torch
    builds modules; call ``.eval()`` for inference).

    ``path`` is a folder written by ``nas.export`` (its model.py is imported and built,
    then weights.pt is loaded with ``weights_only=True`` and ``strict=True``), or an
    ``architecture.json``, which gives the compiled, freshly initialized module.
    A folder whose metrics.json says ``"trained": false`` (exported without trained
    weights) loads with a ``UserWarning``. model.py is Python code that runs on import:
    load only folders you trust.
    """
    path = Path(path)
    if path.is_file() and path.suffix == ".json":
        try:
            graph = ArchGraph.from_json(path.read_text())
        except ValueError as exc:
            raise ExportError(f"'{path}' is not an architecture file: {exc}") from None
        return compile_graph(graph)
    if not path.is_dir():
        raise FileNotFoundError(f"'{path}' is neither an export folder nor an architecture "
                                f"JSON file")
    if not (path / MODEL).is_file():
        raise ExportError(f"'{path}' is not an export folder: it has no {MODEL}")
    model = import_model_file(path / MODEL).build()
    weights = path / WEIGHTS
    if not weights.exists() and (path / SAFETENSORS).exists():
        weights = path / SAFETENSORS
    apply_weights(model, read_weights(weights), f"weights file '{weights}'")
    if not _trained(path):
        warnings.warn(f"'{path}' holds untrained weights (a fresh initialization: the search "
                      f"kept no weights for it); train it with: nas train {path}",
                      UserWarning, stacklevel=2)
    return model


def _trained(folder: Path) -> bool:
    """False when the folder's metrics.json says its weights are untrained."""
    try:
        record = json.loads((folder / METRICS).read_text())
    except (OSError, ValueError):
        return True  # no record (or an older export): nothing says otherwise
    return not (isinstance(record, dict) and record.get("trained") is False)
