"""`nas train --from-inherited`: training starts from the weights the search kept for the
trial, or from an export folder's own weights (checked on the module the loop builds,
and after one step the exported weights are still within one optimizer step of them,
unlike a fresh start); a trial without kept weights, an export folder without a
weights file, or an architecture file alone is a clear error."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

import nas
from cli._export import _pick
from cli._inherited import inherited_graph
from cli.main import app
from evaluators.loop import build_model

runner = CliRunner()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    nas.search("mlp", "mnist1d", trials=3, budget="15steps", seed=0, run_dir=run,
               keep_weights=1, progress=False)
    return run


def _saved(run_dir):
    st = nas.Study.load(nas.open_storage(None, run_dir))
    best = st.ranked()[0]
    return best, torch.load(run_dir / "weights" / f"trial_{best.number}.pt",
                            weights_only=True)


def test_the_loop_builds_the_trial_with_its_kept_weights(run_dir):
    best, saved = _saved(run_dir)
    graph = inherited_graph(run_dir, None, _pick)
    assert graph.fingerprint() == best.graph.fingerprint()
    state = build_model(graph, seed=7).state_dict()
    assert state.keys() == saved.keys()
    assert all(torch.equal(state[k], saved[k]) for k in saved)


def test_one_step_of_fine_tuning_stays_near_the_kept_weights(run_dir, tmp_path):
    _, saved = _saved(run_dir)
    moved = _moved_by_one_step(run_dir, saved, tmp_path, [])
    assert moved["--from-inherited"] < 0.05 < moved[None]


def _moved_by_one_step(source, start: dict, tmp_path, extra: list[str]) -> dict:
    """The largest change of any weight from ``start`` after `nas train SOURCE --steps 1`,
    with and without ``--from-inherited`` (keys: the flag, None)."""
    moved = {}
    for flag in ("--from-inherited", None):
        out = tmp_path / f"moved{flag}"
        res = runner.invoke(app, ["train", str(source), "--steps", "1", "--device", "cpu",
                                  "--out", str(out), *extra] + ([flag] if flag else []))
        assert res.exit_code == 0, res.output
        trained = torch.load(out / "weights.pt", weights_only=True)
        moved[flag] = max((trained[k].float() - start[k].float()).abs().max().item()
                          for k in start if start[k].is_floating_point())
    return moved


def test_without_kept_weights_or_a_run_folder_it_says_so(run_dir, tmp_path):
    st = nas.Study.load(nas.open_storage(None, run_dir))
    worst = st.ranked()[-1]
    res = runner.invoke(app, ["train", str(run_dir), "--trial", str(worst.number),
                              "--from-inherited", "--steps", "1"])
    assert res.exit_code != 0 and "no trained weights kept" in " ".join(res.output.split())
    arch = tmp_path / "arch.json"
    arch.write_text(worst.graph.to_json())
    res = runner.invoke(app, ["train", str(arch), "--from-inherited", "--steps", "1"])
    assert res.exit_code != 0 and "needs a run folder" in " ".join(res.output.split())


def test_an_export_folder_fine_tunes_from_its_own_weights(run_dir, tmp_path):
    first = tmp_path / "first"
    res = runner.invoke(app, ["train", str(run_dir), "--steps", "3", "--device", "cpu",
                              "--out", str(first)])
    assert res.exit_code == 0, res.output
    exported = torch.load(first / "weights.pt", weights_only=True)
    graph = inherited_graph(first, None, _pick)  # the export folder, not the run
    state = build_model(graph, seed=7).state_dict()
    assert all(torch.equal(state[k], exported[k]) for k in exported)
    # seed 1: a fresh start is not the first's (seed 0)
    moved = _moved_by_one_step(first, exported, tmp_path, ["--seed", "1"])
    assert moved["--from-inherited"] < 0.05 < moved[None]


def test_an_export_folder_without_weights_says_what_to_do(run_dir, tmp_path):
    first = tmp_path / "first"
    assert runner.invoke(app, ["train", str(run_dir), "--steps", "1", "--device", "cpu",
                               "--out", str(first)]).exit_code == 0
    (first / "weights.pt").unlink()
    res = runner.invoke(app, ["train", str(first), "--from-inherited", "--steps", "1"])
    text = " ".join(res.output.split())
    assert res.exit_code != 0 and "has no weights file" in text
    assert "without --from-inherited" in text
