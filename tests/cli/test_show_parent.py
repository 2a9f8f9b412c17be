"""`nas show --parent`: a graph-edit candidate beside its parent. The parent panel is the
graph before the last edit (rebuilt independently by resolving the same decisions
without that edit, and checked by hand: conv1 widened 25 -> 31), and the marked nodes
are exactly the ones the last edit made (deepen after relu1: relu1_deep and its relu)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from nas import GraphSpace
from search_spaces.reference import mnist1d_paper_cnn

GROW = str(Path(__file__).resolve().parents[2] / "examples" / "grow.py")
WIDEN_CONV1 = {"edit_0": "widen", "edit_0_site": 0, "edit_0_arg": 0}  # conv1 x1.25
DEEPEN_RELU1 = {"edit_1": "deepen", "edit_1_site": 8}  # after relu1 (8 * 8 // 64 = site 1)


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def candidate(tmp_path):
    """(the candidate's architecture.json, its parent rebuilt without the last edit)."""
    space = GraphSpace(mnist1d_paper_cnn(), edits=["widen", "deepen"], max_edits=2)
    child, _, error = space.try_resolve({**WIDEN_CONV1, **DEEPEN_RELU1})
    parent, _, _ = space.try_resolve({**WIDEN_CONV1, "edit_1": "none"})
    assert error is None and child.meta["lineage"]["parent"] == parent.fingerprint()
    path = tmp_path / "child.json"
    path.write_text(child.to_json())
    return path, parent


def test_summary_puts_the_parent_left_and_marks_the_edited_nodes(candidate):
    path, parent = candidate
    out = invoke("show", path, "--parent")
    assert out.exit_code == 0, out.output
    rows = [line.split("   |   ") for line in out.output.splitlines() if "   |   " in line]
    left_ids = [r[0].split()[0] for r in rows[3:] if r[0].strip() and
                not r[0].startswith(tuple("0123456789"))]
    assert left_ids == [n.id for n in parent.nodes(include_inputs=True)]
    conv1 = next(r[0] for r in rows if r[0].startswith("conv1 "))
    assert "channels=31" in conv1  # the parent already has its first edit: 25 * 1.25
    marked = [r[1].split()[1] for r in rows if len(r) > 1 and r[1].startswith("* ")]
    assert marked == ["relu1_deep", "relu1_deep_relu"]
    assert "edits from the seed: widen conv1 1.25; deepen relu1" in out.output


def test_dot_has_a_parent_cluster_and_the_child_with_red_edited_nodes(candidate, tmp_path):
    path, parent = candidate
    out = invoke("show", path, "--parent", "--out", tmp_path / "pair.dot")
    assert out.exit_code == 0, out.output
    dot = (tmp_path / "pair.dot").read_text()
    parent_part, child_part = dot.split("subgraph cluster_child")
    p_ids = set(re.findall(r"^  p_(\w+) \[label", parent_part, re.M))
    assert p_ids == {n.id for n in parent.nodes(include_inputs=True)}
    red = set(re.findall(r'^  c_(\w+) \[label=.*color="#d62728"', child_part, re.M))
    assert red == {"relu1_deep", "relu1_deep_relu"}
    assert "color=" not in parent_part.split("cluster_parent")[1].replace("fillcolor", "")


def test_a_picture_is_two_files(candidate, tmp_path):
    path, _ = candidate
    out = invoke("show", path, "--parent", "--out", tmp_path / "arch.svg",
                 "--engine", "matplotlib")
    assert out.exit_code == 0, out.output
    child, parent = (tmp_path / "arch.svg").read_text(), (tmp_path / "arch.parent.svg").read_text()
    assert "relu1_deep" not in parent and "d62728" not in parent
    assert child.count("#d62728") >= 2 or child.lower().count("d62728") >= 2


def test_no_parent_or_mermaid_is_a_clear_error(candidate, tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(mnist1d_paper_cnn().to_json())
    out = invoke("show", seed, "--parent")
    assert out.exit_code != 0 and "has no parent" in out.output
    out = invoke("show", candidate[0], "--parent", "--format", "mermaid")
    assert out.exit_code != 0 and "not mermaid" in out.output


@pytest.mark.filterwarnings("ignore:.*holds untrained weights")  # the fake task trains none
def test_a_run_trial_keeps_its_parent(tmp_path):
    run = tmp_path / "run"
    out = invoke("search", "--from", f"{GROW}:build", "--edits", "deepen", "--max-edits",
                 "1", "--task", "fake", "--trials", "3", "--run-dir", run)
    assert out.exit_code == 0, out.output
    shown = [invoke("show", run, "--trial", n, "--parent") for n in range(3)]
    edited = [s for s in shown if s.exit_code == 0]
    assert edited, [s.output for s in shown]
    for s in edited:  # the left column never has the node the deepen made
        rows = [line.split("   |   ") for line in s.output.splitlines() if "   |   " in line]
        marked = {r[1].split()[1] for r in rows if len(r) > 1 and r[1].startswith("* ")}
        assert marked and not marked & {r[0].split()[0] for r in rows if r[0].strip()}
