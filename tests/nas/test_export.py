"""Export: model.py computes what the searched module computes, in a fresh process with
only torch; torch.export round trips; weights load safely; every op has a codegen rule."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import os
import pickle
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

import nas
from nas import ArchGraph, compile_graph, example_inputs, get_op, list_ops
from nas.export import ExportError, WeightsError, get_codegen, has_codegen
from nas.profile import example_tensor
from nas.testing import op_graph

# (case, space, config): one space of every family, small where the space allows it
FAMILIES = [
    ("mlp", "mlp", {}),
    ("cnn", "cnn", {}),
    ("resnet", "resnet", {}),
    ("mobilenet", "mobilenet", {}),
    ("rnn", "rnn", {"in_shape": (2, 12)}),  # few steps: torch.export unrolls them
    ("transformer", "transformer", {}),  # encoder (BERT-like classifier)
    ("autoencoder", "autoencoder", {}),
    ("vae", "vae", {}),
    ("gan", "gan", {}),
    ("gnn", "gnn", {}),  # node level
    ("nb201", "nb201", {"in_shape": (3, 8, 8), "channels": 4, "cells": 1}),
    ("sequence", "sequence", {}),
    ("gpt", "transformer", {"in_shape": nas.TensorSpec((8,), "tokens", vocab=12), "n_out": 12,
                            "mode": "decoder"}),
    ("gnn_graph", "gnn", {"level": "graph"}),
]
EXPORTED = {"mlp", "cnn", "rnn", "transformer", "lstm"}  # also written as model.pt2
ALLOWED_IMPORTS = {"torch", "math", "__future__"}


def _outputs(out):
    return out if isinstance(out, tuple) else (out,)


def _lstm_graph() -> ArchGraph:
    """A hand-written recurrent net, so the rnn family is covered by ops alone too."""
    g = ArchGraph()
    g.add_input("x", (2, 8))
    g.add_node("steps", "transpose", {}, ["x"])
    g.add_node("lstm", "lstm", {"hidden": 8, "layers": 2, "bidirectional": True,
                                "output": "last"}, ["steps"])
    g.add_node("head", "linear", {"features": 10}, ["lstm"])
    g.set_output("logits", "head")
    return g


def _graph(space: str, config: dict) -> ArchGraph:
    if space not in nas.list_spaces():
        try:  # a family file that its package does not import yet still registers
            importlib.import_module(f"search_spaces.{space}")
        except ImportError:
            pytest.skip(f"no '{space}' search space in this checkout")
    s = nas.get_space(space, **config)
    return s.build(s.sample(3))


def _trained_like(graph: ArchGraph, inputs: tuple) -> nas.GraphModule:
    """The compiled module with weights and BN statistics moved off their initial values."""
    torch.manual_seed(0)
    module = compile_graph(graph)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.05 * torch.randn_like(p))
        module.train()
        for _ in range(2):
            module(*inputs)
    return module.eval()


def _imports(source: str) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots.add((node.module or "").split(".")[0])
    return roots


# --------------------------------------------------------------------- fresh process

FRESH = r"""
import importlib.util, sys
sys.path.append(sys.argv[1])  # torch's site-packages, without its .pth hooks (-S)
try:
    import nas  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("nas-toolkit is importable in the fresh process")
