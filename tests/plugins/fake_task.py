"""A task that trains nothing: a deterministic score per architecture, after a delay.

Loaded in worker processes through ``NAS_PLUGINS=fake_task`` (tests/plugins on the
path). ``NAS_FAKE_DELAY`` seconds per evaluation; an architecture whose fingerprint
starts with ``NAS_FAKE_FAIL_PREFIX`` fails. With ``NAS_FAKE_HOLD`` (a folder), each
process's evaluations after its first ``NAS_FAKE_HOLD_AFTER`` (default 1) write a file
there and then never end until interrupted: a test knows, with no clock, that those
evaluations are running when it sends its signal.
"""

from __future__ import annotations

import os
import time

import nas
from nas import Result

_evaluations = 0  # in this process


def _hold() -> None:
    """Past this process's first ``NAS_FAKE_HOLD_AFTER`` evaluations: say so, then wait
    to be interrupted (an evaluation that never ends by itself)."""
    global _evaluations
    _evaluations += 1
    folder = os.environ.get("NAS_FAKE_HOLD")
    if folder and _evaluations > int(os.environ.get("NAS_FAKE_HOLD_AFTER", "1")):
        path = os.path.join(folder, f"{os.getpid()}-{_evaluations}")
        with open(path + ".tmp", "w"):
            pass
        os.replace(path + ".tmp", path)  # seen complete or not at all
        while True:
            time.sleep(3600)


@nas.register_task("fake")
class FakeTask:
    """Fake: a deterministic pseudo-accuracy per architecture (tests only)."""

    name = "fake"
    in_shape = (1, 40)
    n_out = 10
    objective = ("val_acc", "max")
    metrics = ("val_acc", "params", "test_acc", "latency_ms")  # what evaluate reports

    def __init__(self, delay: float | None = None):
        self.delay = float(os.environ.get("NAS_FAKE_DELAY", "0")) if delay is None else delay

    def evaluate(self, graph, budget=None, seed=0, device="auto", report=None,
                 keep_weights=False):
        """A pseudo-accuracy from the fingerprint; nothing is trained, so no weights are
        kept whatever ``keep_weights`` says."""
        _hold()
        time.sleep(self.delay)
        fp = graph.fingerprint()
        prefix = os.environ.get("NAS_FAKE_FAIL_PREFIX")
        if prefix is not None and fp.startswith(prefix):
            return Result.failure("runtime error: fake failure")
        score = int(fp[:6], 16) / 0xFFFFFF
        params = float(nas.count_params(graph))
        return Result(objectives={"val_acc": score},
                      metrics={"params": params, "test_acc": score, "latency_ms": 1.0})
