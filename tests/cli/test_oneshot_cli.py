"""`nas search --one-shot`, `nas status` and `nas resume` of a one-shot run, end to end in
a subprocess on the fake one-shot task (tests/plugins/fake_oneshot.py), and its errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import nas

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))
from cli_helpers import nas_cli  # noqa: E402
from fake_oneshot import one_shot, standalone  # noqa: E402

ENV = {"NAS_PLUGINS": "fake_task,fake_oneshot", "NAS_FAKE_SUPERNET": "1"}


def run(*args, check=False):
    return nas_cli(*args, env=ENV, check=check)


def _json(run_dir) -> list[dict]:
    return json.loads(run("status", str(run_dir), "--format", "json", check=True).stdout)


@pytest.mark.slow  # four CLI runs
def test_one_shot_search_status_and_resume(tmp_path):
    r = tmp_path / "run"
    res = run("search", "--space", "mlp", "--task", "fake_oneshot", "--strategy", "random",
              "--one-shot", "--one-shot-candidates", "6", "--run-dir", str(r), check=True)
    assert "one-shot: supernet 4000steps (slice, uniform), 6 candidates scored, then the " \
           "top 3 trained stand-alone" in res.stdout
    assert "scored 6 candidates with inherited weights" in res.stdout
    assert (r / "oneshot" / "supernet.pt").is_file()
    trials = _json(r)
    assert len(trials) == 3  # --trials defaults to 3 with --one-shot
    ones = [t["metrics"]["one_shot_val_acc"] for t in trials]
    assert ones == sorted(ones, reverse=True)  # retrained best first
    for t in trials:
        assert t["metrics"]["one_shot_val_acc"] == pytest.approx(one_shot(t["fingerprint"]))
        assert t["values"][0] == pytest.approx(standalone(t["fingerprint"]))
    status = run("status", str(r), check=True).stdout
    assert "one-shot phase: done, retrained 3/3 (scored 6 candidates" in status
    assert "inherited weights); supernet: 3 steps" in status  # the fake trains 3 steps
    assert "best by one-shot val_acc" in status and "(trial 0)" in status
    res = run("resume", str(r), "--trials", "4", check=True)
    assert "with inherited weights" not in res.stdout  # phases 1 and 2 are not run again
    trials = _json(r)
    assert len(trials) == 4 and trials[3]["metrics"]["one_shot_val_acc"] < ones[-1]
    assert "retrained 4/4" in run("status", str(r), check=True).stdout


@pytest.mark.slow
def test_one_shot_from_a_config_file(tmp_path):
    cfg = tmp_path / "search.yaml"
    cfg.write_text("space: mlp\ntask: fake_oneshot\nstrategy: random\n"
                   "one_shot:\n  candidates: 4\n  sampling: fair\n")
    run("search", "--config", str(cfg), "--trials", "2", "--run-dir", str(tmp_path / "r"),
        "--one-shot-rescale", "--one-shot-finetune", "3", "--one-shot-distinct", "0.3",
        check=True)
    trials = _json(tmp_path / "r")
    assert len(trials) == 2 and all("one_shot_val_acc" in t["metrics"] for t in trials)
    stored = nas.Study.load(nas.open_storage(None, tmp_path / "r")).config["one_shot"]
    assert (stored["candidates"], stored["rescale"], stored["finetune"], stored["distinct"]) \
        == (4, True, 3, 0.3)


@pytest.mark.parametrize("args, message", [
    (["--task", "fake", "--one-shot"], "task 'fake' cannot be searched one-shot"),
    (["--task", "fake_oneshot", "--one-shot-candidates", "5"],
     "--one-shot-candidates is for a one-shot search: add --one-shot"),
    (["--task", "fake_oneshot", "--one-shot", "--one-shot-rule", "share"],
     "--one-shot-rule must be one of identity, slice"),
    (["--task", "fake_oneshot", "--one-shot", "--one-shot-budget", "lots"],
     "--one-shot-budget"),
    (["--task", "fake_oneshot", "--one-shot", "--one-shot-norms", "own"],
     "--one-shot-norms must be one of shared, per_width"),
    (["--task", "fake_oneshot", "--one-shot-finetune", "20"],
     "--one-shot-finetune is for a one-shot search: add --one-shot"),
    (["--task", "fake_oneshot", "--no-one-shot-rescale"],
     "--one-shot-rescale is for a one-shot search: add --one-shot"),
    (["--task", "fake_oneshot", "--one-shot", "--one-shot-lr", "0"],
     "--one-shot-lr must be a positive learning rate"),
    (["--task", "fake_oneshot", "--one-shot", "--one-shot-lr", "0.003"],
     "cannot train its supernet at another learning rate"),
    (["--task", "fake_oneshot", "--one-shot", "--one-shot-distinct", "1"],
     "Invalid value for '--one-shot-distinct'"),
    (["--task", "fake_oneshot", "--one-shot", "--one-shot-candidates", "5", "--trials", "6"],
     "must be <= the 5 candidates scored"),
])
def test_one_shot_errors_exit_2_naming_what_to_change(tmp_path, args, message):
    res = run("search", "--space", "mlp", *args, "--run-dir", str(tmp_path / "r"))
    assert res.returncode == 2, res.stdout + res.stderr
    assert message in res.stderr
    assert not (tmp_path / "r" / "oneshot").exists()
