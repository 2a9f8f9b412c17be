"""``export``: write an architecture and its weights as a standalone PyTorch folder."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from nas.compile import GraphModule, compile_graph
from nas.export._card import model_card
from nas.export._errors import ExportError
from nas.export._formats import (
    FILES,
    check_formats,
    write_exported,
    write_onnx,
    write_torchscript,
)
from nas.export._load import ARCHITECTURE, METRICS, MODEL, import_model_file
from nas.export._shapes import input_text, lead_axis, lead_of, shape_text
from nas.export._source import to_source
from nas.export._weights import apply_weights, plain_state_dict, read_weights, save_weights
from nas.graph import ArchGraph
from nas.profile import count_flops, count_params
from nas.profile import example_inputs as make_inputs

if TYPE_CHECKING:
    from nas.study import Study


def export(graph: ArchGraph | GraphModule | Study, out_dir: str | Path,
           state_dict: dict[str, torch.Tensor] | None = None, metrics: dict | None = None,
           task=None, formats=("python",), example_inputs: tuple | None = None, *,
           seed: int = 0, class_name: str = "Model") -> Path:
    """Write ``graph`` with its weights to ``out_dir`` as standalone PyTorch; return the path.

    ``graph`` may be a ``Study``: its best trial is written with the trained weights the
    search kept (``keep_weights``; ValueError when it kept none), its metrics and task.

    The folder holds ``model.py`` (readable source importing only torch), ``weights.pt``
    (a plain state dict for ``torch.load(..., weights_only=True)``; also
    ``weights.safetensors`` when safetensors is installed), ``architecture.json``,
    ``metrics.json`` and a ``README.md`` model card. ``formats`` may add "exported"
    (torch.export program, model.pt2), "torchscript" and "onnx".

    Without ``state_dict`` (and given a graph, not a module) the fresh initialization
    seeded with ``seed`` is exported: the card says the weights are untrained, and
    metrics.json holds ``"trained": false`` with ``metrics`` under ``search_metrics``
    (they were measured on weights that are not these: the search's); ``load`` warns.
    ``example_inputs`` (default: random inputs of batch 2) check that model.py computes
    what the compiled module computes, and trace the optional formats.
    """
    from nas.study import Study

    if isinstance(graph, Study):  # its best trial, with the weights the search kept
        from nas._trained import export_args

        graph, state_dict, metrics, task = export_args(graph, state_dict, metrics, task)
    if isinstance(graph, GraphModule):
        if state_dict is None:
            state_dict = graph.state_dict()
        graph = graph.graph
    formats = check_formats(formats)
    with torch.random.fork_rng(devices=[]):  # seeded, leaving the caller's RNG alone
        torch.manual_seed(seed)
        return _export(graph, Path(out_dir), state_dict, metrics, task, formats,
                       example_inputs, seed, class_name)


def _export(graph: ArchGraph, out: Path, state_dict, metrics, task, formats, example_inputs,
            seed: int, class_name: str) -> Path:
    compiled = compile_graph(graph)
    trained = state_dict is not None
    if trained:
        apply_weights(compiled, dict(state_dict), "the state_dict given to export()")
    weights = plain_state_dict(compiled)
    compiled.eval()
    inputs = (tuple(t.detach().cpu() for t in example_inputs) if example_inputs is not None
              else make_inputs(graph, batch=2))

    source = to_source(graph, class_name)  # fails on an op without codegen, before writing
    out.mkdir(parents=True, exist_ok=True)
    (out / MODEL).write_text(source)
    files = {MODEL: f"the network as readable PyTorch source (`{class_name}`, `build()`)"}
    for name in save_weights(weights, out):
        files[name] = "the weights: a plain state dict"
    (out / ARCHITECTURE).write_text(graph.to_json(indent=2))
    files[ARCHITECTURE] = "the architecture graph (`nas.ArchGraph.from_json`)"
    metrics = dict(metrics or {})
    (out / METRICS).write_text(json.dumps(metrics_record(metrics, trained), indent=2,
                                          default=_json_value))
    files[METRICS] = ("the metrics recorded for it" if trained else "`trained: false`; the "
                      "metrics of another training (the search's) under `search_metrics`")

    model = _standalone(out, compiled, inputs)
    names = (tuple(graph.inputs), tuple(graph.outputs))
    specs = list(graph.inputs.values())
    for fmt in formats:
        path = out / FILES.get(fmt, "")
        if fmt == "exported":
            shapes = write_exported(model, inputs, specs, path)
            files[path.name] = f"a `torch.export` program ({shapes})"
        elif fmt == "torchscript":
            write_torchscript(model, inputs, path)
            files[path.name] = "a traced TorchScript module (`torch.jit.load`)"
        elif fmt == "onnx":
            shapes = write_onnx(model, inputs, specs, *names, path)
            files[path.name] = f"an ONNX graph ({shapes})"
    files["README.md"] = "this card"
    card = model_card(graph, task=getattr(task, "name", task), metrics=metrics, trained=trained,
                      seed=seed, params=count_params(compiled), flops=_flops(graph, compiled),
                      io=_io_text(graph), files=files, class_name=class_name)
    (out / "README.md").write_text(card)
    return out


def metrics_record(metrics: dict, trained: bool) -> dict:
    """What metrics.json holds: ``trained`` first, then the metrics of these weights, or,
    for untrained weights, the given metrics under ``search_metrics`` (they describe
    another training of the architecture, never these weights)."""
    if trained:
        return {"trained": True, **{k: v for k, v in metrics.items() if k != "trained"}}
    return {"trained": False, **({"search_metrics": metrics} if metrics else {})}


def _standalone(out: Path, compiled: GraphModule, inputs: tuple) -> nn.Module:
    """model.py built with weights.pt, checked against the compiled module; in eval mode."""
    model = import_model_file(out / MODEL).build()
    apply_weights(model, read_weights(out / "weights.pt"), "the weights just written")
    model.eval()
    with torch.no_grad():
        expected, got = compiled(*inputs), model(*inputs)
    try:
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    except AssertionError as exc:  # a codegen bug: say so rather than ship a wrong model
        raise ExportError(f"model.py does not compute what the compiled graph computes: "
                          f"{exc}") from None
    return model


def _flops(graph: ArchGraph, compiled: GraphModule) -> int | None:
    try:
        return count_flops(compiled, inputs=make_inputs(graph, batch=1))
    except Exception:  # a FLOP count is nice to have; it must not stop an export
        return None


def _io_text(graph: ArchGraph) -> tuple[str, str]:
    lead, shapes = lead_axis(graph), graph.infer_shapes()
    ins = ", ".join(f"`{n}` {input_text(s, lead)}" for n, s in graph.inputs.items())
    outs = ", ".join(f"`{n}` {shape_text(lead_of(graph, src, lead), shapes[src])}"
                     for n, src in graph.outputs.items())
    return ins, outs


def _json_value(value):
    """Metrics as JSON: tensors and numpy scalars become numbers; NaN stays a string."""
    if hasattr(value, "item"):
        value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        return value
    return str(value)
