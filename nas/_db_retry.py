"""Retries with backoff for transient database connection errors (SQL storages).

Hundreds of workers on one PostgreSQL meet refused connections: the server restarting,
``too many clients already`` past its ``max_connections``, a network blip. optuna
retries a trial's creation on a deadlock, and ``pool_pre_ping`` replaces a pooled
connection that died, but a connection that cannot be opened fails the call. Opening a
connection writes nothing, so retrying it is always safe: ``retry_connect`` does that,
with exponential backoff and jitter (so that workers restarted together do not retry
together). An error inside a transaction is not retried here: the write may or may not
have happened, and optuna rolls it back and raises.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

TRIES = 8  # connection attempts before the error is raised: 0.5+1+2+4+8+15+15 s of waiting
BASE_S = 0.5  # the first wait; each next one doubles...
CAP_S = 15.0  # ...up to this
PERMANENT = ("password authentication failed", "authentication failed", "does not exist",
             "no password supplied", "access denied", "unknown database",
             "invalid dsn", "unable to open database file")  # retrying will not help
BUSY = ("too many", "connection slots", "starting up", "shutting down", "recovery mode",
        "timeout", "timed out", "database is locked")  # a server that is there but busy

_log = logging.getLogger("nas.storage")


def backoff_delays(tries: int = TRIES, base_s: float = BASE_S, cap_s: float = CAP_S,
                   rng: random.Random | None = None) -> list[float]:
    """The waits between ``tries`` attempts: ``base_s * 2**k`` capped at ``cap_s``, each
    scaled by a random factor in [0.5, 1) when ``rng`` is given (jitter)."""
    delays = [min(cap_s, base_s * 2 ** k) for k in range(max(0, tries - 1))]
    if rng is not None:
        delays = [d * (0.5 + 0.5 * rng.random()) for d in delays]
    return delays


def transient(exc: BaseException, busy_only: bool = False) -> bool:
    """Whether a connection error may go away by itself (refused, too many clients, the
    server starting up, a timeout), rather than a wrong password or database name.
    ``busy_only``: only a server that answered busy (a refused connection is not one:
    when opening a storage it is more often a wrong host or port than a restart)."""
    text = str(exc).lower()
    if busy_only:
        return any(b in text for b in BUSY)
    return not any(p in text for p in PERMANENT)


def retry_connect(connect: Callable[[], object], errors: tuple[type[BaseException], ...],
                  delays: list[float], sleep: Callable[[float], None] = time.sleep,
                  busy_only: bool = False):
    """``connect()``, again after each of ``delays`` while it raises a transient one of
    ``errors`` (``transient(exc, busy_only)``); the last error, or any other, is raised."""
    for attempt, delay in enumerate([*delays, None]):
        try:
            return connect()
        except errors as exc:
            if delay is None or not transient(exc, busy_only):
                raise
            _log.warning("database connection failed (%s: %s); retry %d of %d in %.1f s",
                         type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "",
                         attempt + 1, len(delays), delay)
            sleep(delay)
    raise AssertionError("not reached")


def add_connect_retries(engine, tries: int = TRIES, sleep: Callable[[float], None] = time.sleep,
                        rng: random.Random | None = None) -> None:
    """Make every new connection of a SQLAlchemy ``engine`` retry transient errors
    (through its ``do_connect`` event, which opens the connection in SQLAlchemy's stead)."""
    from sqlalchemy import event

    errors = _dbapi_errors(engine.dialect)
    rng = rng or random.Random()

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, conn_rec, cargs, cparams):
        return retry_connect(lambda: dialect.connect(*cargs, **cparams), errors,
                             backoff_delays(tries, rng=rng), sleep)


def _dbapi_errors(dialect) -> tuple[type[BaseException], ...]:
    """The driver's OperationalError (refused, too many clients, timeouts)."""
    dbapi = getattr(dialect, "dbapi", None) or getattr(dialect, "loaded_dbapi", None)
    error = getattr(dbapi, "OperationalError", None)
    return (error,) if isinstance(error, type) else (OSError,)
