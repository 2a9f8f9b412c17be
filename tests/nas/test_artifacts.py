"""Kept weights in an artifact store (``nas.artifacts``): two "machines" (two run folders
sharing only a SQLite database and an artifact folder) run one search; the winner's
trained weights are exported from the machine that did not train it."""

from __future__ import annotations

import json
import shutil
import sys

import pytest
import torch
from cli_helpers import nas_cli

import nas
from nas.artifacts import (
    WEIGHTS_ATTR,
    ArtifactError,
    among_best,
    check_location,
    fetch_weights,
    open_store,
)
from nas.config import SearchConfig
from nas.processes import run_worker_process
from nas.worker import open_study


@pytest.fixture(scope="module")
def machines(tmp_path_factory):
    """Machine A and machine B each run a worker (2 trials) of one study; they share only
    ``shared/db.sqlite`` and ``shared/store``. Each keeps its own weights folder."""
    root = tmp_path_factory.mktemp("cluster")
    (root / "shared").mkdir()
    url, store = f"sqlite:///{root}/shared/db.sqlite", root / "shared" / "store"
    config = SearchConfig.create(space="mlp", task="mnist1d", trials=4, budget="20steps",
                                 keep_weights=1, weights_dir="weights", artifacts=str(store))
    open_study(config, url, "s")
    for index, machine in enumerate("AB"):
        assert run_worker_process(url, "s", 2, index, "cpu", None,
                                  weights_dir=str(root / machine / "weights")) == 2
    return root, url, store


def _sides(root, number: int):
    """(the folder whose worker trained trial ``number``, the other one)."""
    a, b = root / "A", root / "B"
    return (a, b) if (a / "weights" / f"trial_{number}.pt").is_file() else (b, a)


@pytest.mark.slow  # the module's two workers train 4 trials (~30 s)
def test_the_other_machine_exports_the_winner_as_trained(machines, tmp_path):
    root, url, store = machines
    st = nas.Study.load(nas.open_storage(url), "s")
    best = st.best.number
    trained_on, other = _sides(root, best)
    assert not (other / "weights" / f"trial_{best}.pt").exists()  # no local copy there
    # the oracle: the file the training machine wrote when the trial finished
    trained = torch.load(trained_on / "weights" / f"trial_{best}.pt", weights_only=True)
    elsewhere = nas.Study.load(nas.open_storage(url), "s", folder=other)
    fetched = elsewhere.load_weights()
    assert fetched.keys() == trained.keys()
    assert all(torch.equal(fetched[k], trained[k]) for k in trained)
    assert list((other / "artifacts").glob(f"trial_{best}-*.pt"))  # cached in its folder
    out = nas.export(elsewhere, tmp_path / "best")
    reference = nas.compile_graph(st.best.graph)
    reference.load_state_dict(trained)
    x = torch.randn(6, 1, 40)
    torch.testing.assert_close(nas.load(out).eval()(x), reference.eval()(x))
    splits = nas.get_task("mnist1d").splits_on("cpu")
    with torch.no_grad():  # and it scores what the search measured when it trained
        acc = (nas.load(out).eval()(splits.x_test).argmax(1) == splits.y_test).float().mean()
    assert acc.item() == pytest.approx(st.best.metrics["test_acc"], abs=1.5 / len(splits.y_test))


@pytest.mark.slow  # the module's two workers train 4 trials (~30 s)
def test_nas_export_from_the_other_run_folder(machines, tmp_path):
    root, url, _ = machines
    st = nas.Study.load(nas.open_storage(url), "s")
    trained_on, other = _sides(root, st.best.number)
    res = nas_cli("export", str(other), "--storage", url, "--study", "s", "--out",
                  str(tmp_path / "e"), check=True)
    assert "untrained" not in res.stdout + res.stderr
    trained = torch.load(trained_on / "weights" / f"trial_{st.best.number}.pt",
                         weights_only=True)
    x = torch.randn(4, 1, 40)
    reference = nas.compile_graph(st.best.graph)
    reference.load_state_dict(trained)
    torch.testing.assert_close(nas.load(tmp_path / "e").eval()(x), reference.eval()(x))


