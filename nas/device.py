"""Device names a search may ask for, checked against this machine before anything trains."""

from __future__ import annotations


def check_device(device: str) -> None:
    """Raise ``ValueError`` saying what to change when ``device`` is not "auto", "cpu", or
    a CUDA (or MPS) device this machine has: "cuda" with no visible GPU, "cuda:7" with
    fewer, or a name torch does not know."""
    import torch

    text = str(device)
    if text == "auto":
        return
    try:
        dev = torch.device(text)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"unknown device {text!r}: use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"device {text!r}: this machine has no CUDA device torch can "
                             "use (a CPU build of torch, or no visible GPU); use cpu or auto")
        if dev.index is not None and dev.index >= count:
            raise ValueError(f"device {text!r}: this machine has {count} CUDA device(s) "
                             f"(cuda:0 to cuda:{count - 1}); use one of them, cuda or auto")
    elif dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(f"device {text!r}: MPS is not available here; use cpu or auto")
    elif dev.type != "cpu":
        raise ValueError(f"device {text!r} is not supported: use auto, cpu, cuda or cuda:N")
