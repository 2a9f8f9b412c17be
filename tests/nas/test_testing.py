"""nas.testing as a user meets it: the docs' space and strategy pass their contracts
under pytest in a folder of their own, broken ones fail them naming what broke, the
contracts take names, files and objects, and importing nas imports no pytest."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import nas
from nas import Result
from nas.testing import (
    TaskContract,
    bind_space,
    conditional_space,
    make_task,
    misfit_graph,
    new_strategy,
    strategy_factory,
    tiny_graph,
)

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "search-spaces.md"


def doc_files() -> dict[str, str]:
    """The page's python blocks that open with ``# name.py``: file name -> source."""
    found = {}
    for body in re.findall(r"^```python\n(.*?)^```", PAGE.read_text(), re.M | re.S):
        first, _, rest = body.partition("\n")
        if re.fullmatch(r"# \w+\.py", first):
            found[first[2:]] = rest
    return found


def run_pytest(folder: Path, *files: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *files], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=600)


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))


# ------------------------------------------------------------------ as a user runs it
def test_the_docs_space_and_strategy_pass_their_contracts(tmp_path):
    files = doc_files()
    assert {"my_spaces.py", "test_my_spaces.py", "my_strategy.py",
            "test_my_strategy.py"} <= set(files), "the docs' testing example changed"
    write(tmp_path, files)
    proc = run_pytest(tmp_path.parent, f"{tmp_path.name}/test_my_spaces.py",
                      f"{tmp_path.name}/test_my_strategy.py")  # paths beside the tests
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"\b17 passed\b", proc.stdout), proc.stdout  # 10 + 7 contract tests


BROKEN = {
    "bad_spaces.py": '''
        import random


        def jittery(b, in_shape, n_out):
            """Its width is drawn outside the builder: two builds differ."""
            x = b.op("flatten", b.input(in_shape))
            x = b.op("linear", x, features=b.choice("w", [8, 16]) + random.randrange(4))
            return b.output(b.op("linear", x, features=n_out))


        def bare(b, in_shape, n_out):
            x = b.op("flatten", b.input(in_shape))
            return b.output(b.op("linear", x, features=b.choice("w", [n_out, 2 * n_out])))
    ''',
    "test_bad.py": '''
        import random

        from nas.strategies import Strategy
        from nas.testing import SpaceContract, StrategyContract


        class Unseeded(Strategy):
            """Samples with the global random module: not reproducible from its seed."""

            def ask(self):
                return self.space.sample(random.randrange(10**9))


        class TestJittery(SpaceContract):
            space = "bad_spaces.py:jittery"


        class TestBare(SpaceContract):
            space = "bad_spaces.py:bare"


        class TestUnseeded(StrategyContract):
            strategy = Unseeded
            spaces = (("mlp", {}),)


        class TestNothing(SpaceContract):
            pass
    ''',
}


def test_broken_spaces_and_strategies_fail_their_contracts(tmp_path):
    write(tmp_path, BROKEN)
    proc = run_pytest(tmp_path, "test_bad.py", "-rfE")
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    failed = set(re.findall(r"^(?:FAILED|ERROR) test_bad\.py::(\w+::\w+)", out, re.M))
    assert {"TestJittery::test_samples_build_valid_graphs_deterministically",
            "TestJittery::test_identify_agrees_with_build",
            "TestBare::test_has_a_docstring",
            "TestUnseeded::test_proposals_are_valid_and_reproducible",
            "TestNothing::test_has_a_docstring"} <= failed, out
    assert "TestBare::test_samples_compile_and_train_a_step" not in failed  # only what broke
    assert "twice gave two graphs" in out and "needs a docstring" in out
    assert "the same seed must give the same proposals" in out
    assert "TestNothing sets no `space` to test" in out


# ------------------------------------------------------------------ what a contract takes
def test_a_space_is_named_by_registry_name_file_function_or_space(tmp_path):
    assert bind_space("mlp").name == "mlp" and bind_space("mlp").in_shape == (1, 40)
    fn_space = bind_space(conditional_space, (1, 8), 2)
    assert (fn_space.fn, fn_space.in_shape, fn_space.n_out) == (conditional_space, (1, 8), 2)
    assert bind_space(fn_space) is fn_space
    (tmp_path / "s.py").write_text(doc_files()["my_spaces.py"])
    beside = bind_space("s.py:tiny_mlp", n_out=3, near=tmp_path)
    assert beside.build(beside.sample(0)).output_shapes() == {"y": (3,)}
    with pytest.raises(TypeError, match="registered name"):
        bind_space(42)


def test_a_strategy_is_named_by_registry_name_file_or_class(tmp_path):
    space = nas.get_space("mlp")
    by_name = new_strategy("evolution", space, seed=2)
    assert by_name.name == "evolution"
    assert new_strategy(type(by_name), space, seed=2).ask() == by_name.ask()
    (tmp_path / "st.py").write_text(doc_files()["my_strategy.py"])
    cls = strategy_factory("st.py:HillClimb", near=tmp_path)
    assert cls.__name__ == "HillClimb" and cls(space, seed=0).ask()


def test_a_task_is_named_by_registry_name_class_or_instance():
    task = make_task("mnist1d")
    assert task.name == "mnist1d" and make_task(task) is task
    assert type(make_task(type(task))) is type(task)


def test_the_helper_graphs_fit_and_misfit():
    g = tiny_graph((1, 40), 10)
    assert g.output_shapes() == {"y": (10,)} and tiny_graph((5,), 2).output_shapes()["y"] == (2,)
    assert misfit_graph().validate().inputs["x"].shape == (3, 7, 5)


class CountsParams:
    """Scores an architecture by its size alone: no data, no training."""

    name, in_shape, n_out, objective = "counts", (1, 40), 10, ("params", "min")
    metrics = {"params": "min"}

    def evaluate(self, graph, budget=None, seed=0, device="auto", report=None,
                 keep_weights=False):
        try:
            model = nas.compile_graph(graph)
            model(torch.randn(4, *self.in_shape))  # a batch of its data
        except Exception as exc:
            return Result.failure(f"runtime error: {type(exc).__name__}: {exc}")
        weights = model.state_dict() if keep_weights else None
        return Result(objectives={"params": float(nas.count_params(model))}, state_dict=weights)


class TestAUserTask(TaskContract):
    """A user's task passes the task contract in-process (no subprocess needed)."""

    task = CountsParams


def test_importing_nas_imports_neither_pytest_nor_other_rooms():
    code = ("import sys, nas; assert 'pytest' not in sys.modules, 'pytest'; "
            "assert 'nas.testing' not in sys.modules; import nas.testing; "
            "rooms = {m.split('.')[0] for m in sys.modules} & "
            "{'search_spaces', 'evaluators', 'cli'}; assert not rooms, rooms")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT),
                                                        os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
