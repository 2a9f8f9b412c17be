"""Failure isolation: turn what a bad candidate raises into a reason string.

Every reason starts with one of ``REASONS`` so a study can group failures by kind;
after a failure, ``free_memory`` returns cached memory so the next candidate starts
clean.
"""

from __future__ import annotations

import contextlib
import gc

import torch

REASONS = ("compile error:", "runtime error:", "non-finite loss", "out of memory", "time limit")


class CandidateFailure(Exception):
    """Raised inside the trainer for a known failure; its message is the reason."""


def is_out_of_memory(exc: BaseException) -> bool:
    """CUDA's OutOfMemoryError, Python's MemoryError, or a RuntimeError saying so."""
    if isinstance(exc, torch.cuda.OutOfMemoryError | MemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def describe_failure(exc: BaseException) -> str:
    """The reason string for ``exc`` (the first line of its message, shortened).

    torch.compile's own errors (raised on the first forward) count as compile errors.
    """
    if isinstance(exc, CandidateFailure):
        return str(exc)
    if is_out_of_memory(exc):
        return f"out of memory: {_brief(exc)}"
    if type(exc).__module__.startswith(("torch._dynamo", "torch._inductor")):
        return f"compile error: torch.compile: {type(exc).__name__}: {_brief(exc)}"
    return f"runtime error: {type(exc).__name__}: {_brief(exc)}"


def compile_failure(exc: BaseException) -> CandidateFailure:
    """The failure for a graph that could not be built into a module."""
    return CandidateFailure(f"compile error: {type(exc).__name__}: {_brief(exc)}")


def free_memory(device: torch.device) -> None:
    """Collect garbage (tensors held by reference cycles) and empty the CUDA cache."""
    gc.collect()
    if device.type == "cuda":
        with contextlib.suppress(RuntimeError):  # a broken context cannot be saved here
            torch.cuda.synchronize(device)
        torch.cuda.empty_cache()


def _brief(exc: BaseException, limit: int = 300) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
