"""The one registry behind spaces, tasks, strategies, ops and export rules; strategies as
public API (``nas.register_strategy``) and from plugins (``NAS_PLUGINS``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import nas
from nas import Study, _registry, open_storage
from nas._errors import UnknownOpError
from nas._registry import Registry, suggest
from nas.export import ExportError, get_codegen, register_codegen
from nas.strategies import _registry as strategies

PLUGINS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "plugins")


class _Error(Exception):
    def __init__(self, message: str, node: str | None = None):
        super().__init__(message)
        self.node = node


def _tools() -> Registry:
    reg: Registry = Registry("tool", error=_Error)

    @reg.register("hammer")
    def hammer():
        """Drives nails.

        More text that doc() leaves out."""

    reg.register("saw", len)
    return reg


def test_register_get_names_doc_contains():
    reg = _tools()
    assert reg.names() == ["hammer", "saw"] == list(reg) and len(reg) == 2
    assert reg.get("saw") is len and "hammer" in reg and "drill" not in reg
    assert reg.doc("hammer") == "Drives nails."
    del reg["saw"]
    assert reg.names() == ["hammer"]


def test_a_duplicate_name_raises_and_keeps_the_first():
    reg = _tools()
    with pytest.raises(ValueError, match="a tool named 'saw' is already registered"):
        reg.register("saw", print)
    assert reg.get("saw") is len


def test_an_unknown_name_raises_the_registry_error_with_a_hint_and_the_names():
    with pytest.raises(_Error) as err:
        _tools().get("hamer", shown="hamer:big", node="n3")
    assert str(err.value) == ("unknown tool 'hamer:big'; did you mean hammer? "
                              "(registered: hammer, saw)")
    assert err.value.node == "n3"  # the context reaches the error
    with pytest.raises(ValueError, match=r"unknown thing 'x' \(registered: none\)$"):
        Registry("thing").get("x")


def test_suggest_names_the_closest_or_nothing():
    assert suggest("evolutoin", ["evolution", "random", "rl"]) == "did you mean evolution?"
    assert suggest("zzz", ["evolution", "random"]) == ""


def test_every_lookup_and_listing_loads_the_plugins_first(monkeypatch):
    reg: Registry = Registry("tool")
    monkeypatch.setattr(_registry, "load_plugins", lambda: reg._items.setdefault("late", 1))
    assert reg.names() == ["late"]
    reg._items.clear()
    assert "late" in reg
    reg._items.clear()
    assert reg.get("late") == 1


def test_the_five_registries_keep_their_errors_and_messages():
    with pytest.raises(nas.SpaceError, match=r"unknown search space 'mpl'; did you mean mlp\? "
                                             r"\(registered: .*path/to/file.py:function\)"):
        nas.get_space("mpl")
    with pytest.raises(ValueError, match=r"unknown task 'mnist1:x'; did you mean mnist1d"):
        nas.get_task("mnist1:x")
    with pytest.raises(ValueError, match=r"unknown strategy 'evolutoin:x'; did you mean "
                                         r"evolution\? \(registered: evolution, "):
        nas.get_strategy("evolutoin:x", nas.get_space("mlp"))
    with pytest.raises(UnknownOpError, match=r"^node 'n1': unknown op 'rleu'; did you mean "
                                             r"relu") as err:
        nas.get_op("rleu", node="n1")
    assert err.value.node == "n1"
    with pytest.raises(ExportError, match=r"^op 'nope' \(node 'n2'\) has no codegen rule"):
        get_codegen("nope", node="n2")
    with pytest.raises(ValueError, match="op 'relu' already has a codegen rule"):
        register_codegen("relu")(lambda p, s: None)
    with pytest.raises(ValueError, match="op 'relu' is already registered"):
        nas.register_op(nas.get_op("relu"))


# ---------------------------------------------------------------- user strategies
@pytest.fixture
def mine():
    """A strategy registered through ``nas.register_strategy`` for one test."""

    @nas.register_strategy("mine")
    class Mine(nas.Strategy):
        """Mine: uniform samples (a test's own strategy)."""

        def ask(self) -> dict:
            return self.space.sample(self.rng)

    yield Mine
    del strategies._STRATEGIES["mine"]


def test_a_user_strategy_runs_a_search_through_the_public_api(mine):
    import fake_task  # noqa: F401  (registers the "fake" task)

    assert "mine" in nas.list_strategies() and nas.strategy_doc("mine").startswith("Mine:")
    assert mine.name == "mine" and "Strategy" in nas.__all__ and "register_strategy" in nas.__all__
    st = nas.search("mlp", "fake", strategy="mine", trials=3, seed=0)
    trials = st.trials()
    assert len(trials) == 3 and all(t.state == "COMPLETE" for t in trials)
    assert isinstance(nas.get_strategy("mine", nas.get_space("mlp")), mine)


PLUGIN = textwrap.dedent('''
    """A plugin package's strategy."""
    import nas


    @nas.register_strategy("plugin_random")
    class PluginRandom(nas.Strategy):
        """Plugin random: uniform samples from a plugin module."""

        def ask(self):
            return self.space.sample(self.rng)
''')


def _nas(tmp_path, *args) -> subprocess.CompletedProcess:
    """``nas ARGS`` with the fake task and tmp_path's strategy plugin loaded."""
    (tmp_path / "h4_strategy_plugin.py").write_text(PLUGIN)
    path = os.pathsep.join([str(tmp_path), PLUGINS, os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path, NAS_PLUGINS="fake_task,h4_strategy_plugin",
               COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True,
                          text=True, env=env, timeout=300)


def test_nas_strategies_lists_a_plugin_strategy(tmp_path):
    res = _nas(tmp_path, "strategies")
    assert res.returncode == 0, res.stderr
    assert "plugin_random" in res.stdout and "Plugin random: uniform samples" in res.stdout


@pytest.mark.slow
def test_nas_search_resolves_a_plugin_strategy(tmp_path):
    res = _nas(tmp_path, "search", "--space", "mlp", "--task", "fake", "--strategy",
               "plugin_random", "--trials", "2", "--run-dir", str(tmp_path / "run"))
    assert res.returncode == 0, res.stdout + res.stderr
    trials = Study.load(open_storage(None, tmp_path / "run")).trials()
    assert len(trials) == 2 and all(t.state == "COMPLETE" for t in trials)
    res = _nas(tmp_path, "search", "--space", "mlp", "--task", "fake", "--strategy",
               "plugin_randm", "--trials", "2", "--run-dir", str(tmp_path / "run2"))
    assert res.returncode == 2 and "did you mean plugin_random" in " ".join(res.stderr.split())


def test_a_task_arg_it_cannot_take_is_a_clear_error_naming_the_task_and_arg():
    """`mnist1d:synflow` once failed deep in the split code ("'<' not supported between
    'str' and 'int'"); the error now names the task and the ':ARG'."""

    @nas.register_task("sized")
    def sized(n: int = 3):
        return list(range(n + 0))  # the ARG arrives as text: n + 0 raises TypeError

    with pytest.raises(ValueError, match=r"task 'sized' cannot take ':big'"):
        nas.get_task("sized:big")
    assert nas.get_task("sized") == [0, 1, 2]  # no ARG: the factory's defaults