import torch
for i, folder in enumerate(sys.argv[2:]):
    spec = importlib.util.spec_from_file_location(f"exported_{i}", folder + "/model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.build()
    model.load_state_dict(torch.load(folder + "/weights.pt", weights_only=True), strict=True)
    model.eval()
    inputs = torch.load(folder + "/inputs.pt", weights_only=True)
    with torch.no_grad():
        torch.save(model(*inputs), folder + "/outputs.pt")
assert not any(m == "nas" or m.startswith("nas.") for m in sys.modules)
print("checked", len(sys.argv) - 2)
"""


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """case -> (export folder, reference outputs), or the reason the case is skipped."""
    root = tmp_path_factory.mktemp("exports")
    done: dict[str, object] = {}
    cases = [(c, s, cfg) for c, s, cfg in FAMILIES] + [("lstm", None, None)]
    for case, space, config in cases:
        try:
            graph = _lstm_graph() if space is None else _graph(space, config)
        except pytest.skip.Exception as exc:
            done[case] = str(exc)
            continue
        inputs = example_inputs(graph, batch=4, seed=1)
        module = _trained_like(graph, inputs)
        with torch.no_grad():
            expected = _outputs(module(*inputs))
        formats = ("python", "exported") if case in EXPORTED else ("python",)
        folder = nas.export(graph, root / case, state_dict=module.state_dict(),
                            metrics={"accuracy": 0.5}, task="mnist1d", formats=formats,
                            example_inputs=inputs)
        torch.save(inputs, folder / "inputs.pt")
        done[case] = (folder, expected, inputs)
    folders = [str(v[0]) for v in done.values() if isinstance(v, tuple)]
    site = str(Path(torch.__file__).resolve().parent.parent)
    run = subprocess.run([sys.executable, "-I", "-S", "-c", FRESH, site, *folders],
                         capture_output=True, text=True, cwd=root, timeout=600,
                         env={"PATH": os.environ.get("PATH", ""), "OMP_NUM_THREADS": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    return done


CASES = [c for c, _, _ in FAMILIES] + ["lstm"]


@pytest.mark.parametrize("case", CASES)
def test_model_py_matches_in_a_fresh_torch_only_process(exports, case):
    if isinstance(exports[case], str):
        pytest.skip(exports[case])
    folder, expected, _ = exports[case]
    got = _outputs(torch.load(folder / "outputs.pt", weights_only=True))
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    source = (folder / "model.py").read_text()
    assert _imports(source) <= ALLOWED_IMPORTS
    assert "pickle" not in source
    for name in ("architecture.json", "metrics.json", "README.md", "weights.pt"):
        assert (folder / name).is_file()
    card = (folder / "README.md").read_text()
    assert "mnist1d" in card and "accuracy" in card and "weights_only=True" in card
    assert json.loads((folder / "metrics.json").read_text()) == {"trained": True,
                                                                 "accuracy": 0.5}
    graph = ArchGraph.from_json((folder / "architecture.json").read_text())
    assert f"{nas.count_params(graph):,}" in card


@pytest.mark.parametrize("case", sorted(EXPORTED))
def test_torch_export_program_reloads_and_matches(exports, case):
    if isinstance(exports[case], str):
        pytest.skip(exports[case])
    folder, expected, inputs = exports[case]
    program = torch.export.load(folder / "model.pt2").module()
    for a, b in zip(_outputs(program(*inputs)), expected):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert "model.pt2" in (folder / "README.md").read_text()
    assert "dynamic batch" in (folder / "README.md").read_text()
    graph = ArchGraph.from_json((folder / "architecture.json").read_text())
    other = example_inputs(graph, batch=3, seed=5)  # another batch size: the axis is dynamic
    loaded = nas.load(folder).eval()
    with torch.no_grad():
        for a, b in zip(_outputs(program(*other)), _outputs(loaded(*other))):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_load_returns_the_module_with_its_weights(exports):
    folder, expected, inputs = exports["mlp"]
    model = nas.load(folder).eval()
    assert not isinstance(model, nas.GraphModule)
    with torch.no_grad():
        torch.testing.assert_close(model(*inputs), expected[0])
    fresh = nas.load(folder / "architecture.json")
    assert isinstance(fresh, nas.GraphModule)
    assert fresh.graph == ArchGraph.from_json((folder / "architecture.json").read_text())
    fresh.load_state_dict(model.state_dict(), strict=True)  # same keys, same nesting


# --------------------------------------------------------------------- weights files


@pytest.fixture
def export_copy(exports, tmp_path):
    folder = shutil.copytree(exports["mlp"][0], tmp_path / "copy")
    return Path(folder)


def test_random_bytes_are_not_a_weights_file(export_copy):
    (export_copy / "weights.pt").write_bytes(os.urandom(4096))
    with pytest.raises(WeightsError, match=r"weights\.pt.*corrupt or not a weights file"):
        nas.load(export_copy)


def test_truncated_weights_file(export_copy):
    data = (export_copy / "weights.pt").read_bytes()
    (export_copy / "weights.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match=r"weights\.pt.*corrupt or not a weights file"):
        nas.load(export_copy)


class _Evil:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):  # unpickling this would create the marker file
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("how", ["pickle", "torch.save"])
def test_a_malicious_pickle_is_never_run(export_copy, tmp_path, how):
    marker = tmp_path / "pwned.txt"
    weights = export_copy / "weights.pt"
    if how == "pickle":
        weights.write_bytes(pickle.dumps({"0.weight": _Evil(marker)}))
    else:
        torch.save({"0.weight": _Evil(marker)}, weights)
    with pytest.raises(WeightsError, match="corrupt or not a weights file"):
        nas.load(export_copy)
    assert not marker.exists()


def test_weights_that_do_not_fit_the_model(export_copy):
    state = torch.load(export_copy / "weights.pt", weights_only=True)
    first = next(iter(state))
    torch.save({k: v for k, v in state.items() if k != first}, export_copy / "weights.pt")
    with pytest.raises(WeightsError, match=f"missing keys.*{first}"):
        nas.load(export_copy)
    state[first] = torch.zeros(3, 3, 3)
    torch.save(state, export_copy / "weights.pt")
    with pytest.raises(WeightsError, match="shape mismatch"):
        nas.load(export_copy)
    torch.save([torch.zeros(2)], export_copy / "weights.pt")
    with pytest.raises(WeightsError, match="expected a state dict"):
        nas.load(export_copy)


def test_export_checks_the_state_dict_it_is_given(tmp_path):
    graph = _lstm_graph()
    state = compile_graph(graph).state_dict()
    state.pop("head.bias")
    with pytest.raises(WeightsError, match=r"missing keys \[head\.bias\]"):
        nas.export(graph, tmp_path / "out", state_dict=state)


# --------------------------------------------------------------------- export options


def test_untrained_export_is_seeded_and_says_so(tmp_path):
    graph = _lstm_graph()
    rng_before = torch.random.get_rng_state()
    a = nas.export(graph, tmp_path / "a", seed=3)
    assert torch.equal(torch.random.get_rng_state(), rng_before)  # the caller's RNG untouched
    b = nas.export(graph, tmp_path / "b", seed=3)
    wa = torch.load(a / "weights.pt", weights_only=True)
    wb = torch.load(b / "weights.pt", weights_only=True)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    card = (a / "README.md").read_text()
    assert "untrained" in card and "No metrics" in card
    assert json.loads((a / "metrics.json").read_text()) == {"trained": False}


def test_a_compiled_module_exports_with_its_own_weights(tmp_path):
    module = compile_graph(_lstm_graph())
    folder = nas.export(module, tmp_path / "m")
    loaded = nas.load(folder)
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in module.state_dict().items())


def test_torchscript_format_without_deprecation_warnings(exports, tmp_path):
    folder, expected, inputs = exports["mlp"]
    graph = ArchGraph.from_json((folder / "architecture.json").read_text())
    state = torch.load(folder / "weights.pt", weights_only=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = nas.export(graph, tmp_path / "ts", state_dict=state, formats=("torchscript",),
                         example_inputs=inputs)
    assert not [w for w in caught if "deprecated" in str(w.message)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.load(str(out / "model.torchscript.pt"))
    torch.testing.assert_close(scripted(*inputs), expected[0])


def test_onnx_format_or_a_clear_message(tmp_path):
    graph = _lstm_graph()
    installed = all(importlib.util.find_spec(m) for m in ("onnx", "onnxscript"))
    if not installed:
        with pytest.raises(ExportError, match=r"pip install 'nas-toolkit\[onnx\]'"):
            nas.export(graph, tmp_path / "o", formats=("python", "onnx"))
        assert not (tmp_path / "o").exists()  # checked before anything is written
        return
    out = nas.export(graph, tmp_path / "o", formats=("python", "onnx"))
    assert (out / "model.onnx").is_file()


def test_unknown_format_and_missing_rule_are_clear(tmp_path):
    with pytest.raises(ExportError, match="unknown export format"):
        nas.export(_lstm_graph(), tmp_path / "x", formats=("keras",))
    with pytest.raises(ExportError, match="register_codegen"):
        get_codegen("no_such_op")
    with pytest.raises(FileNotFoundError):
        nas.load(tmp_path / "nowhere")


def test_source_is_readable_straight_line_code():
    g = ArchGraph()
    g.add_input("x", (1, 40))
    g.add_node("conv1", "conv1d", {"channels": 25, "kernel": 5, "stride": 2, "padding": 1},
               ["x"])
    g.add_node("act", "relu", {}, ["conv1"])
    g.add_node("skip", "add", {}, ["act", "conv1"])
    g.set_output("y", "skip")
    source = nas.to_source(g)
    assert "self.conv1 = nn.Conv1d(1, 25, 5, stride=2, padding=1, bias=True)" in source
    assert "conv1 = self.conv1(x)  # (B, 25, 19)" in source
    assert "h = self.act(conv1)  # (B, 25, 19)" in source
    assert "def forward(self, x: torch.Tensor) -> torch.Tensor:" in source
    assert "class Add(nn.Module):" in source and "def build() -> Model:" in source
    assert "class Net(nn.Module):" in nas.to_source(g, class_name="Net")
    with pytest.raises(ExportError, match="class_name"):
        nas.to_source(g, class_name="Add")


# --------------------------------------------------------------------- every op

OPS = [(name, i) for name in list_ops() for i in range(len(get_op(name).examples))]


def test_every_op_has_a_codegen_rule():
    missing = [name for name in list_ops() if not has_codegen(name)]
    assert not missing, (f"ops without a codegen rule (nas/export/_rules_*.py): {missing}; "
                         "they could not be exported as standalone PyTorch")


def _load_source(source: str):
    namespace: dict = {"__name__": "exported_op"}
    exec(compile(source, "<model.py>", "exec"), namespace)
    return namespace["build"]()


@pytest.mark.parametrize("name,index", OPS, ids=[f"{n}-{i}" for n, i in OPS])
def test_op_source_computes_what_compile_computes(name, index):
    params, specs = get_op(name).examples[index]
    graph = op_graph(name, params, specs)
    gen = torch.Generator().manual_seed(index)
    inputs = [example_tensor(s, 3, gen, nodes=3) for s in specs]
    compiled = _trained_like(graph, tuple(inputs))
    source = nas.to_source(graph)
    assert _imports(source) <= ALLOWED_IMPORTS
    model = _load_source(source)
    model.load_state_dict(compiled.state_dict(), strict=True)
    for training in (False, True):
        compiled.train(training)
        model.train(training)
        torch.manual_seed(7)
        expected = compiled(*inputs)
        torch.manual_seed(7)
        got = model(*inputs)
        torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6)