@pytest.mark.slow  # the module's two workers train 4 trials (~30 s)
def test_each_upload_is_linked_to_its_trial_with_its_digest(machines):
    from optuna.artifacts import get_all_artifact_meta

    _, url, store = machines
    st = nas.Study.load(nas.open_storage(url), "s")
    linked = {}
    for rec in st.trials():
        tid = st.storage.get_trial_id_from_study_id_trial_number(st._study_id, rec.number)
        frozen = st.storage.get_trial(tid)
        link = frozen.system_attrs.get(WEIGHTS_ATTR)
        if link:
            metas = get_all_artifact_meta(frozen, storage=st.storage)
            assert [m.artifact_id for m in metas] == [link["artifact_id"]]
            assert (store / link["artifact_id"]).stat().st_size == link["bytes"]
            linked[rec.number] = link
    assert st.best.number in linked
    assert len(list(store.iterdir())) == len(linked)  # one file per linked trial


@pytest.mark.slow  # the module's two workers train 4 trials (~30 s)
def test_a_tampered_or_missing_artifact_is_a_clear_error(machines, tmp_path):
    root, url, store = machines
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    st = nas.Study.load(nas.open_storage(url), "s")
    best = st.best.number
    tid = st.storage.get_trial_id_from_study_id_trial_number(st._study_id, best)
    artifact = copy / st.storage.get_trial_system_attrs(tid)[WEIGHTS_ATTR]["artifact_id"]
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0xFF
    artifact.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=f"trial {best} .*do not match the SHA-256"):
        fetch_weights(st, best, tmp_path / "c1", location=str(copy))
    artifact.unlink()
    with pytest.raises(ArtifactError, match=f"trial {best} .*missing from artifact store"):
        fetch_weights(st, best, tmp_path / "c2", location=str(copy))
    assert not list((tmp_path / "c2" / "artifacts").glob("*"))  # nothing half written


@pytest.mark.parametrize(("url", "needle"), [
    ("s3://bucket/prefix", "give the bucket alone"),
    ("gs://bucket", "unknown scheme 'gs://'"),
    ("", "folder path or s3://BUCKET"),
])
def test_bad_locations_name_the_forms(url, needle):
    with pytest.raises(ArtifactError, match=needle):
        check_location(url)


def test_s3_without_boto3_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "boto3", None)  # import boto3 -> ImportError
    with pytest.raises(ArtifactError, match=r"nas-toolkit\[s3\]"):
        open_store("s3://my-bucket")


def test_a_relative_folder_is_stored_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = SearchConfig(space="mlp", artifacts="store")
    assert config.artifacts == str((tmp_path / "store").resolve())
    assert SearchConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


class _Study:
    """A study stand-in whose ranked completed trials score ``values`` (maximized)."""

    def __init__(self, values):
        from nas.objective import Objective

        self.objectives = [Objective("val_acc", "max")]
        self._values = values

    def ranked(self):
        from types import SimpleNamespace

        return [SimpleNamespace(values=[v]) for v in sorted(self._values, reverse=True)]


@pytest.mark.parametrize("keep", [0, 1, 2, 3])
def test_among_best_matches_a_brute_force_ranking(keep):
    values = [0.5, 0.7, 0.7, 0.2]
    for candidate in (0.1, 0.2, 0.6, 0.7, 0.9):
        # brute force: rank all scores, best first, the candidate ahead of its equals
        order = sorted(values + [candidate], reverse=True)
        assert among_best(_Study(values), candidate, keep) == (order.index(candidate) < keep)


def test_a_bad_artifacts_flag_exits_2_before_anything_is_stored(tmp_path):
    res = nas_cli("search", "--task", "fake", "--artifacts", "s3://bucket/runs",
                  "--run-dir", str(tmp_path / "r"))
    text = " ".join(res.stderr.split())
    assert res.returncode == 2 and "--artifacts" in text and "give the bucket alone" in text
    assert not (tmp_path / "r" / "study.journal").exists()


def test_resume_with_artifacts_stores_the_store_with_the_run(tmp_path):
    run = tmp_path / "r"
    nas_cli("search", "--space", "mlp", "--task", "fake", "--trials", "1", "--run-dir",
            str(run), check=True)
    assert nas.Study.load(nas.open_storage(None, run)).config.get("artifacts") is None
    nas_cli("resume", str(run), "--trials", "2", "--artifacts", str(tmp_path / "store"),
            check=True)
    st = nas.Study.load(nas.open_storage(None, run))
    assert st.config["artifacts"] == str((tmp_path / "store").resolve())
    assert st.finished_count() == 2
