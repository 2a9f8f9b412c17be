"""`nas plot`: best-so-far over trials, and the Pareto front for several objectives."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

from cli._common import STORAGE_OPTION, STUDY_OPTION, console, fail, warn_journal
from cli._status import open_run
from nas.objective import Objective

STATES = {"COMPLETE": "complete", "FAIL": "failed", "PRUNED": "pruned", "RUNNING": "running"}


def plot_cmd(
    run_dir: Path = typer.Argument(None, help="A run folder (or use --storage/--study)."),
    out: Path = typer.Option(Path("search.png"), "--out", help="Image file to write (.png, "
                             ".svg or .pdf)."),
    storage: str = STORAGE_OPTION,
    study: str = STUDY_OPTION,
) -> None:
    """Plot a search: the first objective per trial with its best so far (failed and pruned
    trials marked), and for several objectives the Pareto front of the first two. A
    differentiable search also gets its mixing weights over the steps (OUT-alphas.png).

    \b
    Example: nas plot runs/cnn-mnist1d-20261125-101500 --out search.png
    """
    import matplotlib.pyplot as plt

    st = open_run(run_dir, storage, study)
    if not st.completed():
        raise fail("the study has no completed trial to plot yet")
    fig = draw(st)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120, bbox_inches="tight")  # the legends beside the axes included
    plt.close(fig)
    console.print(f"wrote {out}", highlight=False)
    from cli._darts_plot import plot_alphas

    plot_alphas(run_dir, out)  # a differentiable search's alpha trajectory, beside it


def draw(st):
    """The figure of a study with a completed trial: progress, and the Pareto front when
    it has several objectives."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = st.completed()
    multi = len(st.objectives) > 1
    fig, axes = plt.subplots(1, 2 if multi else 1, figsize=(14 if multi else 8, 4.6))
    axes = list(axes) if multi else [axes]
    _progress(axes[0], st, done)
    if multi:
        _pareto(axes[1], st, done)
    fig.suptitle(_title(st), fontsize=11)
    fig.tight_layout()
    return fig


def _legend_outside(ax) -> None:
    """The legend beside the axes, right of them: it never hides a point."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=8)


def _title(st) -> str:
    cfg = st.config
    what = (f"{cfg['space']} on {cfg['task']} with {cfg.get('strategy', '?')}" if "space" in cfg
            else f"study '{st.name}'")
    counts = Counter(STATES.get(r.state, r.state.lower()) for r in st.trials())
    states = ", ".join(f"{n} {s}" for s, n in counts.most_common())
    return f"{what}: {sum(counts.values())} trials ({states})"


def _progress(ax, st, done) -> None:
    """The first objective per trial, its best so far, failed and pruned trials on the floor."""
    from matplotlib.ticker import MaxNLocator
    from matplotlib.transforms import blended_transform_factory

    first = Objective.of(st.objectives[0])
    xs = [r.number for r in done]
    ys = [r.values[0] for r in done]
    curve = [max(ys[: i + 1], key=first.signed) for i in range(len(ys))]
    ax.scatter(xs, ys, s=16, alpha=0.6, label="trial")
    ax.step(xs, curve, where="post", color="C3", lw=1.6, label=f"best so far ({curve[-1]:.4g})")
    floor = blended_transform_factory(ax.transData, ax.transAxes)  # x: trial, y: the floor
    for state, marker, colour in (("FAIL", "x", "C3"), ("PRUNED", "v", "0.5")):
        bad = [r.number for r in st.trials((state,))]
        if bad:
            ax.scatter(bad, [0.03] * len(bad), marker=marker, color=colour, s=24,
                       transform=floor, label=f"{STATES[state]} ({len(bad)}, "
                       f"{'no score' if state == 'FAIL' else 'stopped early'})")
    numbers = [r.number for r in st.trials()]  # a floor marker does not widen the axis:
    ax.set_xlim(min(numbers) - 0.5, max(numbers) + 0.5)  # every trial is on it
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(first.label)
    ax.grid(alpha=0.3)
    _legend_outside(ax)


def _pareto(ax, st, done) -> None:
    """All trials on the first two objectives, the front as a staircase, its trials named."""
    from matplotlib.ticker import EngFormatter, LogLocator, NullFormatter

    o1, o2 = (Objective.of(o) for o in st.objectives[:2])
    n1, n2 = o1.name, o2.name
    front = sorted(st.pareto_front(), key=lambda r: r.values[1])
    xs, ys = [r.values[1] for r in done], [r.values[0] for r in done]
    ax.scatter(xs, ys, s=16, alpha=0.4, label="trial")
    fx, fy = [r.values[1] for r in front], [r.values[0] for r in front]
    ax.plot(fx, fy, "o", color="C3", ms=6, label=f"Pareto front ({len(front)})")
    ax.plot(fx, fy, color="C3", lw=1.2, drawstyle="steps-post" if o2.sign < 0 else "steps-pre")
    for r in front:
        ax.annotate(f"#{r.number}", (r.values[1], r.values[0]), textcoords="offset points",
                    xytext=(4, 4), fontsize=7, color="C3")
    if min(xs) > 0 and max(xs) / min(xs) > 30:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))  # 2k, 5k, 10k, 20k
        ax.xaxis.set_minor_formatter(NullFormatter())
    if max(map(abs, xs)) >= 1e4:
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))  # 20k, 1.5M
    more = f" (first two of {len(st.objectives)} objectives)" if len(st.objectives) > 2 else ""
    ax.set_title(f"{n1} vs {n2}{more}", fontsize=10)
    ax.set_xlabel(o2.label)
    ax.set_ylabel(o1.label)
    ax.grid(alpha=0.3)
    _legend_outside(ax)


def dashboard_cmd(
    run_dir: Path = typer.Argument(None, help="A run folder (or use --storage)."),
    storage: str = STORAGE_OPTION,
    port: int = typer.Option(8080, "--port", help="Port on 127.0.0.1."),
) -> None:
    """Serve the study in optuna-dashboard on 127.0.0.1 (optional extra: dashboard).

    \b
    Example: nas dashboard runs/cnn-mnist1d-20261125-101500 --port 8080
    """
    from nas import StorageError, open_storage
    from nas.storage import JOURNAL

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
        st = open_storage(storage, run_dir, create=False)
    except StorageError as exc:
        raise fail(str(exc)) from None
    warn_journal(st)
    console.print(f"optuna-dashboard on http://127.0.0.1:{port} (Ctrl-C to stop)")
    optuna_dashboard.run_server(st, host="127.0.0.1", port=port)
