"""A task that only sleeps (for bench/runner_overhead.py): loaded with NAS_PLUGINS."""

from __future__ import annotations

import os
import time

import nas


class SleepTask:
    """Sleep: each evaluation sleeps NAS_SLEEP_S seconds and scores by fingerprint."""

    name = "sleep"
    in_shape = (1, 40)
    n_out = 10
    objective = ("val_acc", "max")

    def evaluate(self, graph, budget=None, seed=0, device="auto", report=None,
                 keep_weights=False):
        t0 = time.perf_counter()
        time.sleep(float(os.environ.get("NAS_SLEEP_S", "1.0")))
        score = int(graph.fingerprint()[:6], 16) / 0xFFFFFF
        return nas.Result(objectives={"val_acc": score},
                          metrics={"eval_s": time.perf_counter() - t0})


def register() -> None:
    """Register the "sleep" task unless it is: a bench run in a process where the module
    was imported before (and its registration since undone, as tests do) still finds it."""
    if "sleep" not in nas.list_tasks():
        nas.register_task("sleep")(SleepTask)


register()
