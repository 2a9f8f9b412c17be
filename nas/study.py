"""Study: every candidate is an optuna trial in an optuna storage.

Params are the decisions, user attributes hold the graph JSON, fingerprint, metrics,
failure reason, device and heartbeat, values are the objectives. The storage is the
single source of truth: resume, extra workers, the leaderboard and export read it.
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import optuna
from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import FrozenTrial, TrialState

from nas._domain import Domain
from nas._journal import JournalDamage, MovedTail, NotAJournal, open_journal
from nas.graph import ArchGraph
from nas.result import Result

optuna.logging.set_verbosity(optuna.logging.WARNING)

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


def distribution(domain: Domain):
    """The optuna distribution for a decision domain."""
    if domain.kind in ("choice", "bool"):
        return CategoricalDistribution(list(domain.options))
    if domain.kind == "int":
        return IntDistribution(int(domain.low), int(domain.high), step=int(domain.step),
                               log=domain.log)
    return FloatDistribution(domain.low, domain.high, log=domain.log)


@dataclass
class TrialRecord:
    """A frozen, readable view of one stored trial."""

    number: int
    state: str  # COMPLETE, FAIL, PRUNED, RUNNING, WAITING
    values: list[float] | None
    decisions: dict
    objectives: dict[str, float]
    metrics: dict[str, float]
    fingerprint: str | None
    error: str | None
    graph_json: str | None = field(repr=False, default=None)
    attrs: dict = field(repr=False, default_factory=dict)
    duration_s: float | None = None
    started: float | None = None  # unix time the trial started
    trial_id: int | None = field(repr=False, default=None)  # the storage's id for it

    @property
    def graph(self) -> ArchGraph:
        if not self.graph_json:
            raise ValueError(f"trial {self.number} has no stored architecture")
        return ArchGraph.from_json(self.graph_json)

    @property
    def result(self) -> Result:
        return Result(dict(self.objectives), dict(self.metrics),
                      self.error if self.state == "FAIL" else None,
                      pruned=self.state == "PRUNED")

    @property
    def capped(self) -> bool:
        """Whether a time cap cut its training short (``Result.capped``)."""
        return self.result.capped

    def to_dict(self) -> dict:
        return {"number": self.number, "state": self.state, "values": self.values,
                "decisions": self.decisions, "objectives": self.objectives,
                "metrics": self.metrics, "fingerprint": self.fingerprint, "error": self.error,
                "duration_s": self.duration_s, "capped": self.capped}


class Study:
    """A handle on a search's optuna study: trials, best, leaderboard, Pareto front."""

    def __init__(self, storage, name: str, objectives: list[tuple[str, str]],
                 create: bool = True, pruner=None):
        self.storage = storage
        self.name = name
        self.objectives = list(objectives)
        self._finished: dict[int, TrialRecord] = {}  # finished trials never change: read once
        self.created = False  # whether this handle created the study (not opened it)
        directions = ["maximize" if d == "max" else "minimize" for _, d in self.objectives]
        try:
            existing = optuna.study.get_all_study_names(storage) if create else [name]
        except Exception as exc:
            raise StorageError(f"cannot read studies from the storage: {exc}") from None
        if name in existing:
            self.optuna = optuna.load_study(study_name=name, storage=storage, pruner=pruner)
            stored = self.optuna.user_attrs.get("objectives")
            if stored is not None and [tuple(o) for o in stored] != self.objectives:
                raise StorageError(
                    f"study '{name}' exists with objectives {_fmt(stored)}, not "
                    f"{_fmt(self.objectives)}; use another --study name or the same "
                    "--objectives")
        else:
            try:
                self.optuna = optuna.create_study(study_name=name, storage=storage,
                                                  directions=directions, pruner=pruner)
            except optuna.exceptions.DuplicatedStudyError:  # another command created it
                self.__init__(storage, name, objectives, create=False, pruner=pruner)
                return
            self.optuna.set_user_attr("objectives", [list(o) for o in self.objectives])
            self.created = True
        self._study_id = self.optuna._study_id

    @classmethod
    def load(cls, storage, name: str | None = None) -> Study:
        """Open an existing study (the only one in the storage when ``name`` is None)."""
        names = optuna.study.get_all_study_names(storage)
        if name is None:
            if len(names) != 1:
                raise StorageError(f"the storage holds {len(names)} studies "
                                   f"({', '.join(names) or 'none'}); pass --study NAME")
            name = names[0]
        if name not in names:
            raise StorageError(f"no study '{name}' in the storage (found: "
                               f"{', '.join(names) or 'none'})")
        s = optuna.load_study(study_name=name, storage=storage)
        objectives = [tuple(o) for o in s.user_attrs.get("objectives", [])] or [
            (f"value{i}", "max" if d == optuna.study.StudyDirection.MAXIMIZE else "min")
            for i, d in enumerate(s.directions)]
        return cls(storage, name, objectives, create=False)

    # ------------------------------------------------------------ settings kept with it
    @property
    def config(self) -> dict:
        return dict(self.optuna.user_attrs.get("config", {}))

    def set_config(self, config: dict) -> None:
        self.optuna.set_user_attr("config", config)

    # ------------------------------------------------------------ writing
    def new_trial(self, decisions: dict, domains: dict, user_attrs: dict) -> tuple[int, int]:
        """Create a RUNNING trial with its params and user attributes in one storage write,
        so a crash never leaves a trial that does not say which worker ran it.

        Returns ``(trial_id, number)``.
        """
        dists = {name: distribution(domains[name]) for name in decisions}
        template = FrozenTrial(number=-1, state=TrialState.RUNNING, value=None, values=None,
                               datetime_start=datetime.now(), datetime_complete=None,
                               params=dict(decisions), distributions=dists,
                               user_attrs=user_attrs, system_attrs={}, intermediate_values={},
                               trial_id=-1)
        tid = self.storage.create_new_trial(self._study_id, template_trial=template)
        return tid, self.storage.get_trial_number_from_id(tid)

    # ------------------------------------------------------------ reading
    def trials(self, states: tuple[str, ...] | None = None) -> list[TrialRecord]:
        """Every trial (or those in ``states``), by number.

        One read of the storage; a finished trial is converted once and then served
        from a cache (optuna never changes a finished trial), so calling this per trial
        stays cheap at thousands of trials. Treat the records as read-only.
        """
        wanted = None if states is None else tuple(TrialState[s] for s in states)
        out = []
        for t in self.optuna.get_trials(deepcopy=False, states=wanted):
            rec = self._finished.get(t.number)
            if rec is None:
                rec = _record(t, self.objectives)
                if t.state.is_finished():
                    self._finished[t.number] = rec
            out.append(rec)
        return out

    def trial(self, number: int) -> TrialRecord:
        """One trial by number, read alone (not the whole study)."""
        rec = self._finished.get(number)
        if rec is not None:
            return rec
        tid = self.storage.get_trial_id_from_study_id_trial_number(self._study_id, number)
        t = self.storage.get_trial(tid)
        rec = _record(t, self.objectives)
        if t.state.is_finished():
            self._finished[number] = rec
        return rec

    def completed(self) -> list[TrialRecord]:
        return self.trials(("COMPLETE",))

    @property
    def best(self) -> TrialRecord | None:
        """The best completed trial by the first objective (None before any)."""
        done = self.completed()
        if not done:
            return None
        sign = 1 if self.objectives[0][1] == "max" else -1
        return max(done, key=lambda r: sign * r.values[0])

    def pareto_front(self) -> list[TrialRecord]:
        """Completed trials no other completed trial dominates."""
        from nas.strategies._pareto import nondominated_ranks

        done = self.completed()
        signed = [[v if d == "max" else -v for v, (_, d) in zip(r.values, self.objectives)]
                  for r in done]
        ranks = nondominated_ranks(signed)
        return [r for r, k in zip(done, ranks) if k == 0]

    def leaderboard(self, include_failed: bool = True):
        """A pandas DataFrame: one row per trial, best first, failed ones last.

        Trials of a training task carry ``steps``, ``planned_steps`` and ``capped``
        (True when a time cap cut the training short: a shorter schedule's score,
        ranked by it all the same).
        """
        import pandas as pd

        rows = []
        for r in self.trials():
            if not include_failed and r.state != "COMPLETE":
                continue
            row = {"number": r.number, "state": r.state}
            row.update({name: r.objectives.get(name, math.nan) for name, _ in self.objectives})
            for key in ("test_acc", "params", "flops", "latency_ms", "train_time_s",
                        "steps", "planned_steps"):
                if key in r.metrics and key not in row:
                    row[key] = r.metrics[key]
            if "capped" in r.metrics:  # a time cap cut its training short
                row["capped"] = r.capped
            row["fingerprint"] = r.fingerprint
            row["error"] = r.error
            row["decisions"] = json.dumps(r.decisions, sort_keys=True)
            rows.append(row)
        df = pd.DataFrame(rows)
        if df.empty:
            return df
        name, direction = self.objectives[0]
        df["_done"] = df["state"] == "COMPLETE"
        df = df.sort_values(["_done", name], ascending=[False, direction == "min"],
                            na_position="last").drop(columns="_done")
        return df.reset_index(drop=True)


def _fmt(objectives) -> str:
    return ",".join(f"{n}:{d}" for n, d in objectives)


def _record(t, objectives) -> TrialRecord:
    attrs = dict(t.user_attrs)
    metrics = attrs.get("metrics", {}) or {}
    values = list(t.values) if t.values is not None else None
    objs = {}
    if values is not None:
        objs = {name: v for (name, _), v in zip(objectives, values)}
    duration = None
    if t.datetime_start and t.datetime_complete:
        duration = (t.datetime_complete - t.datetime_start).total_seconds()
    return TrialRecord(
        number=t.number, state=t.state.name, values=values,
        decisions=dict(attrs.get("decisions", t.params)), objectives=objs, metrics=metrics,
        fingerprint=attrs.get("fingerprint"), error=attrs.get("error"),
        graph_json=attrs.get("graph"), attrs=attrs, duration_s=duration,
        started=t.datetime_start.timestamp() if t.datetime_start else None,
        trial_id=t._trial_id)


def worker_identity() -> dict:
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}


__all__ = ["JOURNAL", "STORAGE_FORMS", "JournalDamage", "MovedTail", "Study", "StorageError",
           "TrialRecord", "TrialState", "distribution", "open_storage", "storage_kind",
           "worker_identity"]
