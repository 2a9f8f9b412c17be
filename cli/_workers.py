"""The workers table that `nas status` prints for a study searched by several workers."""

from __future__ import annotations

import time

from rich import box
from rich.table import Table

from cli._common import console
from nas.workers import study_workers


def ago(seconds: float | None) -> str:
    """12s ago, 4m ago, 3h ago, 2d ago; "-" for never."""
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"


def print_workers(st, now: float | None = None) -> None:
    """One row per worker (index, host, pid, device, trials done, running trial, last
    heartbeat, state), when more than one worker has worked on the study."""
    workers = study_workers(st, now=now)
    if len(workers) < 2:
        return
    now = time.time() if now is None else now
    live = sum(w.state == "working" for w in workers)
    table = Table(title=f"workers: {len(workers)} ({live} working)", title_justify="left",
                  header_style="bold", box=box.SIMPLE_HEAD)
    for name in ("#", "host", "pid", "device", "done", "failed", "running", "heartbeat",
                 "state"):
        table.add_column(name, no_wrap=True,
                         justify="left" if name in ("host", "device", "state") else "right")
    for w in workers:
        table.add_row("-" if w.index is None else str(w.index), w.host, str(w.pid),
                      w.device or "-", str(w.done), str(w.failed),
                      "-" if w.running is None else f"#{w.running}",
                      ago(None if w.last_seen is None else now - w.last_seen), w.state)
    console.print(table)
