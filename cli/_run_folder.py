"""A search's run folder and study, before and after ``nas search``/``nas resume`` run:
whether the folder can be written, what an existing study holds already (the progress
lines go on from it), and what Ctrl-C left and how to continue."""

from __future__ import annotations

import os
from pathlib import Path

import nas
from cli._common import console, fail, warn_journal


def check_run_dir(run_dir: Path) -> None:
    """A run folder must be a folder, and one this user can write (a search adds trials)."""
    from nas.storage import JOURNAL

    if run_dir.exists() and not run_dir.is_dir():
        raise fail(f"--run-dir '{run_dir}' is a file: give a folder (a new one, or a run "
                   "folder to continue)")
    journal = run_dir / JOURNAL
    if run_dir.is_dir() and not (os.access(run_dir, os.W_OK | os.X_OK) and
                                 (not journal.exists() or os.access(journal, os.W_OK))):
        raise fail(f"cannot write to run folder '{run_dir}' (read-only): continuing it adds "
                   f"trials there. Copy it somewhere writable (cp -r {run_dir} NEW_DIR) and "
                   "resume the copy, or start a new run with another --run-dir")


def print_interrupted(storage, study, run_dir) -> None:
    """After Ctrl-C: what the storage holds and how to continue."""
    from nas.storage import redact
    from nas.trial import INTERRUPTED

    summary = ""
    try:
        st = nas.Study.load(nas.open_storage(storage, run_dir, create=False), study or "search")
        trials = st.trials()
        stopped = sum(r.state == "FAIL" and bool(r.attrs.get(INTERRUPTED)) for r in trials)
        counts = {s: sum(r.state == s for r in trials) for s in ("COMPLETE", "PRUNED", "FAIL")}
        counts["FAIL"] -= stopped
        summary = ", ".join(f"{v} {k.lower()}" for k, v in counts.items() if v)
        summary = f"{summary or 'no trial finished'}"
        if stopped:
            summary += f"; {stopped} running trial(s) stopped (marked 'interrupted', not counted)"
        best = st.best
        if best is not None:
            summary += f"; best {st.objectives[0].name} {best.values[0]:.4g} (trial {best.number})"
    except Exception:  # the summary must not hide the interruption itself
        pass
    console.print(f"\ninterrupted: finished trials are saved. {summary}", highlight=False)
    if run_dir is not None and storage is None:
        console.print(f"continue with: nas resume {run_dir}", highlight=False, soft_wrap=True)
    elif storage is not None:
        console.print(f"continue with the same nas search command, or: nas worker --storage "
                      f"{redact(storage)} --study {study or 'search'}", highlight=False,
                      soft_wrap=True)


def existing(storage, study, run_dir, warn: bool = True) -> tuple[int, float | None]:
    """Finished trials (that count) already in an existing study and its best first
    objective so far ((0, None) for a new one).

    Opens it as a writer: a broken end of its journal is moved aside before anything is
    appended, and (``warn``) what the damage cost is printed.
    """
    from nas.storage import JOURNAL, storage_kind

    if storage is None and (run_dir is None or not (Path(run_dir) / JOURNAL).exists()):
        return 0, None
    try:
        kind, path = storage_kind(storage) if storage is not None else ("", "")
        if kind == "journal" and not Path(path).exists():
            return 0, None
        opened = nas.open_storage(storage, run_dir)
        if warn:
            warn_journal(opened)
        st = nas.Study.load(opened, study or "search")
    except Exception:
        return 0, None
    best = st.best
    return st.finished_count(), best.values[0] if best is not None else None


__all__ = ["check_run_dir", "existing", "print_interrupted"]
