"""Worker indexes taken from the storage, so that two commands on one study are two workers.

Each worker registers under a unique key in the study's system attributes and takes the
smallest index that no live worker holds (earlier registrations still choosing count
first, in the storage's order). A search run alone, or resumed after it stopped, is
worker 0 again, so its proposals repeat with its seed; a second command started on the
same run folder meanwhile is worker 1, with its own seed. ``--workers N`` children and
``nas worker --index K`` register the index they were given.

A registration is live until released; one left by a killed process counts as gone when
its process is gone (same host) or it has not been refreshed for ``stale_after_s``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time

PREFIX = "nas:worker:"


def local_process_alive(host: str | None, pid) -> bool | None:
    """Whether process ``pid`` of ``host`` still runs, when ``host`` is this machine (None
    for another machine or no pid: only a heartbeat can tell then)."""
    if host != socket.gethostname() or not pid:
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


class Claim:
    """A worker's registration in a study: its ``index``, kept fresh until released."""

    def __init__(self, study, index: int | None = None, stale_after_s: float = 60.0):
        self.study = study  # a nas.study.Study: the roster is in its system attributes
        self.stale_after_s = stale_after_s
        self.key = f"{PREFIX}{socket.gethostname()}:{os.getpid()}:{time.time_ns()}"
        self.entry = {"host": socket.gethostname(), "pid": os.getpid(), "at": time.time(),
                      "index": index}
        self._write()
        self.index = index if index is not None else self._choose()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._refresh, daemon=True)
        self._thread.start()

    def _write(self) -> None:
        self.study.set_system_attr(self.key, dict(self.entry))

    def _choose(self, rounds: int = 3) -> int:
        """The smallest index free of live workers; checked again after writing it, in
        case a worker registered earlier took the same one meanwhile."""
        index = 0
        for _ in range(rounds):
            entries = self._others()
            taken = {e["index"] for _, e, _ in entries if e.get("index") is not None}
            for _, e, earlier in entries:  # registered before us, still choosing
                if earlier and e.get("index") is None:
                    taken.add(_smallest_free(taken))
            index = _smallest_free(taken)
            self.entry["index"] = index
            self._write()
            clash = [k for k, e, earlier in self._others() if earlier and e.get("index") == index]
            if not clash:
                break
        return index

    def _others(self) -> list[tuple[str, dict, bool]]:
        """Other live registrations: (key, entry, registered before this one)."""
        out, earlier = [], True
        for key, entry in self.study.system_attrs().items():
            if not key.startswith(PREFIX):
                continue
            if key == self.key:
                earlier = False
            elif isinstance(entry, dict) and self._live(entry):
                out.append((key, entry, earlier))
        return out

    def _live(self, entry: dict) -> bool:
        if entry.get("released"):
            return False
        alive = local_process_alive(entry.get("host"), entry.get("pid"))
        if alive is not None:
            return alive
        return time.time() - float(entry.get("at") or 0) < self.stale_after_s

    def _refresh(self) -> None:
        while not self._stop.wait(max(1.0, self.stale_after_s / 4)):
            self.entry["at"] = time.time()
            try:
                self._write()
            except Exception:
                return

    def release(self) -> None:
        """Free the index for the next worker (a search resumed later is worker 0 again)."""
        self._stop.set()
        self._thread.join(timeout=5)
        self.entry["released"] = True
        with contextlib.suppress(Exception):  # unreachable: the entry goes stale by itself
            self._write()

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc) -> bool:
        self.release()
        return False


def _smallest_free(taken: set[int]) -> int:
    i = 0
    while i in taken:
        i += 1
    return i
