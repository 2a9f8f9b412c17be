"""`nas status`, `nas plot` and `nas train` stay readable: 80 columns, failures explained,
fronts drawn, training progress shown."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import nas
from cli._leaderboard import compact
from cli.main import app

PLUGINS = str(Path(__file__).resolve().parents[1] / "plugins")
sys.path.insert(0, PLUGINS)
import fake_task  # noqa: E402,F401  (registers the "fake" task: a score per architecture)

runner = CliRunner()


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """A single- and a two-objective run of the fake task, some trials failing."""
    base = tmp_path_factory.mktemp("runs")
    os.environ["NAS_FAKE_FAIL_PREFIX"] = "1"  # about one architecture in 16 fails
    try:
        nas.search("cnn", "fake", trials=24, run_dir=base / "single", seed=0)
        nas.search("cnn", "fake", trials=24, run_dir=base / "multi", seed=1,
                   objectives=[("val_acc", "max"), ("params", "min")])
    finally:
        del os.environ["NAS_FAKE_FAIL_PREFIX"]
    return {"single": base / "single", "multi": base / "multi"}


def _status(run: Path, width: int):
    return runner.invoke(app, ["status", str(run)], terminal_width=width,
                         env={"COLUMNS": str(width)})


def test_status_fits_80_columns_and_lists_the_best_decisions(runs):
    res = _status(runs["single"], 80)
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    st = nas.Study.load(nas.open_storage(None, runs["single"]))
    done = st.completed()
    failed = st.trials(("FAIL",))
    text = " ".join(res.output.split())
    assert text.startswith(f"study 'search' (cnn on fake, evolution): 24 trials of 24 "
                           f"finished ({len(done)} ok")
    assert failed, "the fixture's runs have failed trials (fake task, NAS_FAKE_FAIL_PREFIX)"
    assert f"{len(failed)} failed)" in text
    best = st.best
    assert f"#{best.number}: " in text
    first = sorted(best.decisions)[0]
    assert f"{first}={best.decisions[first]}" in text
    assert "COMPLE…" not in res.output  # states are short words, never cut


def test_wide_status_puts_decisions_in_the_table(runs):
    res = _status(runs["single"], 200)
    assert res.exit_code == 0
    header = next(line for line in res.output.splitlines() if "state" in line)
    assert "decisions" in header and "decisions of the best" not in res.output


def test_status_csv_still_has_every_trial(runs):
    res = runner.invoke(app, ["status", str(runs["multi"]), "--format", "csv"])
    assert res.exit_code == 0
    assert len(res.output.strip().splitlines()) == 1 + 24
    rows = json.loads(runner.invoke(app, ["status", str(runs["multi"]), "--format",
                                          "json"]).output)
    assert {r["state"] for r in rows} <= {"COMPLETE", "FAIL"}


@pytest.mark.parametrize("which", ["single", "multi"])
def test_plot_writes_a_picture(runs, tmp_path, which):
    import matplotlib.image

    out = tmp_path / f"{which}.png"
    res = runner.invoke(app, ["plot", str(runs[which]), "--out", str(out)])
    assert res.exit_code == 0, res.output
    pixels = matplotlib.image.imread(out)
    assert pixels.shape[1] > pixels.shape[0] * (2 if which == "multi" else 1.2)
    assert pixels.std() > 0.05


def test_plot_svg_explains_failures_and_names_the_front(runs, tmp_path):
    import matplotlib

    out = tmp_path / "multi.svg"
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        assert runner.invoke(app, ["plot", str(runs["multi"]), "--out", str(out)]).exit_code == 0
    text = out.read_text()
    st = nas.Study.load(nas.open_storage(None, runs["multi"]))
    front = st.pareto_front()
    assert f"Pareto front ({len(front)})" in text
    for r in front:
        assert f"#{r.number}<" in text
    assert "cnn on fake with evolution: 24 trials" in text
    failed = st.trials(("FAIL",))
    assert failed, "the fixture's runs have failed trials (fake task, NAS_FAKE_FAIL_PREFIX)"
    assert f"failed ({len(failed)}, no score)" in text
    assert "lower is better" in text and "higher is better" in text


def test_compact_numbers():
    assert [compact(v) for v in (950, 12_345, 2_371_200, 3.2e9)] == ["950", "12.3k", "2.37M",
                                                                   "3.2G"]


def test_train_progress_follows_the_reports_and_never_stops_training():
    from cli._export import _metrics_line, _TrainProgress

    progress = _TrainProgress(nas.Budget.parse("300steps"), "val_acc")
    with progress as report:
        assert report(100, 0.5) is False
        assert report(200, 0.75) is False
    task = progress.bar.tasks[0]
    assert (task.completed, task.total) == (200, 300)
    assert task.fields["score"] == "val_acc 0.75"
    line = _metrics_line({"val_loss": 0.2, "val_acc": 0.9, "params": 41514.0, "device": "cpu",
                          "train_time_s": 12.345}, "val_acc")
    assert line == "val_acc 0.9, val_loss 0.2, params 41,514, train_time_s 12.3"
