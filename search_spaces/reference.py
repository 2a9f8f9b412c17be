"""Hand-designed reference architectures as ArchGraphs (baselines for searches and tests)."""

from __future__ import annotations

from nas import ArchGraph


def mnist1d_paper_cnn(channels: int = 25, n_out: int = 10) -> ArchGraph:
    """The MNIST-1D paper's CNN (Greydanus, 2020): three conv1d of 25 channels (kernels
    5/3/3, stride 2, padding 1) with ReLU, then linear; 5,210 parameters on (1, 40)."""
    g = ArchGraph()
    h = g.add_input("x", (1, 40))
    for i, k in enumerate([5, 3, 3], start=1):
        h = g.add_node(f"conv{i}", "conv1d",
                       {"channels": channels, "kernel": k, "stride": 2, "padding": 1}, [h])
        h = g.add_node(f"relu{i}", "relu", {}, [h])
    h = g.add_node("flat", "flatten", {}, [h])
    g.set_output("logits", g.add_node("linear", "linear", {"features": n_out}, [h]))
    return g
