"""Fault injection: the smaller things of issue 16, section 9.

`nas resume` forgot the run's --workers; progress lines after a resume showed a best
that ignored earlier trials; `nas search ... | head -2` stopped the search; an untrained
export's metrics.json carried the search's accuracy as if trained and nas.load did not
warn.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

import nas
from cli.main import app
from nas import open_storage

PLUGINS = str(Path(__file__).resolve().parents[1] / "plugins")
sys.path.insert(0, PLUGINS)
os.environ["NAS_PLUGINS"] = "fake_task"
import fake_task  # noqa: E402,F401  (registers the "fake" task in this process)

runner = CliRunner()
FAKE = ["--space", "mlp", "--task", "fake", "--keep-weights", "0"]


def _study(run):
    return nas.Study.load(open_storage(None, run))


@pytest.mark.slow  # two rounds of worker processes
def test_resume_uses_the_runs_workers(tmp_path):
    run = tmp_path / "run"
    res = runner.invoke(app, ["search", *FAKE, "--trials", "2", "--workers", "2",
                              "--run-dir", str(run)])
    assert res.exit_code == 0, res.output
    assert _study(run).config["workers"] == 2
    res = runner.invoke(app, ["resume", str(run), "--trials", "4"])
    assert res.exit_code == 0, res.output
    assert "workers 2" in " ".join(res.output.split())
    later = [t for t in _study(run).trials() if t.number >= 2]
    assert {t.attrs["worker"]["index"] for t in later} == {0, 1}
    # an explicit --workers still wins
    res = runner.invoke(app, ["resume", str(run), "--trials", "5", "--workers", "1"])
    assert res.exit_code == 0, res.output
    assert "workers 1" in " ".join(res.output.split())


def test_progress_after_a_resume_counts_earlier_trials_in_best(tmp_path):
    run = tmp_path / "run"
    res = runner.invoke(app, ["search", *FAKE, "--trials", "4", "--run-dir", str(run)])
    assert res.exit_code == 0, res.output
    before = max(t.values[0] for t in _study(run).completed())
    res = runner.invoke(app, ["resume", str(run), "--trials", "6"])
    assert res.exit_code == 0, res.output
    values = {t.number: t.values[0] for t in _study(run).completed()}
    assert max(values[4], values[5]) < before  # else this case tests nothing
    lines = [ln for ln in res.output.splitlines() if re.match(r"\[\d+/6\] trial", ln)]
    assert len(lines) == 2
    for ln in lines:
        shown = float(re.search(r"best ([0-9.e+-]+)", ln).group(1))
        assert shown == pytest.approx(before, rel=1e-3), ln


def test_a_closed_stdout_pipe_does_not_stop_the_search(tmp_path):
    """`nas search ... | head -2`: the reader goes away after two lines; the search keeps
    going, prints nothing more, stores every trial and exits 0 without a traceback."""
    run = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([PLUGINS, os.environ.get("PYTHONPATH",
                                                                                 "")]),
               NAS_PLUGINS="fake_task", NAS_FAKE_DELAY="0.2")
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "search", *FAKE, "--trials",
                             "6", "--run-dir", str(run)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    for _ in range(2):
        proc.stdout.readline()
    proc.stdout.close()  # as `head -2` does
    _, err = proc.communicate(timeout=300)
    err = err.decode()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    st = _study(run)
    assert len(st.completed()) == 6 and not st.trials(("RUNNING",))


def test_an_untrained_export_says_so_and_load_warns(tmp_path):
    run = tmp_path / "run"
    res = runner.invoke(app, ["search", *FAKE, "--trials", "2", "--run-dir", str(run)])
    assert res.exit_code == 0, res.output
    out = tmp_path / "export"
    res = runner.invoke(app, ["export", str(run), "--out", str(out)])  # fake keeps no weights
    assert res.exit_code == 0, res.output
    best = _study(run).best
    record = json.loads((out / "metrics.json").read_text())
    assert record["trained"] is False
    assert "val_acc" not in record  # not as if these weights scored it
    assert record["search_metrics"]["val_acc"] == pytest.approx(best.values[0])
    with pytest.warns(UserWarning, match="untrained.*nas train"):
        nas.load(out)
    assert "untrained" in (out / "README.md").read_text()
    res = runner.invoke(app, ["show", str(out)])
    assert res.exit_code == 0 and "untrained" in res.output


def test_a_trained_export_says_so_and_loads_quietly(tmp_path):
    graph = nas.get_space("mlp").build(nas.get_space("mlp").sample(0))
    module = nas.compile_graph(graph)
    out = nas.export(graph, tmp_path / "e", state_dict=module.state_dict(),
                     metrics={"val_acc": 0.5})
    record = json.loads((out / "metrics.json").read_text())
    assert record == {"trained": True, "val_acc": 0.5}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nas.load(out)
