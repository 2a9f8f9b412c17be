"""A search's timeout counted in its process's CPU time, for benchmarks on a busy machine.

A benchmark that gives every search the same wall-clock (bench/multifidelity.py) measures
the machine's load as much as the searches when other jobs run beside it: at load 4 on
2 cores a 6-minute search gets about 3 minutes of a core. With one torch thread a run,
a search's CPU time is its wall-clock time on a quiet machine, and other jobs barely
change it, so ``cpu_deadlines()`` makes the search's timeout (the runner's deadline and
the worker's check of it) and the benchmark's own time stamps read
``wall-clock at the start + CPU seconds spent since``. Benchmarks only: the library's
``--timeout`` stays wall-clock, which is what a user waits for.
"""

from __future__ import annotations

import time
import types


class CpuTime:
    """``time()``: the wall-clock time at creation plus the process's CPU seconds since
    (every thread's: one torch thread, the heartbeat and storage threads idle)."""

    def __init__(self, process_time=time.process_time, wall=time.time):
        self._process_time = process_time
        self._cpu0, self._wall0 = process_time(), wall()

    def time(self) -> float:
        return self._wall0 + (self._process_time() - self._cpu0)


def cpu_deadlines(clock: CpuTime | None = None) -> CpuTime:
    """Point the runner's and the worker's ``time.time`` at ``clock`` (default: a new
    ``CpuTime``) for the rest of this process (a benchmark's worker process); returns it."""
    import nas.runner
    import nas.worker

    clock = clock or CpuTime()
    shim = types.SimpleNamespace(**{k: getattr(time, k) for k in dir(time)
                                    if not k.startswith("__")})
    shim.time = clock.time
    nas.runner.time = shim
    nas.worker.time = shim
    return clock


def wall_deadlines() -> None:
    """Undo ``cpu_deadlines``: the runner and the worker read the wall clock again."""
    import nas.runner
    import nas.worker

    nas.runner.time = nas.worker.time = time
