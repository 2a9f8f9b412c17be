"""Oracles for nas.from_module: each model traced, compiled with its weights, computes what
the model computes (same outputs, train and eval), and its layers became primitives."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from nas import (
    ArchGraph,
    GraphError,
    ShapeError,
    TraceError,
    compile_graph,
    count_params,
    from_module,
    to_source,
)
from nas.export import ExportError
from search_spaces.reference import mnist1d_paper_cnn


def ops_of(graph: ArchGraph) -> list[str]:
    return [n.op for n in graph.nodes()]


def assert_same_function(model: nn.Module, inputs: tuple, modes=("eval", "train")):
    traced = from_module(model, inputs)
    compiled = traced.compile()
    for mode in modes:
        model.train(mode == "train")
        compiled.train(mode == "train")
        with torch.no_grad():
            torch.testing.assert_close(compiled(*inputs), model(*inputs), rtol=1e-5,
                                       atol=1e-5)
    assert count_params(compiled) == count_params(model)
    return traced


# --------------------------------------------------------------------- MNIST-1D paper CNN


class PaperCNN(nn.Module):
    """ConvBase of github.com/greydanus/mnist1d (models.py), as the paper trains it."""

    def __init__(self, output_size: int = 10, channels: int = 25, linear_in: int = 125):
        super().__init__()
        self.conv1 = nn.Conv1d(1, channels, 5, stride=2, padding=1)
        self.conv2 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.linear = nn.Linear(linear_in, output_size)

    def forward(self, x):
        x = x.view(-1, 1, x.shape[-1])  # (B, 1, 40)
        h1 = self.conv1(x).relu()
        h2 = self.conv2(h1).relu()
        h3 = self.conv3(h2).relu()
        h3 = h3.view(h3.shape[0], -1)  # (B, 125)
        return self.linear(h3)


def test_mnist1d_paper_cnn():
    torch.manual_seed(0)
    traced = assert_same_function(PaperCNN(), (torch.randn(5, 40),))
    assert ops_of(traced.graph) == ["reshape", "conv1d", "relu", "conv1d", "relu", "conv1d",
                                    "relu", "flatten", "linear"]
    assert count_params(traced.graph) == 5210


def test_paper_cnn_on_channels_first_input_is_the_reference_graph():
    """Fed (B, 1, 40) the view is a no-op left as reshape; without it the traced graph is
    the hand-built reference architecture: the same fingerprint (output renamed)."""
    class NoView(PaperCNN):
        def forward(self, x):
            h = self.conv3(self.conv2(self.conv1(x).relu()).relu()).relu()
            return self.linear(h.flatten(1))

    traced = from_module(NoView(), torch.randn(4, 1, 40))
    ref = mnist1d_paper_cnn().to_dict()
    ref["outputs"] = {"y": ref["outputs"]["logits"]}
    assert traced.graph.fingerprint() == ArchGraph.from_dict(ref).fingerprint()


# --------------------------------------------------------------------- ResNet


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = nn.Sequential() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.down(x))


class ResNet(nn.Module):
    def __init__(self, n_out: int = 10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(8), nn.ReLU(inplace=True))
        self.layers = nn.Sequential(Block(8, 8, 1), Block(8, 16, 2))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, n_out)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


def test_small_resnet():
    torch.manual_seed(0)
    model = ResNet()
    for m in model.modules():  # trained-looking running statistics
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    traced = assert_same_function(model, (torch.randn(3, 3, 8, 8),))
    ops = ops_of(traced.graph)
    assert "opaque" not in ops
    assert ops.count("conv2d") == 6 and ops.count("batch_norm") == 6 and ops.count("add") == 2
    assert ops[-4:] == ["global_avg_pool", "reshape", "flatten", "linear"]
    add = next(n for n in traced.graph.nodes() if n.op == "add")
    assert add.params["project"] is False  # a plain sum, as in the model


# --------------------------------------------------------------------- LSTM classifier


class LSTMClassifier(nn.Module):
    def __init__(self, vocab: int = 20, dim: int = 8, hidden: int = 12, n_out: int = 3,
                 use_state: bool = True):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, n_out)
        self.use_state = use_state

    def forward(self, tokens):
        out, (h, c) = self.lstm(self.embed(tokens))  # out (B, L, H); h (layers, B, H)
        return self.head(h[-1] if self.use_state else out[:, -1])


@pytest.mark.parametrize("use_state", [True, False], ids=["h[-1]", "out[:, -1]"])
def test_lstm_classifier(use_state):
    torch.manual_seed(0)
    tokens = torch.randint(0, 20, (4, 7))
    traced = assert_same_function(LSTMClassifier(use_state=use_state), (tokens,),
                                  modes=("eval",))
    assert ops_of(traced.graph) == ["embedding", "lstm", "seq_pool", "linear"]
    assert traced.graph.inputs["tokens"].kind == "tokens"
    lstm = next(n for n in traced.graph.nodes() if n.op == "lstm")
    assert lstm.params["layers"] == 2 and lstm.params["hidden"] == 12


def test_gru_state_of_a_bidirectional_layer_stays_opaque():
    """h[-1] of a bidirectional GRU is the backward direction only: no primitive gives it."""
    class BiGRU(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(4, 5, batch_first=True, bidirectional=True)

        def forward(self, x):
            return self.gru(x)[1][-1]

    torch.manual_seed(0)
    traced = assert_same_function(BiGRU(), (torch.randn(2, 6, 4),), modes=("eval",))
    assert "gru" not in ops_of(traced.graph) and "opaque" in ops_of(traced.graph)


# --------------------------------------------------------------------- transformer


class TinyTransformer(nn.Module):
    def __init__(self, dim: int = 16, n_out: int = 4, norm_first: bool = False):
        super().__init__()
        self.inp = nn.Linear(6, dim)
        self.encoder = nn.TransformerEncoderLayer(dim, 4, 32, dropout=0.0, batch_first=True,
                                                  norm_first=norm_first)
        self.attn = nn.MultiheadAttention(dim, 2, batch_first=True)
        self.norm = nn.LayerNorm(dim)
        self.out = nn.Linear(dim, n_out)

    def forward(self, x):  # (B, L, 6)
        h = self.encoder(self.inp(x))  # (B, L, D)
        a, _ = self.attn(h, h, h)
        h = self.norm(h + a)
        return self.out(h.mean(1))  # (B, n_out)


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-norm", "pre-norm"])
def test_transformer_encoder(norm_first):
    torch.manual_seed(0)
    traced = assert_same_function(TinyTransformer(norm_first=norm_first),
                                  (torch.randn(3, 5, 6),))
    assert ops_of(traced.graph) == ["linear", "transformer_encoder", "self_attention", "add",
                                    "layer_norm", "seq_pool", "linear"]
    enc = next(n for n in traced.graph.nodes() if n.op == "transformer_encoder")
    assert enc.params["ff_ratio"] == 2 and enc.params["activation"] == "relu"
    assert enc.params["norm_first"] is norm_first


# --------------------------------------------------------------------- GCN


class HandGCNLayer(nn.Module):
    """Kipf & Welling written by hand: X' = D^-1/2 (A + I) D^-1/2 X W + b."""

    def __init__(self, fin: int, fout: int):
        super().__init__()
        self.lin = nn.Linear(fin, fout, bias=False)
        self.bias = nn.Parameter(torch.randn(fout) * 0.1)

    def forward(self, x, edge_index):
        n = x.shape[0]
        loops = torch.arange(n).unsqueeze(0).repeat(2, 1)
        src, dst = torch.cat([edge_index, loops], dim=1)
        deg = torch.zeros(n).index_add(0, dst, torch.ones(dst.shape[0]))
        norm = deg[src].rsqrt() * deg[dst].rsqrt()
        h = self.lin(x)
        return torch.zeros_like(h).index_add(0, dst, h[src] * norm[:, None]) + self.bias


class GCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.gc1 = HandGCNLayer(5, 8)
        self.gc2 = HandGCNLayer(8, 3)

    def forward(self, x, edge_index):
        return self.gc2(torch.relu(self.gc1(x, edge_index)), edge_index)


def test_gcn_with_an_edge_index_input():
    torch.manual_seed(0)
    model = GCN()
    x, edges = torch.randn(6, 5), torch.tensor([[0, 1, 2, 3, 4, 5, 0], [1, 2, 3, 4, 5, 0, 3]])
    traced = assert_same_function(model, (x, edges))
    assert traced.graph.inputs["edge_index"].kind == "edge_index"
    ops = ops_of(traced.graph)
    assert ops.count("linear") == 2 and "relu" in ops and "opaque" in ops
    # degrees and norms (edge-only arithmetic) are recomputed inside the opaque nodes, so
    # the compiled module serves another graph, with other nodes and edges
    compiled = traced.compile()
    x2, edges2 = torch.randn(4, 5), torch.tensor([[0, 2, 3], [1, 3, 0]])
    torch.testing.assert_close(compiled(x2, edges2), model(x2, edges2))


def test_hand_written_gcn_matches_the_gcn_primitive():
    """The hand-written layer used above is the library's gcn (the oracle is right)."""
    torch.manual_seed(0)
    layer = HandGCNLayer(5, 4)
    g = ArchGraph()
    g.add_input("x", (5,))
    g.add_input("e", (2, None), kind="edge_index")
    g.set_output("y", g.add_node("gc", "gcn", {"features": 4}, ["x", "e"]))
    prim = compile_graph(g)
    prim.gc.lin.load_state_dict(layer.lin.state_dict())
    prim.gc.bias.data.copy_(layer.bias.data)
    x, edges = torch.randn(6, 5), torch.tensor([[0, 1, 2, 5], [1, 2, 0, 0]])
    torch.testing.assert_close(prim(x, edges), layer(x, edges))


