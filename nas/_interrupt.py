"""Ctrl-C (SIGINT) for a worker: interrupt an evaluation at once, never a storage write.

While a worker runs, SIGINT is only *noted*; it raises ``KeyboardInterrupt`` inside the
sections marked interruptible (the evaluation, the strategy's proposal), where nothing
is half-written. A SIGINT that lands in a storage write is raised when the write is
done, at the next interruptible section, or seen by the loop before it starts another
trial. A second SIGINT before the first took effect raises at once (``force``): the
user insists; a trial may then be left RUNNING, and the stale recovery fails it on
resume.
"""

from __future__ import annotations

import contextlib
import signal
import threading


class Interrupts:
    """Install with ``with Interrupts() as intr:``; mark safe sections ``intr.allowed()``.

    Outside the main thread (where Python cannot receive signals) it does nothing.
    ``force=False`` turns the second-SIGINT escape off: for workers whose parent owns
    that decision (it kills them), and which may get one SIGINT from the terminal and
    one forwarded by the parent.
    """

    def __init__(self, force: bool = True):
        self.force = force
        self.requested = 0  # SIGINTs received
        self._open = False  # inside an interruptible section
        self._previous = None

    def _handler(self, signum, frame) -> None:
        self.requested += 1
        if self._open or (self.force and self.requested > 1):
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def allowed(self):
        """A section that SIGINT may interrupt (raises at once if one is pending)."""
        was, self._open = self._open, True
        try:
            if self.requested:
                raise KeyboardInterrupt
            yield
        finally:
            self._open = was

    @contextlib.contextmanager
    def deferred(self):
        """A section (a storage write) that SIGINT must not cut in half."""
        was, self._open = self._open, False
        try:
            yield
        finally:
            self._open = was

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc) -> bool:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        return False
