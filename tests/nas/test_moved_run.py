"""Fault injection: a run folder that was moved or copied (issue 16, section 4).

The study used to store the kept weights' folder as an absolute path, so after
`mv run moved` export said the search kept no weights while moved/weights held them.
"""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from typer.testing import CliRunner

import nas
from cli.main import app
from nas import open_storage

runner = CliRunner()


def _flat(res) -> str:
    return " ".join(res.output.split())


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    """A finished CLI search that kept the weights of its best two trials, moved away
    from the folder it ran in (nothing is left there)."""
    base = tmp_path_factory.mktemp("orig")
    res = runner.invoke(app, ["search", "--space", "mlp", "--task", "mnist1d", "--trials", "3",
                              "--budget", "15steps", "--keep-weights", "2", "--run-dir",
                              str(base / "ran_here")])
    assert res.exit_code == 0, res.output
    shutil.move(base / "ran_here", base / "run")
    return base / "run"


def _best(run):
    return nas.Study.load(open_storage(None, run)).best


def _moved(original, tmp_path, how: str):
    """A twin of ``original`` under tmp_path, moved (the source is gone) or copied (and
    the source then deleted: nothing may still point at it)."""
    src = tmp_path / "src"
    shutil.copytree(original, src)
    dst = tmp_path / "elsewhere" / "moved"
    dst.parent.mkdir()
    if how == "move":
        shutil.move(src, dst)
    else:
        shutil.copytree(src, dst)
        shutil.rmtree(src)
    return dst


def test_weights_folder_is_stored_relative(original):
    assert not (original.parent / "ran_here").exists()
    config = nas.Study.load(open_storage(None, original)).config
    assert config["weights_dir"] == "weights"


@pytest.mark.parametrize("how", ["move", "copy"])
def test_export_from_the_new_place_uses_the_trained_weights(original, tmp_path, how):
    moved = _moved(original, tmp_path, how)
    best = _best(moved)
    out = tmp_path / "exported"
    res = runner.invoke(app, ["export", str(moved), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "kept no weights" not in _flat(res)
    kept = torch.load(moved / "weights" / f"trial_{best.number}.pt", weights_only=True)
    exported = torch.load(out / "weights.pt", weights_only=True)
    assert kept.keys() == exported.keys()
    assert all(torch.equal(kept[k], exported[k]) for k in kept)
    assert json.loads((out / "metrics.json").read_text()).get("trained", True) is True


def test_train_and_show_from_the_new_place(original, tmp_path):
    moved = _moved(original, tmp_path, "move")
    best = _best(moved)
    res = runner.invoke(app, ["show", str(moved)])
    assert res.exit_code == 0, res.output
    assert f"trial {best.number}" in res.output
    res = runner.invoke(app, ["train", str(moved), "--steps", "5", "--out",
                              str(tmp_path / "t")])
    assert res.exit_code == 0, res.output
    assert f"trial_{best.number}" in _flat(res)


def test_resume_of_a_copy_keeps_its_weights_in_the_copy(original, tmp_path):
    moved = _moved(original, tmp_path, "copy")
    res = runner.invoke(app, ["resume", str(moved), "--trials", "4"])
    assert res.exit_code == 0, res.output
    st = nas.Study.load(open_storage(None, moved))
    assert len(st.completed()) == 4
    ranked = sorted(st.completed(), key=lambda r: -r.values[0])
    kept = sorted(int(p.stem.split("_")[1]) for p in (moved / "weights").glob("trial_*.pt"))
    assert kept == sorted(r.number for r in ranked[:2])
    assert not (tmp_path / "src").exists()  # nothing was written where the run came from


def test_an_old_run_with_an_absolute_weights_path_still_exports_after_a_move(original,
                                                                             tmp_path):
    """Runs made before the fix store the absolute folder; once moved, that path is gone
    and RUN_DIR/weights is read instead."""
    moved = _moved(original, tmp_path, "move")
    st = nas.Study.load(open_storage(None, moved))
    st.set_config({**st.config, "weights_dir": str(tmp_path / "src" / "weights")})
    res = runner.invoke(app, ["export", str(moved), "--out", str(tmp_path / "e")])
    assert res.exit_code == 0, res.output
    assert "kept no weights" not in _flat(res)
    best = _best(moved)
    kept = torch.load(moved / "weights" / f"trial_{best.number}.pt", weights_only=True)
    exported = torch.load(tmp_path / "e" / "weights.pt", weights_only=True)
    assert all(torch.equal(kept[k], exported[k]) for k in kept)


def test_a_worker_on_the_journal_keeps_weights_next_to_it(original, tmp_path, monkeypatch):
    """`nas worker --storage RUN/study.journal` has no run folder: the weights folder is
    relative to the journal's folder, not to the current directory."""
    moved = _moved(original, tmp_path, "move")
    st = nas.Study.load(open_storage(None, moved))
    st.set_config({**st.config, "trials": 5})
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    res = runner.invoke(app, ["worker", "--storage", str(moved / "study.journal"),
                              "--trials", "2"])
    assert res.exit_code == 0, res.output
    assert not (cwd / "weights").exists()
    st = nas.Study.load(open_storage(None, moved))
    ranked = sorted(st.completed(), key=lambda r: -r.values[0])
    kept = sorted(int(p.stem.split("_")[1]) for p in (moved / "weights").glob("trial_*.pt"))
    assert kept == sorted(r.number for r in ranked[:2])


def test_weights_path_resolution(tmp_path):
    from nas.weights import weights_folder

    assert weights_folder(None, tmp_path) is None
    assert weights_folder("weights", tmp_path) == tmp_path / "weights"
    gone = str(tmp_path / "gone" / "weights")
    assert weights_folder(gone, tmp_path / "run") == tmp_path / "run" / "weights"
    (tmp_path / "here").mkdir()
    assert weights_folder(str(tmp_path / "here"), tmp_path / "run") == tmp_path / "here"
