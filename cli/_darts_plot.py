"""`nas plot` of a differentiable search: the mixing probabilities of every decision's
options over the search steps (the alpha trajectory saved in the run folder), one panel
a decision. A collapse shows as the parameter-free ops (skip, none, pooling) rising."""

from __future__ import annotations

import math
from pathlib import Path

from cli._common import console
from nas.darts import load_trajectory


def alphas_path(out: Path) -> Path:
    """Where the alpha figure goes, beside ``out``: search.png -> search-alphas.png."""
    return out.with_name(f"{out.stem}-alphas{out.suffix}")


def draw_alphas(record: dict):
    """The figure of a saved search record (``nas.darts.load_trajectory``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = record["trajectory"]
    names = list(points[0]["probs"]) if points else []
    cols = min(3, max(1, len(names)))
    rows = max(1, math.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    steps = [p["step"] for p in points]
    options = record.get("options", {})
    for ax, name in zip(axes.flat, names, strict=False):
        series = list(zip(*[p["probs"][name] for p in points], strict=True))
        labels = options.get(name) or [str(i) for i in range(len(series))]
        for label, ys in zip(labels, series, strict=True):
            ax.plot(steps, ys, label=str(label))
        chosen = record.get("answers", {}).get(name)
        ax.set_title(f"{name} -> {chosen}", fontsize=9)
        ax.set_xlabel("search step")
        ax.set_ylabel("mixing weight")
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.suptitle(f"differentiable search (guard {record.get('guard')}): mixing weights",
                 fontsize=11)
    fig.tight_layout()
    return fig


def plot_alphas(run_dir: Path | None, out: Path) -> Path | None:
    """Write the alpha figure beside ``out`` when the run has a saved trajectory."""
    if run_dir is None:
        return None
    record = load_trajectory(run_dir)
    if record is None or not record.get("trajectory"):
        return None
    import matplotlib.pyplot as plt

    fig = draw_alphas(record)
    path = alphas_path(out)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    console.print(f"wrote {path}", highlight=False)
    return path


__all__ = ["alphas_path", "draw_alphas", "plot_alphas"]
