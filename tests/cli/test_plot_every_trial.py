"""`nas plot` shows every trial: failed ones on the axis (also before the first that
completed), and legends beside the axes, never over a point."""

from __future__ import annotations

import matplotlib
import pytest
from study_helpers import hand_study
from typer.testing import CliRunner

import nas
from cli._plot import draw
from cli.main import app

matplotlib.use("Agg")



def _offsets(ax, label_start: str):
    (found,) = [c for c in ax.collections if c.get_label().startswith(label_start)]
    return [float(x) for x, _ in found.get_offsets()]


def test_failed_first_trials_are_each_on_the_axis():
    st = hand_study([None, None, None, None, (0.5,), (0.7,), None, (0.6,)])
    fig = draw(st)
    ax = fig.axes[0]
    assert _offsets(ax, "failed") == [0, 1, 2, 3, 6]  # one marker per failed trial
    assert _offsets(ax, "trial") == [4, 5, 7]
    lo, hi = ax.get_xlim()
    assert lo < 0 and hi > 7  # trial 0 to trial 7 all inside the axis
    assert all(t == int(t) for t in ax.get_xticks())  # trials are numbered with integers
    assert "failed (5, no score)" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_legends_are_beside_the_axes():
    st = hand_study([(0.9, 5000.0), (0.5, 100.0), (0.7, 300.0), (0.6, 400.0), (0.95, 90000.0)],
                (("val_acc", "max"), ("params", "min")))
    fig = draw(st)
    fig.canvas.draw()
    for ax in fig.axes:
        legend = ax.get_legend().get_window_extent()
        assert legend.x0 >= ax.get_window_extent().x1  # right of the plotting area
    (front,) = [line for line in fig.axes[1].get_lines()
                if line.get_label().startswith("Pareto front")]
    # by hand: (0.6, 400) is dominated by (0.7, 300); the other four are the front
    assert list(front.get_xdata()) == [100.0, 300.0, 5000.0, 90000.0]
    assert front.get_label() == "Pareto front (4)"


def test_the_plot_command_writes_the_picture(tmp_path):
    import fake_task  # noqa: F401  (tests/plugins: the "fake" task)

    nas.search("mlp", "fake", trials=2, run_dir=tmp_path / "r", progress=False)
    res = CliRunner().invoke(app, ["plot", str(tmp_path / "r"), "--out",
                                   str(tmp_path / "p.png")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "p.png").read_bytes().startswith(b"\x89PNG")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
