"""Every examples/*.py runs with --quick in a fresh folder, exits 0 and writes what it says.

New examples join by themselves (a glob); the ones listed in CHECKS get specific checks
of their output. Each run is an end-to-end search, so the runs are marked slow.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.py"))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _custom_space(out: str, cwd: Path) -> None:
    assert "14 decisions" in out and "best: trial" in out
    assert (cwd / "runs" / "custom_space-quick" / "study.journal").is_file()


def _multi_objective(out: str, cwd: Path) -> None:
    rows = re.findall(r"^\s+#(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d,]+)$", out, flags=re.M)
    n = int(re.search(r"Pareto front: (\d+) of (\d+)", out).group(1))
    assert n >= 1 and len(rows) == n
    params = [int(r[3].replace(",", "")) for r in rows]
    accs = [float(r[1]) for r in rows]
    assert params == sorted(params) and accs == sorted(accs)  # a front: bigger is better
    assert (cwd / "runs" / "multi_objective-quick" / "pareto.png").read_bytes().startswith(
        PNG_MAGIC)


def _gnn_search(out: str, cwd: Path) -> None:
    assert "task karate" in out and "'level': 'node'" in out
    assert re.search(r"best: trial \d+, [\d,]+ parameters", out)
    assert "edge_index" in out  # the winner's summary shows the graph input
    assert (cwd / "runs" / "gnn-karate-quick" / "study.journal").is_file()


def _transformer_lm(out: str, cwd: Path) -> None:
    assert re.search(r"val_ppl\s+[\d.]+", out)
    sample = re.search(r"^sample: def (.*)$", out, flags=re.M).group(1)
    assert len(sample) > 20  # 60 sampled characters, some may be newlines
    assert list((cwd / "runs" / "transformer_lm-quick" / "weights").glob("trial_*.pt"))


def _export_and_use(out: str, cwd: Path) -> None:
    folder = cwd / "runs" / "export_and_use-quick" / "exported_model"
    assert {"model.py", "weights.pt", "architecture.json"} <= {p.name for p in folder.iterdir()}
    assert "nas-toolkit modules loaded: none" in out  # the plain-PyTorch half
    assert "reproduces the recorded test accuracy" in out


def _one_shot(out: str, cwd: Path) -> None:
    steps = re.search(r"supernet trained: (\d+) steps", out)  # 40 passes, one a step
    assert steps and int(steps[1]) == 40 and "candidates scored: 6" in out
    rows = re.findall(r"^  trial (\d+): one-shot val_acc ([\d.]+)  stand-alone", out, re.M)
    assert [int(n) for n, _ in rows] == [0, 1]  # the top 2, retrained best first
    assert float(rows[0][1]) >= float(rows[1][1])
    assert (cwd / "runs" / "one_shot-quick" / "oneshot" / "supernet.pt").is_file()


def _darts(out: str, cwd: Path) -> None:
    assert "searched 6 steps with guard drnas" in out
    cell = dict(re.findall(r"(edge_\d_\d)=(\w+)", out.split("cell found: ")[1].splitlines()[0]))
    assert len(cell) == 6
    free = sum(v in ("none", "skip_connect", "avg_pool_3x3") for v in cell.values())
    assert f"parameter-free ops: {free} of 6" in out  # counted by hand from the cell
    assert (cwd / "runs" / "darts-quick" / "darts" / "trajectory.json").is_file()


def _quickstart(out: str, cwd: Path) -> None:
    assert re.search(r"best: val_acc [\d.]+, test_acc [\d.]+", out)


def _own_data(out: str, cwd: Path) -> None:
    assert "classification with 10 classes" in out.splitlines()[0]  # the first line
    assert "space: sequence (auto: 40 ordered columns" in out
    accs = re.findall(r"test accuracy ([\d.]+)", out)
    assert len(accs) == 2 and all(0.0 <= float(a) <= 1.0 for a in accs)


def _grow(out: str, cwd: Path) -> None:
    assert re.search(r"^seed model: 5,210 parameters", out, re.M)
    shares = re.findall(r"^trial \d+: val_acc [\d.]+  inherited (\d+)%  edits: ", out, re.M)
    assert len(shares) == 3 and all(0 <= int(s) <= 100 for s in shares)
    folder = cwd / "runs" / "grow-quick" / "exported_model"
    assert {"model.py", "weights.pt"} <= {p.name for p in folder.iterdir()}


CHECKS = {"custom_space.py": _custom_space, "multi_objective.py": _multi_objective,
          "gnn_search.py": _gnn_search, "transformer_lm.py": _transformer_lm,
          "export_and_use.py": _export_and_use, "quickstart.py": _quickstart,
          "own_data.py": _own_data, "one_shot.py": _one_shot, "grow.py": _grow,
          "darts.py": _darts}


def test_examples_are_found_and_documented():
    names = {p.name for p in EXAMPLES}
    assert set(CHECKS) <= names
    for path in EXAMPLES:
        tree = ast.parse(path.read_text())
        doc = ast.get_docstring(tree)
        assert doc and f"examples/{path.name}" in doc, f"{path.name}: say how to run it"
        assert "--quick" in path.read_text(), f"{path.name} has no --quick"


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_quick(path, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(path), "--quick"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{path.name} failed:\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.strip(), f"{path.name} printed nothing"
    check = CHECKS.get(path.name)
    if check is not None:
        check(proc.stdout, tmp_path)
    written = sorted(p.name for p in tmp_path.iterdir())  # runs/ is git-ignored
    assert written in ([], ["runs"]), f"{path.name} wrote {written} outside runs/"
