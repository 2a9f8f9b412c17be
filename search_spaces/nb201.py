"""The NAS-Bench-201 cell space (Dong & Yang, 2020), exactly: 6 edges x 5 ops."""

from __future__ import annotations

from nas import Builder, register_space
from search_spaces._common import as_channels_first

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
EDGES = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)]  # (to, from)
DECISIONS = [f"edge_{i}_{j}" for i, j in EDGES]


def to_arch_string(decisions: dict) -> str:
    """Decisions -> the NB201 string, e.g. ``|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...|``."""
    parts = []
    for i in (1, 2, 3):
        parts.append("|" + "|".join(f"{decisions[f'edge_{i}_{j}']}~{j}" for j in range(i)) + "|")
    return "+".join(parts)


def from_arch_string(text: str) -> dict:
    """The NB201 string -> decisions; raises ValueError on a malformed string."""
    nodes = text.strip().split("+")
    if len(nodes) != 3:
        raise ValueError(f"an NB201 string has 3 nodes separated by '+', got {text!r}")
    decisions = {}
    for i, node in enumerate(nodes, start=1):
        edges = [e for e in node.strip("|").split("|") if e]
        if len(edges) != i:
            raise ValueError(f"node {i} of {text!r} needs {i} edges, got {len(edges)}")
        for e in edges:
            op, _, j = e.partition("~")
            if op not in OPS or not j.isdigit() or int(j) >= i:
                raise ValueError(f"bad edge {e!r} in {text!r}")
            decisions[f"edge_{i}_{int(j)}"] = op
    return {k: decisions[k] for k in DECISIONS}


def _edge(b: Builder, op: str, x: str, channels: int) -> str | None:
    if op == "none":
        return None
    if op == "skip_connect":
        return x
    if op == "avg_pool_3x3":
        return b.op("avg_pool", x, size=3, stride=1, padding=1)
    kernel = 1 if op == "nor_conv_1x1" else 3
    h = b.op("relu", x)  # ReLU-Conv-BN, as in NB201
    h = b.op("conv", h, channels=channels, kernel=kernel, bias=False)
    return b.op("batch_norm", h)


def cell(b: Builder, x: str, ops: dict, channels: int) -> str:
    nodes = [x]
    for i in (1, 2, 3):
        terms = [_edge(b, ops[f"edge_{i}_{j}"], nodes[j], channels) for j in range(i)]
        terms = [t for t in terms if t is not None]
        if not terms:
            nodes.append(b.op("zero", x))
        elif len(terms) == 1:
            nodes.append(terms[0])
        else:
            nodes.append(b.op("add", *terms))
    return nodes[3]


def _reduction(b: Builder, x: str, channels: int) -> str:
    """The NB201 block between stages, the reference's ``ResNetBasicblock`` at stride 2:
    ReLU-Conv3x3/2-BN then ReLU-Conv3x3-BN, plus a shortcut AvgPool2x2/2 then Conv1x1
    (no BN, no ReLU)."""
    h = b.op("relu", x)
    h = b.op("conv", h, channels=channels, kernel=3, stride=2, bias=False)
    h = b.op("batch_norm", h)
    h = b.op("relu", h)
    h = b.op("conv", h, channels=channels, kernel=3, bias=False)
    h = b.op("batch_norm", h)
    s = b.op("avg_pool", x, size=2, stride=2, padding=_pool_padding(b.shape(x)[1:]))
    s = b.op("conv", s, channels=channels, kernel=1, bias=False)
    return b.op("add", s, h)  # (channels, *ceil(S / 2))


def _pool_padding(sizes) -> int:
    """The shortcut pool's padding: 0 for even sizes (the benchmark's); odd sizes, which
    the benchmark never sees, pad 1 so the shortcut matches the conv path's ceil(n / 2)."""
    odd = {n % 2 for n in sizes if n is not None}
    if odd == {0, 1}:
        raise ValueError(f"nb201 halves every spatial axis at a reduction, and the sizes "
                         f"{tuple(sizes)} mix even and odd ones; give an input whose "
                         "spatial sizes are all even (the benchmark's 32x32) or all odd")
    return 1 if odd == {1} else 0


@register_space("nb201", in_shape=(3, 32, 32), n_out=10)
def nb201(b: Builder, in_shape, n_out: int, channels: int = 16, cells: int = 5,
          skeleton: bool = True) -> str:
    """NAS-Bench-201 cell space: 6 edges x 5 ops (15,625 cells), the benchmark's skeleton.

    Each edge is one of none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3;
    the macro skeleton is the benchmark's (stem, 3 stages of ``cells`` cells,
    residual reductions, GAP, linear).

    Suits image tasks (cifar10, digits) and 1-D signals. Without training, strategies
    are compared on the benchmark's table of accuracies by ``nas benchmark nb201
    --table nb201_test_accuracy.csv`` (``load_table``). ``to_arch_string`` /
    ``from_arch_string`` map decisions to the benchmark's strings. ``skeleton=False``
    builds the bare cell (fast, for table lookups where only the cell matters).
    """
    ops = {name: b.choice(name, OPS) for name in DECISIONS}
    x = as_channels_first(b, b.input(in_shape))
    if not skeleton:
        return b.output(cell(b, x, ops, b.shape(x)[0]))
    x = b.op("batch_norm", b.op("conv", x, channels=channels, kernel=3, bias=False))
    for stage in range(3):
        width = channels * 2**stage
        if stage:
            x = _reduction(b, x, width)
        for _ in range(cells):
            x = cell(b, x, ops, width)
    x = b.op("relu", b.op("batch_norm", x))
    x = b.op("global_avg_pool", x)
    return b.output(b.op("linear", x, features=n_out))


DATASET_COLUMNS = {
    "cifar10": "CIFAR10TestAccuracy200Epochs",
    "cifar100": "CIFAR100TestAccuracy200Epochs",
    "imagenet16": "ImageNetTestAccuracy200Epochs",
}


def load_table(path, dataset: str = "cifar10") -> dict[str, float]:
    """NB201 string -> test accuracy (%) for ``dataset`` from the benchmark's CSV table."""
    import pandas as pd

    if dataset not in DATASET_COLUMNS:
        raise ValueError(f"unknown NB201 dataset '{dataset}'; use one of "
                         f"{', '.join(DATASET_COLUMNS)}")
    try:
        df = pd.read_csv(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"NAS-Bench-201 table '{path}' does not exist; pass the "
                                "path of nb201_test_accuracy.csv with --table") from None
    missing = {"ArchitectureString", DATASET_COLUMNS[dataset]} - set(df.columns)
    if missing:
        raise ValueError(f"'{path}' is not a NAS-Bench-201 table: columns {sorted(missing)} "
                         "are missing")
    return dict(zip(df["ArchitectureString"], df[DATASET_COLUMNS[dataset]].astype(float)))
