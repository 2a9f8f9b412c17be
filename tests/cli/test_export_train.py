"""`nas export RUN_DIR` and `nas train`: the searched winner as plain PyTorch."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

import nas
from cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    nas.search("mlp", "mnist1d", trials=3, budget="15steps", seed=0, run_dir=run,
               keep_weights=2)
    return run


def test_search_keeps_the_best_k_weights(run_dir):
    st = nas.Study.load(nas.open_storage(None, run_dir))
    ranked = sorted(st.completed(), key=lambda r: -r.values[0])
    kept = sorted(int(p.stem.split("_")[1]) for p in (run_dir / "weights").glob("trial_*.pt"))
    assert kept == sorted(r.number for r in ranked[:2])


def test_export_best_with_its_weights_and_load(run_dir, tmp_path):
    out = tmp_path / "best"
    res = runner.invoke(app, ["export", str(run_dir), "--out", str(out)])
    assert res.exit_code == 0, res.output
    st = nas.Study.load(nas.open_storage(None, run_dir))
    best = st.best
    saved = torch.load(run_dir / "weights" / f"trial_{best.number}.pt", weights_only=True)
    exported = torch.load(out / "weights.pt", weights_only=True)
    assert saved.keys() == exported.keys()
    assert all(torch.equal(saved[k], exported[k]) for k in saved)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["val_acc"] == pytest.approx(best.values[0])
    model = nas.load(out).eval()
    ref = nas.compile_graph(best.graph).eval()
    ref.load_state_dict(saved)
    x = torch.randn(5, 1, 40)
    torch.testing.assert_close(model(x), ref(x))


def test_export_without_kept_weights_says_so(run_dir, tmp_path):
    st = nas.Study.load(nas.open_storage(None, run_dir))
    worst = min(st.completed(), key=lambda r: r.values[0])
    res = runner.invoke(app, ["export", str(run_dir), "--trial", str(worst.number), "--out",
                              str(tmp_path / "w")])
    assert res.exit_code == 0, res.output
    assert "kept no weights" in " ".join(res.output.split())
    assert "untrained" in (tmp_path / "w" / "README.md").read_text()


def test_export_bad_input(run_dir, tmp_path):
    res = runner.invoke(app, ["export", str(run_dir), "--trial", "99"])
    assert res.exit_code == 2 and "not a completed trial" in res.output
    res = runner.invoke(app, ["export", str(run_dir), "--rank", "10"])
    assert res.exit_code == 2 and "beyond" in res.output
    res = runner.invoke(app, ["export", str(run_dir), "--format", "pickle"])
    assert res.exit_code == 2 and "--format" in res.output


def test_tampered_kept_weights_give_a_clear_error(run_dir, tmp_path):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    # the copy reads its own weights folder: tamper with the copy's file
    target = sorted((copy / "weights").glob("trial_*.pt"))[0]
    target.write_bytes(b"\x80\x04not a pickle at all")
    number = int(target.stem.split("_")[1])
    res = runner.invoke(app, ["export", str(copy), "--trial", str(number)])
    assert res.exit_code == 2
    assert "corrupt or not a weights file" in " ".join(res.output.split())


def test_nas_train_writes_an_export_with_test_accuracy(run_dir, tmp_path):
    out = tmp_path / "trained"
    arch = tmp_path / "arch.json"
    st = nas.Study.load(nas.open_storage(None, run_dir))
    arch.write_text(st.best.graph.to_json())
    res = runner.invoke(app, ["train", str(arch), "--task", "mnist1d", "--steps", "30",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["test_acc"] <= 1.0 and metrics["steps"] == 30
    assert (out / "model.py").exists() and (out / "weights.pt").exists()
    model = nas.load(out)
    assert sum(p.numel() for p in model.parameters()) == metrics["params"]


def test_nas_train_bad_input(tmp_path):
    res = runner.invoke(app, ["train", str(tmp_path / "none.json")])
    assert res.exit_code == 2 and "not a run folder" in " ".join(res.output.split())
    res = runner.invoke(app, ["train", str(tmp_path / "none.json"), "--trial", "3"])
    assert res.exit_code == 2 and "--trial needs a run folder" in " ".join(res.output.split())
    (tmp_path / "a.json").write_text("{}")
    res = runner.invoke(app, ["train", str(tmp_path / "a.json")])
    assert res.exit_code == 2 and "not an ArchGraph" in " ".join(res.output.split())


def test_nas_train_a_run_folder_trains_its_best_trial_on_its_task(run_dir, tmp_path):
    st = nas.Study.load(nas.open_storage(None, run_dir))
    out = tmp_path / "from_run"
    res = runner.invoke(app, ["train", str(run_dir), "--steps", "20", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert f"trial_{st.best.number} on mnist1d" in " ".join(res.output.split())
    assert nas.ArchGraph.from_json((out / "architecture.json").read_text()).fingerprint() \
        == st.best.graph.fingerprint()
    other = next(r for r in st.completed() if r.number != st.best.number)
    res = runner.invoke(app, ["train", str(run_dir), "--trial", str(other.number), "--steps",
                              "20", "--out", str(tmp_path / "other")])
    assert res.exit_code == 0, res.output
    saved = (tmp_path / "other" / "architecture.json").read_text()
    assert nas.ArchGraph.from_json(saved).fingerprint() == other.graph.fingerprint()
    res = runner.invoke(app, ["train", str(run_dir), "--trial", "999"])
    assert res.exit_code == 2 and "not a completed trial" in " ".join(res.output.split())
