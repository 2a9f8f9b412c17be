"""`nas plot`: best-so-far over trials, and the Pareto front for several objectives."""

from __future__ import annotations

from pathlib import Path

import typer

from cli._common import console, fail
from cli._search import _open


def plot_cmd(
    run_dir: Path = typer.Argument(None, help="A run folder (or use --storage/--study)."),
    out: Path = typer.Option(Path("search.png"), "--out", help="Image file to write (.png)."),
    storage: str = typer.Option(None, "--storage", help="Storage URL or journal file."),
    study: str = typer.Option(None, "--study", help="Study name."),
) -> None:
    """Plot a search: the first objective per trial with its best so far, and for several
    objectives the Pareto front of the first two.

    \b
    Example: nas plot runs/cnn-mnist1d-20261125-101500 --out search.png
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    st = _open(run_dir, storage, study)
    done = st.completed()
    if not done:
        raise fail("the study has no completed trial to plot yet")
    name, direction = st.objectives[0]
    multi = len(st.objectives) > 1
    fig, axes = plt.subplots(1, 2 if multi else 1, figsize=(11 if multi else 6, 4))
    axes = list(axes) if multi else [axes]
    xs = [r.number for r in done]
    ys = [r.values[0] for r in done]
    best, curve = None, []
    for y in ys:
        best = y if best is None else (max(best, y) if direction == "max" else min(best, y))
        curve.append(best)
    ax = axes[0]
    ax.scatter(xs, ys, s=14, alpha=0.6, label="trial")
    ax.step(xs, curve, where="post", color="C3", label="best so far")
    failed = [r.number for r in st.trials(("FAIL",))]
    for f in failed:
        ax.axvline(f, color="0.85", lw=0.8, zorder=0)
    ax.set_xlabel("trial")
    ax.set_ylabel(name)
    ax.set_title(f"{st.name}: {name} ({direction})")
    ax.legend()
    if multi:
        n2, d2 = st.objectives[1]
        front = sorted(st.pareto_front(), key=lambda r: r.values[1])
        ax = axes[1]
        ax.scatter([r.values[1] for r in done], ys, s=14, alpha=0.4, label="trial")
        ax.plot([r.values[1] for r in front], [r.values[0] for r in front], "o-", color="C3",
                label="Pareto front")
        ax.set_xlabel(f"{n2} ({d2})")
        ax.set_ylabel(f"{name} ({direction})")
        ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    console.print(f"wrote {out}", highlight=False)


def dashboard_cmd(
    run_dir: Path = typer.Argument(None, help="A run folder (or use --storage)."),
    storage: str = typer.Option(None, "--storage", help="Storage URL or journal file."),
    port: int = typer.Option(8080, "--port", help="Port on 127.0.0.1."),
) -> None:
    """Serve the study in optuna-dashboard on 127.0.0.1 (optional extra: dashboard).

    \b
    Example: nas dashboard runs/cnn-mnist1d-20261125-101500 --port 8080
    """
    from nas.study import JOURNAL, StorageError, open_storage

    try:
        import optuna_dashboard
    except ImportError:
        raise fail("nas dashboard needs optuna-dashboard: pip install "
                   "'nas-toolkit[dashboard]'") from None
    if run_dir is None and storage is None:
        raise fail("give a run folder or --storage URL")
    if storage is None and not (Path(run_dir) / JOURNAL).exists():
        raise fail(f"'{run_dir}' is not a run folder (no {JOURNAL})")
    try:
        st = open_storage(storage, run_dir)
    except StorageError as exc:
        raise fail(str(exc)) from None
    console.print(f"optuna-dashboard on http://127.0.0.1:{port} (Ctrl-C to stop)")
    optuna_dashboard.run_server(st, host="127.0.0.1", port=port)
