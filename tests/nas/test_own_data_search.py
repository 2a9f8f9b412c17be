"""``nas.search(data=...)``: the data is stored in the run folder (no pickle, a relative
path), so worker processes, ``nas resume`` from elsewhere and ``nas train`` need no
registration; ``space="auto"`` says what it chose and why."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from cli_helpers import nas_cli

import nas
from nas.config import SearchConfig
from nas.settings import ConfigError

TINY = {"trials": 2, "budget": "5steps", "strategy": "random", "device": "cpu"}


def blobs(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(seed).normal(size=(n, 4)).astype(np.float32)
    return x, np.where(x[:, 0] + x[:, 1] > 0, "up", "down")


def test_search_on_arrays_stores_them_in_the_run_folder(tmp_path, capsys):
    x, y = blobs()
    st = nas.search("mlp", data=(x, y), run_dir=tmp_path / "run", **TINY)
    assert st.config["task"] == "arrays" and st.config["data"] == "data.npz"  # relative
    assert "target" not in st.config["task_config"]
    with np.load(tmp_path / "run" / "data.npz", allow_pickle=False) as f:
        assert np.array_equal(f["x"], x) and f["y"].tolist() == y.tolist()
    assert st.finished_count() == 2
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("data: arrays (x, y), 120 samples of (4,); classification "
                            "with 2 classes")


def test_the_stored_config_rebuilds_the_task_in_a_moved_run_folder(tmp_path):
    x, y = blobs()
    task = nas.search("mlp", data=(x, y), run_dir=tmp_path / "run", **TINY)
    moved = tmp_path / "elsewhere" / "run"
    shutil.copytree(tmp_path / "run", moved)
    (tmp_path / "run" / "data.npz").unlink()  # the old folder's file is not used
    from nas.worker import live_config

    config = live_config(SearchConfig.from_dict(task.config), moved)
    rebuilt = config.task_object()
    assert rebuilt.classes.tolist() == ["down", "up"] and sum(rebuilt.splits.sizes) == 120


def test_space_auto_prints_its_choice_and_stores_the_space_chosen(tmp_path, capsys):
    walk = np.random.default_rng(0).normal(size=(150, 32)).cumsum(axis=1)  # a signal
    st = nas.search("auto", data=(walk, (walk[:, -1] > 0).astype(int)),
                    run_dir=tmp_path / "run", **{**TINY, "trials": 1})
    assert st.config["space"] == "sequence"
    out = capsys.readouterr().out
    assert "space: sequence (auto: 32 ordered columns" in out


def test_space_auto_on_a_task_that_cannot_choose_names_the_setting():
    with pytest.raises(ConfigError, match="space 'auto' needs a task") as info:
        nas.search("auto", task="mnist1d", **TINY)
    assert info.value.key == "space"


def test_a_dataframe_needs_its_target_and_bad_data_fails_before_training(tmp_path):
    import pandas as pd

    x, y = blobs()
    df = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "label": y})
    with pytest.raises(ConfigError, match="did you mean label"):
        nas.search("mlp", data=df, target="lable", run_dir=tmp_path / "run", **TINY)
    with pytest.raises(ConfigError, match="NaN"):
        nas.search("mlp", data=(np.full((20, 2), np.nan), y[:20]), **TINY)
    assert not (tmp_path / "run" / "study.journal").exists()  # nothing stored, no trial
    st = nas.search("mlp", data=df, target="label", run_dir=tmp_path / "run", **TINY)
    assert st.finished_count() == 2


def test_other_data_in_the_same_run_folder_is_refused(tmp_path):
    x, y = blobs()
    nas.search("mlp", data=(x, y), run_dir=tmp_path / "run", **TINY)
    again = nas.search("mlp", data=(x, y), run_dir=tmp_path / "run", **{**TINY, "trials": 3})
    assert again.finished_count() == 3  # the same data: the search continues
    with pytest.raises(ConfigError, match="holds a search on other data"):
        nas.search("mlp", data=blobs(seed=1), run_dir=tmp_path / "run", **TINY)


def test_bad_settings_leave_no_data_behind(tmp_path):
    with pytest.raises(ConfigError) as info:
        nas.search("mlp", data=blobs(), run_dir=tmp_path / "run", **{**TINY, "trials": 0})
    assert info.value.key == "trials" and not (tmp_path / "run" / "data.npz").exists()
    with pytest.raises(ConfigError, match="needs run_dir"):
        nas.search("mlp", data=blobs(), storage="postgresql://u:pw@nowhere/db", **TINY)


def test_in_memory_search_needs_no_folder():
    x, y = blobs()
    st = nas.search("mlp", data=(x, y), **TINY)
    assert st.config["data"] is None and st.finished_count() == 2


@pytest.mark.slow
def test_worker_processes_and_nas_resume_and_train_read_the_stored_data(tmp_path):
    """Two spawned workers, then ``nas resume`` and ``nas train`` run from another folder:
    none of them is given the data or registers anything."""
    script = tmp_path / "search.py"
    script.write_text(textwrap.dedent("""
        import numpy as np
        import nas

        if __name__ == "__main__":
            x = np.random.default_rng(0).normal(size=(120, 4)).astype("float32")
            nas.search("mlp", data=(x, (x[:, 0] > 0).astype(int)), run_dir="run",
                       trials=2, workers=2, budget="5steps", strategy="random",
                       device="cpu")
        """))
    subprocess.run([sys.executable, str(script)], cwd=tmp_path, check=True, timeout=300)
    run = tmp_path / "run"
    nas_cli("resume", str(run), "--trials", "3", "--workers", "1", check=True)
    st = nas.Study.load(nas.open_storage(None, run))
    assert st.finished_count() == 3 and all(r.result.ok for r in st.trials())
    res = nas_cli("train", str(run), "--steps", "5", "--out", str(tmp_path / "trained"),
                  check=True)
    assert "test_acc" in res.stdout


@pytest.mark.slow
def test_the_cli_searches_an_npz_file_with_space_auto(tmp_path):
    walk = np.random.default_rng(0).normal(size=(120, 20)).cumsum(axis=1)
    np.savez(tmp_path / "d.npz", x=walk, y=walk[:, -1] > 0)
    res = nas_cli("search", "--task", f"arrays:{tmp_path / 'd.npz'}", "--space", "auto",
                  "--trials", "1", "--budget", "5steps", "--run-dir", str(tmp_path / "run"),
                  "--device", "cpu", check=True)
    assert "120 samples of (20,); classification with 2 classes" in res.stdout
    assert "space sequence chosen from the data: 20 ordered columns" in res.stdout


def test_the_first_line_says_regression_for_float_targets(capsys):
    x, _ = blobs()
    nas.search("mlp", data=(x, 3.0 * x[:, 0]), **{**TINY, "trials": 1})
    first = capsys.readouterr().out.splitlines()[0]
    assert first == ("data: arrays (x, y), 120 samples of (4,); regression with 1 target(s); "
                     "train/val/test 84/18/18")
