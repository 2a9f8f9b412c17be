"""Test-wide settings: one torch thread (small models; steadier timings under load), the
test plugins (tests/plugins: the "fake" task) importable from every test module whatever
the collection order and the "fake" task registered, and tiny stand-ins of the image
datasets behind $NAS_DATA (no test reads real data or downloads)."""

import os
import sys
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)
# pytest-xdist's workers export COLUMNS=80 and LINES=24; rich would fix the CLI console's
# width at 80 when cli._common is imported, and every table a test reads would wrap
# (`make test` runs the suite on all cores with xdist). Tests set COLUMNS where they
# need a width.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)
sys.path.insert(0, str(Path(__file__).parent / "plugins"))
# The "fake" task is registered before any test runs, so it is part of every registry
# snapshot below: a test that imports fake_task in its body finds it registered whatever
# ran before (a test run alone, or after another that imported it, included).
import fake_task  # noqa: E402,F401


@pytest.fixture(scope="session", autouse=True)
def image_standins(tmp_path_factory):
    """$NAS_DATA -> a folder of CIFAR-10 / MNIST / Fashion-MNIST stand-ins
    (tests/vision_standins.py); yields (root, {task: arrays})."""
    from vision_standins import write_all

    root = tmp_path_factory.mktemp("nas_data")
    arrays = write_all(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NAS_DATA", str(root))
        yield root, arrays


@pytest.fixture(autouse=True)
def _registries_restored():
    """What a test registers (a task, space, strategy or op of its own) is forgotten after
    it, so the registry-wide contract tests never meet it, whatever the order tests run
    in. Registrations at a test module's import (its collection) stay: its tests use them."""
    from nas import registry
    from nas._plugins import load_plugins
    from nas.export import _codegen
    from nas.ops import _registry as ops
    from nas.strategies import _registry as strategies

    load_plugins()  # the built-ins belong to what is restored, whenever they first load
    tables = [registry._SPACES._items, registry._IO, registry._TASKS._items,
              strategies._STRATEGIES._items, ops._OPS._items, _codegen._RULES._items]
    before = [dict(t) for t in tables]
    yield
    for table, saved in zip(tables, before):
        table.clear()
        table.update(saved)
