"""`nas show`: a trial's architecture as PNG, SVG, DOT, Mermaid or text; clear errors."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import nas
from cli import _draw
from cli.main import app

PLUGINS = str(Path(__file__).resolve().parents[1] / "plugins")
sys.path.insert(0, PLUGINS)
import fake_task  # noqa: E402,F401  (registers the "fake" task: a score per architecture)

runner = CliRunner()
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, nas.Study]:
    folder = tmp_path_factory.mktemp("show") / "run"
    study = nas.search("resnet", "fake", trials=4, run_dir=folder, seed=0)
    return folder, study


def _show(*args: str):
    return runner.invoke(app, ["show", *map(str, args)], terminal_width=200)


def _ops(graph: nas.ArchGraph) -> set[str]:
    return {n.op for n in graph.nodes()}


def test_png_of_a_trial_is_a_valid_picture(run, tmp_path):
    import matplotlib.image

    folder, study = run
    out = tmp_path / "pics" / "arch.png"
    res = _show(folder, "--trial", 2, "--out", out, "--engine", "matplotlib")
    assert res.exit_code == 0, res.output
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC)
    pixels = matplotlib.image.imread(out)
    graph = study.trials()[2].graph
    assert pixels.ndim == 3 and pixels.shape[0] > 100 * len(graph.topological_order()) / 4
    assert pixels.std() > 0.05  # not a blank canvas


def test_svg_names_every_op_and_the_trial(run, tmp_path):
    folder, study = run
    out = tmp_path / "arch.svg"
    assert _show(folder, "--trial", 1, "--out", out).exit_code == 0
    text = out.read_text()
    for op in _ops(study.trials()[1].graph):
        assert op in text
    assert "trial 1" in text


@pytest.mark.parametrize("suffix, needle", [(".dot", "digraph"), (".mmd", "flowchart")])
def test_dot_and_mermaid_text_mention_every_op_and_edge(run, tmp_path, suffix, needle):
    folder, study = run
    out = tmp_path / f"arch{suffix}"
    res = _show(folder, "--trial", 3, "--out", out)
    assert res.exit_code == 0, res.output
    text = out.read_text()
    graph = study.trials()[3].graph
    assert needle in text
    for node in graph.nodes():
        assert node.op in text
        for src in node.inputs:
            assert f"{src} -->" in text or f"{src} -> {node.id}" in text


def test_default_is_the_best_trial_as_a_text_summary(run):
    folder, study = run
    res = _show(folder)
    assert res.exit_code == 0, res.output
    best = study.best
    assert res.output.startswith(f"trial {best.number}: val_acc {best.values[0]:.4g}")
    assert best.graph.fingerprint() in res.output
    fmt = _show(folder, "--format", "dot")
    assert fmt.exit_code == 0 and fmt.output.startswith("digraph")


def test_an_export_folder_and_a_json_file(run, tmp_path):
    folder, study = run
    graph = study.trials()[0].graph
    nas.export(graph, tmp_path / "exp", metrics={"val_acc": 0.5})
    res = _show(tmp_path / "exp", "--format", "mermaid")
    assert res.exit_code == 0, res.output
    assert all(op in res.output for op in _ops(graph))
    res = _show(tmp_path / "exp" / "architecture.json")
    assert res.exit_code == 0 and graph.fingerprint() in res.output


@pytest.mark.parametrize("args, message", [
    (["--trial", "99"], "no trial 99 in study 'search' (its trials: 0 to 3)"),
    (["--out", "arch.jpg"], "cannot tell the format"),
    (["--out", "arch.png", "--format", "svg"], "make them agree"),
    (["--format", "png"], "give a file with --out"),
    (["--format", "gif", "--out", "a.gif"], "--format must be one of"),
    (["--engine", "tikz"], "--engine must be one of"),
])
def test_bad_requests_exit_2_with_a_message(run, tmp_path, args, message):
    folder, _ = run
    res = _show(folder, *args)
    assert res.exit_code == 2
    assert message in " ".join(res.output.split())


def test_not_a_run_folder_exits_2(tmp_path):
    res = _show(tmp_path)
    assert res.exit_code == 2
    assert "neither a run folder" in " ".join(res.output.split())


def test_graphviz_engine_gets_the_styled_dot(run, tmp_path, monkeypatch):
    """A stand-in `dot` on the PATH records what it is given (Graphviz is optional)."""
    folder, study = run
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "dot"
    fake.write_text(f"#!{sys.executable}\nimport sys\nopen(sys.argv[3], 'w').write("
                    "' '.join(sys.argv[1:]) + '\\n' + sys.stdin.read())\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "arch.svg"
    res = _show(folder, "--trial", 0, "--out", out)
    assert res.exit_code == 0, res.output
    args, dot = out.read_text().split("\n", 1)
    assert args.startswith("-Tsvg -o")
    assert dot.startswith("digraph") and all(op in dot for op in _ops(study.trials()[0].graph))
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    res = _show(folder, "--out", out, "--engine", "graphviz")
    assert res.exit_code == 2 and "Graphviz" in res.output


@pytest.mark.parametrize("space, config", [
    ("resnet", {}),
    ("transformer", {"mode": "seq2seq", "tgt_len": 6, "tgt_vocab": 9}),
    ("gnn", {"level": "graph"}),
])
def test_layers_run_downward_and_routes_visit_every_layer(space, config):
    in_shape = (nas.TensorSpec((6,), kind="tokens", vocab=9) if space == "transformer"
                else (16,) if space == "gnn" else (1, 40))
    sp = nas.get_space(space, in_shape=in_shape, n_out=3, **config)
    for seed in range(4):
        graph = sp.build(sp.sample(seed))
        layers, routes = _draw.layered(graph)
        depth = {n: d for d, layer in enumerate(layers) for n in layer}
        assert sum(map(len, layers)) == len(depth)  # each point in one layer
        real = {n for n in depth if not n.startswith("~")}
        assert real == {n.id for n in graph.nodes(include_inputs=True)} | {
            f"out:{k}" for k in graph.outputs}
        for node in graph.nodes():
            for src in node.inputs:
                route = routes[(src, node.id)]
                assert [depth[p] for p in route] == list(range(depth[src], depth[node.id] + 1))
        assert all(depth[n] == 0 for n in graph.inputs)


def test_labels_show_only_non_default_params_and_the_shape():
    g = nas.ArchGraph()
    g.add_input("x", (1, 40))
    g.add_node("c", "conv", {"channels": 8, "kernel": 5}, ["x"])
    node = g.node("c")
    label = _draw.node_label(node, (8, 40))
    assert label.splitlines() == ["conv", "channels=8, kernel=5", "8x40"]
    assert _draw.op_kind("conv") == "convolution" and _draw.op_kind("my_op") == "other"
