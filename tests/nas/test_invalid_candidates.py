"""Fault injection: candidates that build no valid architecture (issue 16, section 2).

A space whose decisions sometimes describe an invalid graph (a conv1d without padding
whose kernel choice 99 exceeds the input length 40) once stopped the search with exit 2
at the first such candidate, and a resume could never get past it. Such a candidate is a
failed trial with its reason now; only a space that builds nothing is a usage error.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

import pytest

import nas
from nas import Study, open_storage, search
from nas.space import is_invalid
from nas.strategies import list_strategies

PLUGINS = str(Path(__file__).resolve().parents[1] / "plugins")
sys.path.insert(0, PLUGINS)
import fake_task  # noqa: E402,F401  (registers the "fake" task in this process)
from cli_helpers import nas_cli  # noqa: E402

SPACES = textwrap.dedent('''
    def sometimes(b, in_shape, n_out):
        """Half of the kernels are longer than the input (40): invalid without padding."""
        x = b.input(in_shape)
        kernel = b.choice("kernel", [3, 5, 99, 199])
        x = b.op("conv1d", x, channels=b.choice("channels", [4, 8, 16]), kernel=kernel,
                 padding=0)
        return b.output(b.op("linear", b.op("flatten", x), features=n_out))

    def never(b, in_shape, n_out):
        x = b.input(in_shape)
        x = b.op("conv1d", x, channels=4, kernel=b.choice("kernel", [98, 99]), padding=0)
        return b.output(b.op("linear", b.op("flatten", x), features=n_out))
''')
TOO_SMALL = "too small for kernel"


@pytest.fixture
def space_file(tmp_path):
    path = tmp_path / "spaces.py"
    path.write_text(SPACES)
    return path




def _trials(run_dir) -> list[dict]:
    res = nas_cli("status", str(run_dir), "--format", "json")
    assert res.returncode == 0, res.stdout + res.stderr
    return json.loads(res.stdout)


def test_space_api_reports_an_invalid_candidate_instead_of_raising(space_file):
    space = nas.get_space(f"{space_file}:sometimes", in_shape=(1, 40), n_out=10)
    graph, decisions, error = space.try_resolve({"kernel": 99, "channels": 8})
    assert graph is None and decisions == {"kernel": 99, "channels": 8}
    assert isinstance(error, nas.GraphError) and TOO_SMALL in str(error)
    with pytest.raises(nas.GraphError, match=TOO_SMALL):  # resolve and build still raise
        space.build({"kernel": 99, "channels": 8})
    fp, _ = space.identify({"kernel": 99, "channels": 8}, allow_invalid=True)
    assert is_invalid(fp) and fp == space.identify({"channels": 8, "kernel": 99},
                                                   allow_invalid=True)[0]
    assert space.build(space.sample_valid(0))  # skips invalid samples
    assert space.describe()["size"] == 12  # decision sets, invalid leaves included
    never = nas.get_space(f"{space_file}:never", in_shape=(1, 40), n_out=10)
    with pytest.raises(nas.SpaceError, match=re.escape(f"'{space_file}:never'") + ".*no valid"):
        never.sample_valid(0)


@pytest.mark.parametrize("strategy", list_strategies())
def test_every_strategy_searches_past_invalid_candidates(space_file, strategy):
    st = search(f"{space_file}:sometimes", "fake", strategy=strategy, trials=8, seed=0)
    trials = st.trials()
    assert len(trials) == 8 and st.best is not None
    for t in trials:
        if t.state == "FAIL":  # the reason, and the decisions reached
            assert t.error.startswith("invalid architecture:") and TOO_SMALL in t.error
            assert t.decisions["kernel"] in (99, 199) and is_invalid(t.fingerprint)
        else:
            assert t.state == "COMPLETE" and t.decisions["kernel"] in (3, 5)


@pytest.mark.slow
def test_cli_search_and_resume_get_past_invalid_candidates(space_file, tmp_path):
    run = tmp_path / "run"
    res = nas_cli("search", "--space", f"{space_file}:sometimes", "--task", "fake",
                  "--strategy", "random", "--trials", "8", "--run-dir", str(run))
    assert res.returncode == 0, res.stdout + res.stderr
    trials = _trials(run)
    failed = [t for t in trials if t["state"] == "FAIL"]
    assert len(trials) == 8 and failed and len(failed) < 8
    assert all(TOO_SMALL in t["error"] and t["decisions"]["kernel"] >= 99 for t in failed)
    res = nas_cli("resume", str(run), "--trials", "11")
    assert res.returncode == 0, res.stdout + res.stderr
    again = _trials(run)
    assert len(again) == 11 and again[:8] == trials  # nothing lost, nothing rewritten


def test_a_space_that_never_builds_is_a_usage_error(space_file, tmp_path):
    run = tmp_path / "run"
    res = nas_cli("search", "--space", f"{space_file}:never", "--task", "fake",
                  "--trials", "3", "--run-dir", str(run))
    out = " ".join((res.stdout + res.stderr).split())
    assert res.returncode == 2 and "Traceback" not in out
    assert f"space '{space_file}:never'" in out and "no valid architecture" in out
    assert TOO_SMALL in out
    assert not run.exists()  # refused before any study was made


def test_a_worker_stops_when_the_space_builds_nothing_valid(space_file, tmp_path):
    """The Python API has no up-front check: the worker stops after 20 invalid in a row."""
    with pytest.raises(nas.SpaceError, match=re.escape(f"space '{space_file}:never' gave 20 "
                                                       "invalid") + f".*no valid.*{TOO_SMALL}"):
        search(f"{space_file}:never", "fake", strategy="random", trials=50, run_dir=tmp_path)
    trials = Study.load(open_storage(None, tmp_path)).trials()
    assert len(trials) == 20 and all(t.state == "FAIL" for t in trials)
