"""Where a study is stored: an optuna storage opened from a URL, a journal file path or
a run folder, and the names and errors that go with it.

The default storage is a journal file in the run folder (no server); many machines
share a PostgreSQL (or MySQL) URL. Opening never changes a storage a reader opens.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import optuna

from nas._db_retry import TRIES, add_connect_retries, backoff_delays, retry_connect
from nas._grpc import ProxyError, connect
from nas._journal import open_journal
from nas._journal_file import NotAJournal

JOURNAL = "study.journal"
# Connections a worker process may hold to a SQL storage. Its main loop, trial heartbeat
# and registration refresh each write alone; measured, two overlap at most (a worker
# holds 2): two kept open, one more for a moment, and a call past that waits.
POOL_SIZE = 2
MAX_OVERFLOW = 1
POOL_TIMEOUT_S = 30.0  # how long a call waits for a free connection before failing


class StorageError(RuntimeError):
    """A storage that cannot be reached or a study that does not fit the request."""


STORAGE_FORMS = ("a journal file path, journal://PATH, sqlite:///FILE.db, "
                 "postgresql://USER:PW@HOST/DB, mysql://USER:PW@HOST/DB or grpc://HOST:PORT")


def open_storage(url: str | os.PathLike | None, run_dir: str | os.PathLike | None = None,
                 create: bool = True):
    """An optuna storage from a URL, a journal file path, or the run folder's journal.

    ``create`` is for writers: a missing journal (and its folder) is created, and a
    broken end of an existing one is moved aside first. Readers pass ``create=False``:
    nothing is created or changed, and a missing journal or SQLite file is an error.
    A journal's damaged records are skipped, never fatal: see ``storage.damage()``.
    """
    if url is None:
        if run_dir is None:
            return optuna.storages.InMemoryStorage()
        if create:
            Path(run_dir).mkdir(parents=True, exist_ok=True)
        url = Path(run_dir) / JOURNAL
    kind, text = storage_kind(str(url))
    try:
        if kind == "grpc":  # optuna's storage proxy (nas storage serve)
            return _shared_proxy(text)
        if kind == "rdb":
            if not create:
                _require_sqlite_file(text)
            return _shared_rdb(text)
        if not create and not Path(text).is_file():
            raise StorageError(f"no journal file '{text}'" + (
                " (it is a folder)" if Path(text).is_dir() else "; check the path"))
        if create:
            Path(text).parent.mkdir(parents=True, exist_ok=True)
        return open_journal(text, create=create)
    except StorageError:
        raise
    except (NotAJournal, ProxyError) as exc:
        raise StorageError(str(exc)) from None
    except ImportError as exc:
        raise StorageError(f"storage '{redact(text)}' needs a database driver that is not "
                           f"installed ({exc}); for PostgreSQL: pip install "
                           "'nas-toolkit[postgres]'") from None
    except Exception as exc:  # sqlalchemy OperationalError, OSError and friends
        raise StorageError(f"cannot open storage '{redact(text)}': "
                           f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from None


def storage_kind(url: str) -> tuple[str, str]:
    """``("journal", path)``, ``("rdb", SQLAlchemy URL)`` or ``("grpc", "HOST:PORT")``; an
    unknown scheme is an error.

    ``postgres://`` (Heroku's spelling) is read as ``postgresql://``; a path without a
    scheme is a journal file.
    """
    if "://" not in url:
        return "journal", url
    scheme, rest = url.split("://", 1)
    base = scheme.split("+", 1)[0].lower()
    if base == "journal":
        return "journal", rest
    if base == "postgres":
        url = "postgresql" + url[len("postgres"):]
        base = "postgresql"
    if base in ("sqlite", "postgresql", "mysql"):
        return "rdb", url
    if base == "grpc":
        return "grpc", rest
    raise StorageError(f"unknown storage '{redact(url)}': use {STORAGE_FORMS}")


def _require_sqlite_file(url: str) -> None:
    """A reader must not create an empty SQLite database where none was."""
    if not url.lower().startswith("sqlite") or ":///" not in url:
        return
    path = url.split(":///", 1)[1].split("?", 1)[0]
    if path and path != ":memory:" and not Path(path).is_file():
        raise StorageError(f"no SQLite database file '{path}'; check the path")


_SERVERS: dict[tuple[int, str], optuna.storages.RDBStorage] = {}  # (pid, url): open ones


def _shared_rdb(url: str) -> optuna.storages.RDBStorage:
    """One storage, so one pool, per database server and process: a command that opens
    a PostgreSQL or MySQL URL several times (to check it, then to work) would otherwise
    hold a pool for each until garbage collection. SQLite files are opened anew (a file
    replaced on disk must not be read through an old connection)."""
    if url.lower().startswith("sqlite"):
        return open_rdb(url)
    key = (os.getpid(), url)
    if key not in _SERVERS:
        _SERVERS[key] = open_rdb(url)
    return _SERVERS[key]


def _shared_proxy(address: str):
    """One gRPC proxy client per proxy address and process (``nas._grpc.connect``)."""
    key = (os.getpid(), "grpc://" + address)
    if key not in _SERVERS:
        _SERVERS[key] = connect(address)
    return _SERVERS[key]


def open_rdb(url: str, tries: int = TRIES, sleep=time.sleep) -> optuna.storages.RDBStorage:
    """optuna's RDBStorage with a bounded connection pool, whose connections retry
    transient errors with backoff (``nas._db_retry``). Opening it retries only a busy
    server (too many clients, starting up), so a wrong host fails at once."""
    import sqlalchemy.exc

    storage = retry_connect(
        lambda: optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs(url)),
        (sqlalchemy.exc.OperationalError,), backoff_delays(tries, rng=random.Random()),
        sleep, busy_only=True)
    add_connect_retries(storage.engine, tries, sleep)
    return storage


def engine_kwargs(url: str) -> dict:
    """SQLAlchemy engine settings: a pool of at most ``POOL_SIZE + MAX_OVERFLOW``
    connections per process (``POOL_SIZE`` kept open), checked before use."""
    if url.lower().startswith("sqlite") and (":memory:" in url or url.rstrip("/") == "sqlite:"):
        return {}  # one in-memory database per connection: SQLAlchemy's own pool
    kwargs = {"pool_size": POOL_SIZE, "max_overflow": MAX_OVERFLOW,
              "pool_timeout": POOL_TIMEOUT_S, "pool_pre_ping": True}
    if url.startswith("postgresql"):
        kwargs["connect_args"] = {"connect_timeout": 10}
    return kwargs


def redact(url: str) -> str:
    """Hide a password in a URL before printing it."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def storage_folder(url: str | os.PathLike | None,
                   run_dir: str | os.PathLike | None = None) -> Path | None:
    """The folder paths inside a run are relative to: ``run_dir``, else the folder of the
    storage's file (a journal file, or a sqlite database); None for a server."""
    if run_dir is not None:
        return Path(run_dir)
    if url is None:
        return None
    text = str(url)
    if text.startswith("sqlite:///"):
        return Path(text[len("sqlite:///"):]).parent
    if "://" in text and not text.startswith("journal://"):
        return None
    return Path(text.removeprefix("journal://")).parent


__all__ = ["JOURNAL", "MAX_OVERFLOW", "POOL_SIZE", "STORAGE_FORMS", "StorageError",
           "engine_kwargs", "open_rdb", "open_storage", "redact", "storage_folder",
           "storage_kind"]
