"""bench/_cpu_clock.py: a benchmark's search timeout counted in CPU time."""

from __future__ import annotations

import time

from bench_helpers import load_bench

cpu_clock = load_bench("_cpu_clock")


def test_cpu_time_reads_wall_start_plus_cpu_spent():
    cpu = [10.0]
    clock = cpu_clock.CpuTime(process_time=lambda: cpu[0], wall=lambda: 5000.0)
    assert clock.time() == 5000.0
    cpu[0] += 2.5  # however long the wall clock took for it
    assert clock.time() == 5002.5


def test_the_runner_and_the_worker_read_it_until_undone():
    import nas.runner
    import nas.worker

    cpu = [0.0]
    clock = cpu_clock.CpuTime(process_time=lambda: cpu[0], wall=lambda: 100.0)
    try:
        assert cpu_clock.cpu_deadlines(clock) is clock
        cpu[0] = 7.0
        assert nas.runner.time.time() == nas.worker.time.time() == 107.0
        assert nas.worker.time.sleep is time.sleep  # the rest of the module as it was
    finally:
        cpu_clock.wall_deadlines()
    assert nas.runner.time is time and nas.worker.time is time
