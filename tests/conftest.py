"""Test-wide settings: one torch thread (small models; steadier timings under load), the
test plugins (tests/plugins: the "fake" task) importable from every test module whatever
the collection order, and tiny stand-ins of the image datasets behind $NAS_DATA (no test
reads real data or downloads)."""

import sys
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)
sys.path.insert(0, str(Path(__file__).parent / "plugins"))


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
