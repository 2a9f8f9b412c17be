"""SQL storages: a bounded pool per worker, and connections that retry transient errors
with backoff (issue 22, deliverable 2)."""

from __future__ import annotations

import random
import sqlite3
import sqlite3.dbapi2
import threading

import optuna
import pytest
import sqlalchemy.exc

import nas.storage
import nas.study
from nas import StorageError, open_storage
from nas._db_retry import backoff_delays, retry_connect, transient
from nas.storage import MAX_OVERFLOW, POOL_SIZE, open_rdb


class Flaky:
    """A connect function failing ``n`` times with ``message``, then connecting."""

    def __init__(self, n: int, message: str, real=None):
        self.n, self.message, self.real, self.calls, self.failed = n, message, real, 0, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls <= self.n:
            self.failed += 1
            raise sqlite3.OperationalError(self.message)
        return self.real(*args, **kwargs) if self.real else "connection"


def test_backoff_doubles_up_to_a_cap_with_jitter_below_each():
    assert backoff_delays(6, base_s=0.5, cap_s=3.0) == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff_delays(1) == [] and backoff_delays(0) == []
    plain = backoff_delays(6, base_s=0.5, cap_s=3.0)
    jittered = backoff_delays(6, base_s=0.5, cap_s=3.0, rng=random.Random(0))
    assert all(d / 2 <= j < d for d, j in zip(plain, jittered, strict=True))


def test_transient_errors_are_retried_with_the_delays_given():
    waits: list[float] = []
    flaky = Flaky(2, "FATAL: sorry, too many clients already")
    assert retry_connect(flaky, (sqlite3.OperationalError,), [1.0, 2.0, 4.0],
                         waits.append) == "connection"
    assert flaky.calls == 3 and waits == [1.0, 2.0]


def test_retries_end_and_permanent_errors_are_not_retried():
    waits: list[float] = []
    with pytest.raises(sqlite3.OperationalError, match="too many"):
        retry_connect(Flaky(9, "too many clients"), (sqlite3.OperationalError,), [1.0, 2.0],
                      waits.append)
    assert waits == [1.0, 2.0]  # three attempts, then the last error
    waits.clear()
    wrong = Flaky(9, 'FATAL: password authentication failed for user "nas"')
    with pytest.raises(sqlite3.OperationalError, match="password"):
        retry_connect(wrong, (sqlite3.OperationalError,), [1.0, 2.0], waits.append)
    assert wrong.calls == 1 and waits == []
    with pytest.raises(ValueError):  # not a database error: not retried either
        retry_connect(lambda: int("x"), (sqlite3.OperationalError,), [1.0], waits.append)
    refused = Flaky(1, "connection refused")  # on opening: a wrong host, most often
    with pytest.raises(sqlite3.OperationalError):
        retry_connect(refused, (sqlite3.OperationalError,), [1.0], waits.append,
                      busy_only=True)
    assert refused.calls == 1 and waits == []
    assert transient(sqlite3.OperationalError("connection refused"))
    assert transient(sqlite3.OperationalError("the database system is starting up"), True)


def test_a_storage_opens_and_reconnects_through_injected_errors(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    waits: list[float] = []
    flaky = Flaky(2, "database is locked", real=sqlite3.connect)
    monkeypatch.setattr(sqlite3.dbapi2, "connect", flaky)  # what SQLAlchemy calls
    storage = open_rdb(url, tries=4, sleep=waits.append)  # opening: a busy server
    assert flaky.failed == 2 and len(waits) == 2
    study_id = storage.create_new_study([nas.study.StudyDirection.MAXIMIZE], "s")
    storage.engine.dispose()  # every pooled connection gone, as after a server restart
    flaky.calls, flaky.failed, flaky.message = 0, 0, "disk I/O error"
    assert storage.get_study_id_from_name("s") == study_id  # reconnected, after 2 waits
    assert flaky.failed == 2 and len(waits) == 4
    storage.engine.dispose()
    flaky.calls, flaky.failed, flaky.n = 0, 0, 99  # never back: the error, after every try
    with pytest.raises(optuna.exceptions.StorageInternalError) as exc:
        storage.get_study_id_from_name("s")
    assert "disk I/O error" in str(exc.value.__cause__)
    assert flaky.failed == 4 and len(waits) == 7


def test_opening_a_storage_that_refuses_fails_at_once(tmp_path, monkeypatch):
    flaky = Flaky(99, "unable to connect: connection refused")
    monkeypatch.setattr(sqlite3.dbapi2, "connect", flaky)  # what SQLAlchemy calls
    with pytest.raises(StorageError, match="connection refused"):
        open_storage(f"sqlite:///{tmp_path / 'nas.db'}")
    assert flaky.calls == 1


def test_a_worker_process_holds_a_bounded_pool(tmp_path, monkeypatch):
    monkeypatch.setattr(nas.storage, "POOL_TIMEOUT_S", 0.2)
    storage = open_storage(f"sqlite:///{tmp_path / 'nas.db'}")
    engine = storage.engine
    held = [engine.connect() for _ in range(POOL_SIZE + MAX_OVERFLOW)]
    errors = []

    def one_more():
        try:
            engine.connect().close()
        except sqlalchemy.exc.TimeoutError as exc:
            errors.append(exc)
    thread = threading.Thread(target=one_more)
    thread.start()
    thread.join(timeout=10)
    assert len(errors) == 1 and f"size {POOL_SIZE} overflow {MAX_OVERFLOW}" in str(errors[0])
    for conn in held:
        conn.close()
    assert engine.pool.checkedout() == 0
    assert engine.pool.size() == POOL_SIZE  # kept open afterwards: the overflow one closed
