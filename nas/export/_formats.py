"""Optional export formats of the standalone module: torch.export, TorchScript and ONNX."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import warnings
from pathlib import Path

import torch
from torch import nn

from nas.export._errors import ExportError
from nas.ops import TensorSpec

FORMATS = ("python", "exported", "torchscript", "onnx")
FILES = {"exported": "model.pt2", "torchscript": "model.torchscript.pt", "onnx": "model.onnx"}
ONNX_HINT = "pip install 'nas-toolkit[onnx]'"


def check_formats(formats) -> tuple[str, ...]:
    """The requested formats, validated before anything is written."""
    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ExportError(f"unknown export format(s) {unknown}; choose from {list(FORMATS)}")
    if "onnx" in formats:
        missing = [m for m in ("onnx", "onnxscript") if importlib.util.find_spec(m) is None]
        if missing:
            raise ExportError(f"ONNX export needs the {' and '.join(missing)} package(s), "
                              f"which are not installed: {ONNX_HINT}")
    return formats


def _dynamic_shapes(specs: list[TensorSpec]):
    """A dynamic batch (or node) axis for each input, and a dynamic edge count."""
    batch, edges = torch.export.Dim("batch"), torch.export.Dim("edges")
    shapes = []
    for spec in specs:
        if spec.kind == "edge_index":
            shapes.append({1: edges})
        else:
            shapes.append({0: batch})
    return tuple(shapes)


@contextlib.contextmanager
def _quiet_torch_logs():
    """Hide the graph dumps torch logs and prints while an attempt fails (its error is kept)."""
    before = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logging.disable(before)


def write_exported(model: nn.Module, inputs: tuple, specs: list[TensorSpec],
                   path: Path) -> str:
    """torch.export to ``path`` (.pt2); returns "dynamic batch" or "static shapes"."""
    errors = []
    for dynamic in (True, False):
        try:
            with _quiet_torch_logs(), warnings.catch_warnings():
                # nn.RNN re-assigns its flat weights while traced; harmless, torch still warns
                warnings.filterwarnings("ignore", message=r"The tensor attributes .* were "
                                        r"assigned during export")
                program = torch.export.export(
                    model, inputs, dynamic_shapes=_dynamic_shapes(specs) if dynamic else None)
        except Exception as exc:  # torch.export raises many kinds; try static shapes next
            errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            continue
        torch.export.save(program, path)
        return "dynamic batch" if dynamic else "static shapes"
    raise ExportError(f"torch.export failed: {errors[-1]}")


def write_torchscript(model: nn.Module, inputs: tuple, path: Path) -> None:
    """torch.jit.trace to ``path`` (TorchScript is deprecated in torch; kept for old runtimes)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.\w+` is deprecated",
                                category=DeprecationWarning)
        try:
            traced = torch.jit.trace(model, inputs)
        except Exception as exc:
            raise ExportError(f"TorchScript tracing failed: {type(exc).__name__}: {exc}") \
                from None
        torch.jit.save(traced, str(path))


def write_onnx(model: nn.Module, inputs: tuple, specs: list[TensorSpec], input_names,
               output_names, path: Path) -> str:
    """torch.onnx.export to ``path``; returns "dynamic batch" or "static shapes"."""
    errors = []
    for dynamic in (True, False):
        try:
            with _quiet_torch_logs(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(model, inputs, str(path), input_names=list(input_names),
                                  output_names=list(output_names), dynamo=True, verbose=False,
                                  dynamic_shapes=_dynamic_shapes(specs) if dynamic else None)
        except ModuleNotFoundError as exc:
            raise ExportError(f"ONNX export needs {exc.name}: {ONNX_HINT}") from None
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            continue
        return "dynamic batch" if dynamic else "static shapes"
    raise ExportError(f"ONNX export failed: {errors[-1]}")
