"""The model card: README.md of an export folder (task, metrics, size, how to load)."""

from __future__ import annotations

from nas._version import __version__
from nas.graph import ArchGraph


def _number(value) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.4g}"


def _si(value: int | None) -> str:
    if value is None:
        return "n/a"
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= size:
            return f"{value / size:.3g} {unit} ({value:,})"
    return f"{value:,}"


def model_card(graph: ArchGraph, *, task: str | None, metrics: dict, trained: bool, seed: int,
               params: int, flops: int | None, io: tuple[str, str], files: dict[str, str],
               class_name: str) -> str:
    """Markdown text of the card. ``files`` maps each file written to what it holds."""
    weights = ("trained (the weights the search or training produced)" if trained else
               f"**untrained**: a fresh initialization (seed {seed}), no training was saved")
    rows = [("task", task or "not recorded"), ("weights", weights),
            ("parameters", _number(params)), ("FLOPs per sample", _si(flops)),
            ("inputs", io[0]), ("outputs", io[1]),
            ("architecture fingerprint", f"`{graph.fingerprint()}`"),
            ("exported by", f"nas-toolkit {__version__}")]
    lines = [f"# Model card: {class_name} `{graph.fingerprint()}`", "",
             "A neural network found by nas-toolkit, exported as plain PyTorch.", "",
             "| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows), "", "## Metrics", ""]
    if metrics and not trained:
        lines += ["Measured by the search's own training of this architecture, not on these "
                  "untrained weights (metrics.json: `search_metrics`). Train it with "
                  "`nas train FOLDER`.", ""]
    if metrics:
        lines += ["| metric | value |", "|---|---|",
                  *(f"| {k} | {_number(v)} |" for k, v in metrics.items())]
    else:
        lines.append("No metrics were recorded.")
    lines += ["", "## Files", "", *(f"- `{name}`: {what}" for name, what in files.items())]
    lines += ["", "## Load it", "", "With plain PyTorch (nas-toolkit not needed), from this "
              "folder:", "", "```python", "import torch", "from model import build", "",
              "model = build()",
              'model.load_state_dict(torch.load("weights.pt", weights_only=True))',
              "model.eval()", "```", "", "With nas-toolkit:", "", "```python", "import nas", "",
              'model = nas.load("path/to/this/folder").eval()', "```"]
    if "model.pt2" in files:
        lines += ["", "The `torch.export` program:", "", "```python", "import torch", "",
                  'model = torch.export.load("model.pt2").module()', "```"]
    lines += ["", "## Architecture", "", "```", graph.summary(), "```", ""]
    return "\n".join(lines)
