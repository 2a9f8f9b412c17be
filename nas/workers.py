"""Who works on a study: one row per worker process (host, pid, index, device, trials
done, the trial it runs, its last sign of life), for ``nas status`` on many machines.

Read from what workers already store: their registration in the study's system
attributes (``nas._roster.Claim``: host, pid, index, refreshed every few seconds while
the process lives) and each trial's ``worker`` and ``device`` user attributes and
``heartbeat`` stamp. A worker that ran trials before registrations existed (an older
study) is found from its trials alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from nas._roster import PREFIX, local_process_alive


@dataclass(frozen=True)
class WorkerInfo:
    """One worker process of a study, as its registration and trials show it."""

    index: int | None  # the worker number (varies its strategy's seed)
    host: str
    pid: int
    device: str | None  # the device of its latest trial (None before its first)
    done: int  # trials it finished that count towards the target
    failed: int  # of those, failed ones
    running: int | None  # the trial number it runs now, if any
    last_seen: float | None  # unix time of its last heartbeat (registration or trial)
    state: str  # "working", "finished" (released its index) or "gone" (died, or silent)


def study_workers(study, stale_after_s: float | None = None,
                  now: float | None = None) -> list[WorkerInfo]:
    """Every worker that registered in ``study`` or ran one of its trials, by index then
    start. A worker is "gone" when its process is gone (this host) or silent for
    ``stale_after_s`` (default: the study's setting, else 60 s)."""
    now = time.time() if now is None else now
    if stale_after_s is None:
        stale_after_s = float(study.config.get("stale_after_s") or 60.0)
    rows: dict[tuple[str, int], dict] = {}
    for key, entry in study.system_attrs().items():
        if key.startswith(PREFIX) and isinstance(entry, dict) and entry.get("pid"):
            row = _row(rows, entry.get("host"), entry.get("pid"))
            row.update(index=entry.get("index"), registered=True,
                       released=bool(entry.get("released")))
            row["seen"] = max(row["seen"], float(entry.get("at") or 0))
    for rec in study.trials():
        who = rec.attrs.get("worker")
        if not isinstance(who, dict) or not who.get("pid"):
            continue
        row = _row(rows, who.get("host"), who.get("pid"))
        if row["index"] is None:
            row["index"] = who.get("index")
        row["device"] = rec.attrs.get("device") or row["device"]
        row["done"] += rec.counts
        row["failed"] += rec.counts and rec.state == "FAIL"
        if rec.state == "RUNNING":
            row["running"] = rec.number
        beat = rec.attrs.get("heartbeat") or 0
        end = (rec.started or 0) + (rec.duration_s or 0)
        row["seen"] = max(row["seen"], float(beat), end)
    out = [WorkerInfo(r["index"], r["host"], r["pid"], r["device"], r["done"], r["failed"],
                      r["running"], r["seen"] or None, _state(r, now, stale_after_s))
           for r in rows.values()]
    return sorted(out, key=lambda w: (w.index is None, w.index or 0, w.last_seen or 0))


def _row(rows: dict, host, pid) -> dict:
    key = (str(host), int(pid))
    if key not in rows:
        rows[key] = {"host": key[0], "pid": key[1], "index": None, "device": None,
                     "done": 0, "failed": 0, "running": None, "seen": 0.0,
                     "registered": False, "released": False}
    return rows[key]


def _state(row: dict, now: float, stale_after_s: float) -> str:
    if row["released"]:
        return "finished"
    alive = local_process_alive(row["host"], row["pid"])
    if alive is not None:
        return "working" if alive else "gone"
    if not row["registered"] and row["running"] is None:  # known from its trials alone
        return "finished"
    return "working" if now - row["seen"] < stale_after_s else "gone"


__all__ = ["WorkerInfo", "study_workers"]
