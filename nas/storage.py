"""Where a study is stored: an optuna storage opened from a URL, a journal file path or
a run folder, and the names and errors that go with it.

The default storage is a journal file in the run folder (no server); many machines
share a PostgreSQL (or MySQL) URL. Opening never changes a storage a reader opens.
"""

from __future__ import annotations

import os
from pathlib import Path

import optuna

from nas._journal import open_journal
from nas._journal_file import NotAJournal

JOURNAL = "study.journal"


class StorageError(RuntimeError):
    """A storage that cannot be reached or a study that does not fit the request."""


STORAGE_FORMS = ("a journal file path, journal://PATH, sqlite:///FILE.db, "
                 "postgresql://USER:PW@HOST/DB or mysql://USER:PW@HOST/DB")


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
        if kind == "rdb":
            if not create:
                _require_sqlite_file(text)
            return optuna.storages.RDBStorage(text, engine_kwargs=_engine_kwargs(text))
        if not create and not Path(text).is_file():
            raise StorageError(f"no journal file '{text}'" + (
                " (it is a folder)" if Path(text).is_dir() else "; check the path"))
        if create:
            Path(text).parent.mkdir(parents=True, exist_ok=True)
        return open_journal(text, create=create)
    except StorageError:
        raise
    except NotAJournal as exc:
        raise StorageError(str(exc)) from None
    except ImportError as exc:
        raise StorageError(f"storage '{redact(text)}' needs a database driver that is not "
                           f"installed ({exc}); for PostgreSQL: pip install "
                           "'nas-toolkit[postgres]'") from None
    except Exception as exc:  # sqlalchemy OperationalError, OSError and friends
        raise StorageError(f"cannot open storage '{redact(text)}': "
                           f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from None


def storage_kind(url: str) -> tuple[str, str]:
    """``("journal", path)`` or ``("rdb", SQLAlchemy URL)``; an unknown scheme is an error.

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
    raise StorageError(f"unknown storage '{redact(url)}': use {STORAGE_FORMS}")


def _require_sqlite_file(url: str) -> None:
    """A reader must not create an empty SQLite database where none was."""
    if not url.lower().startswith("sqlite") or ":///" not in url:
        return
    path = url.split(":///", 1)[1].split("?", 1)[0]
    if path and path != ":memory:" and not Path(path).is_file():
        raise StorageError(f"no SQLite database file '{path}'; check the path")


def _engine_kwargs(url: str) -> dict:
    if url.startswith("postgresql"):
        return {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
    return {}


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


__all__ = ["JOURNAL", "STORAGE_FORMS", "StorageError", "open_storage", "redact",
           "storage_folder", "storage_kind"]
