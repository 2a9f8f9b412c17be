"""Export an architecture as standalone PyTorch, and load it back.

``to_source(graph)`` writes the module's Python source (it imports torch only);
``export(graph, out_dir, ...)`` writes a folder: model.py, weights.pt, architecture.json,
metrics.json, a README.md model card, and optionally a torch.export program, TorchScript
or ONNX; ``load(path)`` returns the module with its weights. An op of your own needs a
codegen rule to be exported: ``@register_codegen("my_op")``.
"""

from nas.export._codegen import Construct, get_codegen, has_codegen, register_codegen
from nas.export._errors import ExportError, WeightsError
from nas.export._export import export
from nas.export._formats import FORMATS
from nas.export._load import load
from nas.export._source import to_source
from nas.export._weights import read_weights

__all__ = ["FORMATS", "Construct", "ExportError", "WeightsError", "export", "get_codegen",
           "has_codegen", "load", "read_weights", "register_codegen", "to_source"]
