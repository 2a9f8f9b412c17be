"""`nas search --from ... --strategy hillclimb`: each generation's children are the
incumbent plus one edit, and the next incumbent is the best of them (read back from the
stored trials)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from nas import Study, open_storage

GROW = str(Path(__file__).resolve().parents[2] / "examples" / "grow.py")


def test_hillclimb_grows_the_incumbent_generation_by_generation(tmp_path):
    run = tmp_path / "run"
    out = CliRunner().invoke(app, [
        "search", "--from", f"{GROW}:build", "--task", "fake", "--trials", "5",
        "--strategy", "hillclimb", "--strategy-option", "neighbours=2",
        "--strategy-option", "warmup=1", "--run-dir", str(run)])
    assert out.exit_code == 0, out.output
    trials = sorted(Study.load(open_storage(None, run)).completed(), key=lambda t: t.number)
    assert len(trials) == 5
    edits = [t.attrs["lineage"]["edits"] for t in trials]
    score = [t.values[0] for t in trials]
    assert len(edits[0]) <= 1  # the warm-up: at most one edit from the seed
    for child in (1, 2):  # generation 1: children of the warm-up's candidate
        assert edits[child][:-1] == edits[0] and len(edits[child]) == len(edits[0]) + 1
    best = max((1, 2), key=lambda i: score[i])  # generation 2: of generation 1's best
    for child in (3, 4):
        assert edits[child][:-1] == edits[best]
