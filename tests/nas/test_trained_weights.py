"""The best trial's trained weights from Python: ``study.load_weights()``,
``study.trained_model()`` and ``nas.export(study, out)``."""

from __future__ import annotations

import json

import pytest
import torch

import nas


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    st = nas.search("mlp", "mnist1d", trials=1, budget="20steps", seed=0, run_dir=folder,
                    keep_weights=1, progress=False)
    return st, folder


def test_the_trained_model_scores_what_the_search_recorded(run):
    st, _ = run
    model = st.trained_model()
    assert not model.training
    splits = nas.get_task("mnist1d").splits_on("cpu")
    with torch.no_grad():
        accuracy = (model(splits.x_test).argmax(1) == splits.y_test).float().mean().item()
    # the oracle: the test accuracy the search measured on those weights when it trained
    assert accuracy == pytest.approx(st.best.metrics["test_acc"], abs=1.5 / len(splits.y_test))
    fresh = nas.compile_graph(st.best.graph).state_dict()
    assert any(not torch.equal(fresh[k], v) for k, v in st.load_weights().items())


def test_a_reopened_study_finds_the_weights_in_its_run_folder(run):
    st, folder = run
    again = nas.Study.load(nas.open_storage(None, folder), folder=folder)
    kept, reread = st.load_weights(st.best.number), again.load_weights(again.best)
    assert kept.keys() == reread.keys()
    assert all(torch.equal(kept[k], reread[k]) for k in kept)
    with pytest.raises(ValueError, match="no run folder known"):
        nas.Study.load(nas.open_storage(None, folder)).load_weights()


def test_export_of_a_study_writes_the_best_trial_trained(run, tmp_path):
    st, _ = run
    out = nas.export(st, tmp_path / "best")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics.get("trained", True) is not False
    assert metrics["test_acc"] == st.best.metrics["test_acc"]
    x = torch.randn(5, 1, 40)
    torch.testing.assert_close(nas.load(out).eval()(x), st.trained_model()(x))


def test_no_kept_weights_says_how_to_keep_them(tmp_path):
    import fake_task  # noqa: F401  (tests/plugins: the "fake" task trains nothing)

    st = nas.search("mlp", "fake", trials=1, run_dir=tmp_path / "r", progress=False)
    with pytest.raises(ValueError, match="keep_weights=3"):
        st.load_weights()
    with pytest.raises(ValueError, match="no trained weights kept for trial 0"):
        nas.export(st, tmp_path / "out")