# --------------------------------------------------------------------- opaque pieces


class Scale(nn.Module):
    """A layer of the user's own: y = s * x + shift (s a plain float repr does not show)."""

    def __init__(self, s: float, dim: int):
        super().__init__()
        self.s = s
        self.shift = nn.Parameter(torch.randn(dim))

    def forward(self, x):
        return self.s * x + self.shift


class WithPieces(nn.Module):
    def __init__(self, s: float = 2.0):
        super().__init__()
        self.fc = nn.Linear(4, 6)
        self.soft = nn.Softplus(beta=2.0)  # a torch layer with no primitive
        self.scale = Scale(s, 6)

    def forward(self, x):
        return self.scale(self.soft(self.fc(x)))


def test_unknown_layers_become_opaque_nodes_and_compile():
    torch.manual_seed(0)
    traced = assert_same_function(WithPieces(), (torch.randn(3, 4),))
    nodes = traced.graph.nodes()
    assert [n.op for n in nodes][:2] == ["linear", "opaque"]
    assert nodes[1].params["what"] == "Softplus (soft)"
    assert nodes[1].params["in_shapes"] == [[6]] and nodes[1].params["out_shape"] == [6]


def test_each_trace_keeps_its_own_weights_in_opaque_nodes():
    """A second model of the same structure shares the opaque keys, not the weights."""
    torch.manual_seed(0)
    for leaves in [(), (Scale,)]:
        first = from_module(WithPieces(), torch.randn(3, 4), leaves=leaves)
        second = WithPieces()  # other weights, the Scale's shift included
        traced = from_module(second, torch.randn(3, 4), leaves=leaves)
        assert traced.graph.fingerprint() == first.graph.fingerprint()
        x = torch.randn(2, 4)
        torch.testing.assert_close(traced.compile()(x), second(x))


def test_tracing_leaves_the_model_untouched():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5)).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    from_module(model, torch.randn(6, 4) * 3 + 1)
    assert model.training and model[1].training
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_leaves_keep_a_submodule_whole():
    torch.manual_seed(0)
    model = WithPieces()
    traced = from_module(model, torch.randn(3, 4), leaves=(Scale,))
    assert [n.op for n in traced.graph.nodes()] == ["linear", "opaque", "opaque"]
    assert traced.graph.nodes()[2].params["what"] == "Scale (scale)"
    x = torch.randn(5, 4)
    torch.testing.assert_close(traced.compile()(x), model(x))


def test_opaque_keys_follow_structure_not_weights():
    """Two traces of models alike but for weights share fingerprints; a different plain
    attribute (the scale s) or shape gives another key; JSON round-trips."""
    torch.manual_seed(0)
    x = torch.randn(3, 4)
    a, b = from_module(WithPieces(), x), from_module(WithPieces(), x)
    c = from_module(WithPieces(s=3.0), x)
    assert a.graph.fingerprint() == b.graph.fingerprint() != c.graph.fingerprint()
    assert not torch.equal(a.state_dict["fc.weight"], b.state_dict["fc.weight"])
    again = ArchGraph.from_json(a.graph.to_json())
    assert again == a.graph and again.fingerprint() == a.graph.fingerprint()
    module = compile_graph(again)
    module.load_state_dict(a.state_dict)
    torch.testing.assert_close(module(x), a.compile()(x))


def test_fingerprint_is_the_same_in_another_process():
    import subprocess
    import sys

    code = ("import torch, sys; sys.path.insert(0, 'tests/nas'); "
            "from test_from_module import WithPieces; from nas import from_module; "
            "print(from_module(WithPieces(), torch.randn(3, 4)).graph.fingerprint())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**__import__("os").environ, "PYTHONHASHSEED": "123"},
                         check=True).stdout.split()[-1]
    assert out == from_module(WithPieces(), torch.randn(3, 4)).graph.fingerprint()


