"""`nas search --from FILE.py:build --max-params N`: the cap reaches the model's
GraphSpace (every trial at most N parameters, counted by compiling its graph; the cap in
its lineage and in the stored run settings); bad values exit non-zero naming the flag."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from nas import Study, compile_graph, open_storage

GROW = str(Path(__file__).resolve().parents[2] / "examples" / "grow.py")  # 5,210 params


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.filterwarnings("ignore:.*holds untrained weights")  # the fake task trains none
def test_the_cap_reaches_the_space(tmp_path):
    run = tmp_path / "run"
    out = invoke("search", "--from", f"{GROW}:build", "--max-params", 5300,
                 "--edits", "widen,deepen,narrow", "--task", "fake", "--trials", 6,
                 "--run-dir", run)
    assert out.exit_code == 0, out.output
    st = Study.load(open_storage(None, run))
    assert st.config["space_config"]["max_params"] == 5300
    trials = st.completed()
    assert len(trials) == 6
    for t in trials:
        graph = t.graph
        assert sum(p.numel() for p in compile_graph(graph).parameters()) <= 5300
        assert t.attrs["lineage"]["max_params"] == 5300


@pytest.mark.parametrize("bad", ["0", "-5", "many"])
def test_a_bad_cap_exits_naming_the_flag(tmp_path, bad):
    out = invoke("search", "--from", f"{GROW}:build", "--max-params", bad, "--task", "fake",
                 "--trials", 1, "--run-dir", tmp_path / "run")
    assert out.exit_code != 0
    assert "--max-params" in out.output


def test_a_seed_over_the_cap_exits_2_naming_both_numbers(tmp_path):
    out = invoke("search", "--from", f"{GROW}:build", "--max-params", 5000, "--task",
                 "fake", "--trials", 1, "--run-dir", tmp_path / "run")
    assert out.exit_code == 2
    text = " ".join(out.output.split())
    assert "5,210 parameters, above max_params=5,000" in text and "--max-params" in text


def test_the_cap_goes_with_from(tmp_path):
    out = invoke("search", "--max-params", 5000, "--task", "fake", "--run-dir", tmp_path)
    assert out.exit_code == 2 and "--max-params goes with --from" in out.output
