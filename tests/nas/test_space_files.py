"""Fault injection: a user's space file (issue 16, section 3).

``nas search --space my.py:tiny_mlp`` with the README's ``@nas.register_space`` code (or a
module-level ``nas.register_op``, as the docs show) in ``my.py`` once failed with
"already registered": the file was imported again each time the space was bound. It is
imported once per process now, in worker processes too. And a search that fails before
its first trial leaves no study whose stored settings would break a corrected re-run.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

import nas
from nas import StorageError, Study, open_storage, search

PLUGINS = str(Path(__file__).resolve().parents[1] / "plugins")
sys.path.insert(0, PLUGINS)
import fake_task  # noqa: E402,F401  (registers the "fake" task in this process)
from cli_helpers import nas_cli  # noqa: E402

# the README's own example, plus a module-level op as docs/search-spaces.md registers one
MY_SPACES = textwrap.dedent('''
    import torch

    import nas


    class Shift(torch.nn.Module):
        def forward(self, x):
            return x + 1.0


    nas.register_op(nas.OpSpec(
        name="{op}", arity=1, params={{}},
        infer_shape=lambda params, shapes: shapes[0],
        make=lambda params, shapes: Shift(),
        doc="x + 1; shape unchanged.",
    ))


    @nas.register_space("{name}")
    def tiny_mlp(b, in_shape, n_out):
        """A small MLP: depth, widths and activation."""
        x = b.op("flatten", b.input(in_shape))
        act = b.choice("activation", ["relu", "gelu", "tanh"])
        for i in range(b.int("depth", 1, 3)):
            x = b.op("linear", x, features=b.choice(f"width_{{i}}", [16, 32, 64]))
            x = b.op(act, x)
        return b.output(b.op("linear", b.op("{op}", x), features=n_out))
''')


def _write(tmp_path: Path, tag: str) -> Path:
    path = tmp_path / "my.py"
    path.write_text(MY_SPACES.format(name=f"faults_tiny_mlp_{tag}", op=f"faults_shift_{tag}"))
    return path




def test_a_space_file_is_imported_once_per_process(tmp_path):
    path = _write(tmp_path, "api")
    first = nas.get_space(f"{path}:tiny_mlp", in_shape=(1, 40), n_out=10)
    again = nas.get_space(f"{tmp_path}/../{tmp_path.name}/my.py:tiny_mlp")  # same file
    assert first.fn is again.fn
    assert "faults_tiny_mlp_api" in nas.list_spaces()
    st = search(f"{path}:tiny_mlp", "fake", trials=2, seed=0)  # binds it twice more
    assert len(st.completed()) == 2


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_cli_search_with_a_registering_space_file(tmp_path, workers):
    path = _write(tmp_path, f"cli{workers}")
    assert nas_cli("check", f"{path}:tiny_mlp", "--samples", "2").returncode == 0
    run = tmp_path / "run"
    res = nas_cli("search", "--space", f"{path}:tiny_mlp", "--task", "fake", "--trials", "3",
                  "--workers", workers, "--run-dir", str(run))
    assert res.returncode == 0, res.stdout + res.stderr
    trials = json.loads(nas_cli("status", str(run), "--format", "json").stdout)
    assert [t["state"] for t in trials] == ["COMPLETE"] * 3


def test_a_search_failing_before_its_first_trial_leaves_no_study(tmp_path):
    path = _write(tmp_path, "fail")
    with pytest.raises(ValueError, match="population >= 2"):  # the strategy's constructor
        search(f"{path}:tiny_mlp", "fake", trials=2, run_dir=tmp_path / "run",
               strategy_options={"population": 1})
    with pytest.raises(StorageError, match="holds 0 studies"):
        Study.load(open_storage(None, tmp_path / "run"))
    st = search(f"{path}:tiny_mlp", "fake", trials=2, run_dir=tmp_path / "run",
                strategy_options={"population": 3})  # corrected
    assert st.config["strategy_options"] == {"population": 3} and len(st.completed()) == 2
    st = search(f"{path}:tiny_mlp", "fake", trials=3, run_dir=tmp_path / "run",
                strategy_options={"population": 3})  # and resumed
    assert len(st.completed()) == 3