def test_an_opaque_node_from_elsewhere_says_to_trace_again():
    torch.manual_seed(0)
    data = from_module(WithPieces(), torch.randn(3, 4)).graph.to_dict()
    data["nodes"][1]["params"]["key"] = "f" * 20  # as if traced in another process
    with pytest.raises(GraphError, match="trace the model again"):
        compile_graph(ArchGraph.from_dict(data))


def test_opaque_shapes_are_fixed():
    torch.manual_seed(0)
    data = from_module(WithPieces(), torch.randn(3, 4)).graph.to_dict()
    data["inputs"]["x"]["shape"] = [5]
    data["nodes"][0]["params"]["features"] = 7  # the Softplus now sees 7 features
    with pytest.raises(ShapeError, match="traced with input shape"):
        ArchGraph.from_dict(data).infer_shapes()


def test_export_writes_torch_layers_and_refuses_other_pieces(tmp_path):
    torch.manual_seed(0)
    soft_only = from_module(nn.Sequential(nn.Linear(4, 6), nn.Softplus(beta=2.0)),
                            torch.randn(3, 4))
    assert "nn.Softplus(beta=2.0, threshold=20.0)" in to_source(soft_only.graph)
    with pytest.raises(ExportError, match="Scale"):
        to_source(from_module(WithPieces(), torch.randn(3, 4), leaves=(Scale,)).graph)


# --------------------------------------------------------------------- what fx rejects


class DataDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        if x.sum() > 0:  # data-dependent control flow: fx cannot trace it
            return self.fc(x)
        return x


def test_an_untraceable_module_names_the_line():
    with pytest.raises(TraceError) as err:
        from_module(DataDependent(), torch.randn(2, 4))
    message = str(err.value)
    assert "test_from_module.py" in message and "if x.sum() > 0:" in message
    assert "leaves=" in message  # says what to change

    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = DataDependent()
            self.head = nn.Linear(4, 2)

        def forward(self, x):
            return self.head(self.inner(x))

    torch.manual_seed(0)
    model = Outer()
    traced = from_module(model, torch.randn(2, 4), leaves=(DataDependent,))
    x = torch.randn(3, 4)
    assert [n.op for n in traced.graph.nodes()] == ["opaque", "linear"]
    torch.testing.assert_close(traced.compile()(x), model(x))


def test_wrong_number_of_example_inputs():
    with pytest.raises(GraphError, match="example_inputs gave 2"):
        from_module(PaperCNN(), (torch.randn(2, 40), torch.randn(2, 40)))


def test_a_traced_model_of_primitives_exports_as_standalone_source():
    torch.manual_seed(0)
    model = ResNet().eval()
    traced = from_module(model, torch.randn(2, 3, 8, 8))
    namespace: dict = {"__name__": "exported"}
    exec(compile(to_source(traced.graph), "<model.py>", "exec"), namespace)
    exported = namespace["build"]().eval()
    exported.load_state_dict(traced.state_dict, strict=True)
    x = torch.randn(3, 3, 8, 8)
    torch.testing.assert_close(exported(x), model(x), rtol=1e-5, atol=1e-5)


class Functional(nn.Module):
    """Layers called as functions: pooling, leaky ReLU; then a call with no primitive."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.seq = nn.Conv1d(4, 4, 3)

    def forward(self, x):  # (B, 2, 8, 8)
        h = F.max_pool2d(F.leaky_relu(self.conv(x), 0.2), 2)  # (B, 4, 4, 4)
        h = h.flatten(2)  # (B, 4, 16)
        h = F.avg_pool1d(self.seq(h), 3, stride=2)  # (B, 4, 6)
        a = F.avg_pool1d(h, 3, 1, 1)  # torch counts the padding in the mean: no primitive
        return F.max_pool1d(h, 2, ceil_mode=True) + F.max_pool1d(a, 1)[..., :3]


def test_functional_layers():
    torch.manual_seed(0)
    traced = assert_same_function(Functional(), (torch.randn(3, 2, 8, 8),))
    ops = ops_of(traced.graph)
    assert ops[:6] == ["conv2d", "leaky_relu", "max_pool", "opaque", "conv1d", "avg_pool"]
    assert ops.count("max_pool") == 2 and ops.count("opaque") == 4  # flatten(2), pad, ceil
    assert traced.graph.nodes()[1].params["slope"] == 0.2
