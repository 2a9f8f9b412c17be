"""`nas search --from FILE.py:build`: the model file's GraphSpace is the search space (in
any process: the space name is the file reference), trials show their lineage, the
winner exports as standalone code; misuses exit 2 naming the flag."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

GROW = str(Path(__file__).resolve().parents[2] / "examples" / "grow.py")


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.filterwarnings("ignore:.*holds untrained weights")  # the fake task trains none
def test_search_from_a_model_file_then_status_and_export(tmp_path):
    run = tmp_path / "run"
    out = invoke("search", "--from", f"{GROW}:build", "--edits", "widen,deepen,skip",
                 "--max-edits", "2", "--task", "fake", "--trials", "4", "--run-dir", run)
    assert out.exit_code == 0, out.output
    assert f"grow:{GROW}:build" in out.output.replace("\n", "")
    # a grown winner's value is its trained line of descent: the hint fine-tunes it
    assert f"nas train {run} --from-inherited" in out.output
    shown = invoke("status", run, "--trial", "0")
    assert shown.exit_code == 0, shown.output
    assert "edits:" in shown.output and "inherited:" in shown.output
    kinds = set()
    for n in range(4):
        text = invoke("status", run, "--trial", n).output
        edits = text.split("edits: ")[1].splitlines()[0]
        kinds |= {e.split()[0] for e in edits.split("; ") if e != "none (the seed)"}
    assert kinds and kinds <= {"widen", "deepen", "skip"}
    exported = invoke("export", run, "--out", tmp_path / "model")
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "model" / "model.py").is_file()
    again = invoke("search", "--from", tmp_path / "model", "--task", "fake", "--trials", "2",
                   "--run-dir", tmp_path / "again")
    assert again.exit_code == 0, again.output  # an export folder seeds a search too


def test_from_misuses_exit_2(tmp_path):
    out = invoke("search", "--edits", "widen", "--task", "fake", "--run-dir", tmp_path / "a")
    assert out.exit_code == 2 and "--edits and --max-edits go with --from" in out.output
    out = invoke("search", "--from", f"{GROW}:build", "--space", "mlp", "--task", "fake",
                 "--run-dir", tmp_path / "b")
    assert out.exit_code == 2 and "not both" in out.output
    out = invoke("search", "--from", "model:build", "--task", "fake", "--run-dir",
                 tmp_path / "c")
    assert out.exit_code == 2 and "path/model.py:build" in out.output
    out = invoke("search", "--from", f"{GROW}:build", "--edits", "wings", "--task", "fake",
                 "--run-dir", tmp_path / "d")
    assert out.exit_code == 2 and "unknown graph edit" in out.output


@pytest.mark.filterwarnings("ignore:.*holds untrained weights")
def test_show_marks_the_nodes_the_last_edit_made(tmp_path):
    run = tmp_path / "run"
    out = invoke("search", "--from", f"{GROW}:build", "--edits", "deepen", "--max-edits",
                 "1", "--task", "fake", "--trials", "3", "--run-dir", run)
    assert out.exit_code == 0, out.output
    for n in range(3):
        text = invoke("show", run, "--trial", n).output
        marked = [line.split()[1] for line in text.splitlines()
                  if line.startswith("* ") and not line.startswith("* made")]
        edits = text.split("edits from the seed: ")[1].strip()
        if edits == "none":
            assert marked == []
        else:  # deepen after node X adds X_deep (and X_deep_relu after a relu)
            after = edits.split()[1]
            assert marked and all(m.startswith(f"{after}_deep") for m in marked), text


@pytest.mark.slow
def test_two_worker_processes_rebuild_the_space_from_the_file(tmp_path):
    """Each worker process rebuilds grow:FILE.py:build: one seed, distinct candidates."""
    from cli_helpers import nas_cli

    from nas import Study, open_storage

    run = tmp_path / "run"
    nas_cli("search", "--from", f"{GROW}:build", "--task", "fake", "--trials", "6",
            "--workers", "2", "--run-dir", str(run), env={"NAS_FAKE_DELAY": "0.2"},
            check=True)
    st = Study.load(open_storage(None, run))
    trials = st.completed()
    assert len(trials) == 6 and len({t.attrs["worker"]["pid"] for t in trials}) == 2
    assert len({t.attrs["lineage"]["seed"] for t in trials}) == 1
    assert len({t.attrs["fingerprint"] for t in trials}) == 6
