"""Measurements of a trained candidate: inference latency and peak memory, and the names
of what a training run reports (so a search can check its objectives up front)."""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

import torch
from torch import nn

from evaluators.device import autocast, synchronize

# what every training run reports besides its scores, with the better direction (None:
# neither is better)
COSTS: dict[str, str | None] = {"params": "min", "flops": "min", "train_loss": "min",
                                "peak_mem_mb": "min", "train_time_s": "min",
                                "latency_ms": "min", "steps": None, "planned_steps": None,
                                "capped": None}  # step_ms only comes with a seconds cap


def trained_metrics(scores: dict[str, str | None]) -> dict[str, str | None]:
    """The metrics a training run of a task reports (a task's ``metrics``): each of its
    scores on the validation and test splits (``{"acc": "max"}`` -> ``val_acc``,
    ``test_acc``), then the costs."""
    return {**{f"{split}_{k}": d for split in ("val", "test") for k, d in scores.items()},
            **COSTS}


_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def latency_ms(model: nn.Module, x: torch.Tensor, runs: int = 20, warmup: int = 5) -> float:
    """Median wall time of one inference forward of ``x`` on its device, in milliseconds.

    Measured in eval mode under ``inference_mode`` and the device's autocast (bf16 on
    CUDA), after ``warmup`` untimed runs; CUDA is synchronized around each run.
    """
    device = x.device
    was_training = model.training
    model.eval()
    times = []
    try:
        with torch.inference_mode(), autocast(device):
            for i in range(warmup + runs):
                synchronize(device)
                t0 = time.perf_counter()
                model(x)
                synchronize(device)
                if i >= warmup:
                    times.append(time.perf_counter() - t0)
    finally:
        model.train(was_training)
    return statistics.median(times) * 1e3


class PeakMemory:
    """Peak memory of one run in MiB, between ``start()`` and ``stop()``.

    CUDA: ``torch.cuda.max_memory_allocated`` (tensors allocated by torch; exact).
    CPU on Linux: growth of the process's peak resident set (``VmHWM``, reset through
    ``/proc/self/clear_refs``) over the resident set at ``start()``. Memory the C
    allocator reuses from earlier candidates does not show as growth, so this is a
    lower bound. NaN where neither is available.
    """

    def __init__(self, device: torch.device):
        self.device = device
        self._base_kb: float = float("nan")

    def start(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            return
        self._base_kb = _status_kb("VmRSS")
        try:
            _CLEAR_REFS.write_text("5")  # resets VmHWM to the current resident set
        except OSError:
            self._base_kb = float("nan")

    def stop(self) -> float:
        if self.device.type == "cuda":
            return torch.cuda.max_memory_allocated(self.device) / 2**20
        return max(_status_kb("VmHWM") - self._base_kb, 0.0) / 1024


def _status_kb(field: str) -> float:
    try:
        m = re.search(rf"^{field}:\s+(\d+) kB", _STATUS.read_text(), re.MULTILINE)
    except OSError:
        return float("nan")
    return float(m.group(1)) if m else float("nan")
