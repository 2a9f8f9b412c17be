"""A journal file that a crash or a disk error cannot make unreadable.

optuna's journal is one JSON record per line, replayed in order. Study and trial ids
are counted during the replay, not stored, and optuna stops reading at the first line
it cannot decode. Here instead:

- every line that decodes to a well-formed record is replayed; a damaged line (cut
  short, junk, bad JSON or missing fields) is skipped and reported with its byte offset
  and length;
- a damaged line that created a trial or a study is replaced by a placeholder (a
  failed trial that says it was lost; the study, named from what is left of the line),
  so that the ids of the records after it stay right. It is recognised by what is left
  of the line, or by later records that refer to an id nobody created;
- a writer never appends after an unfinished line, and writing commands first move a
  broken end of the file (no intact record after it) aside to
  ``<journal>.corrupt-<time>`` under the journal's lock: the intact records stay.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
import uuid
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import Any

from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.storages.journal._file import get_lock_file
from optuna.storages.journal._storage import JournalOperation as Op
from optuna.storages.journal._storage import JournalStorageReplayResult
from optuna.trial import TrialState

from nas._journal_file import (
    DAMAGED,
    MovedTail,
    NotAJournal,
    decode,
    ends_a_line,
    move_broken_tail,
    move_tail,
    not_a_journal,
)

LOST = "damaged"  # user attr of the failed trial standing in for a lost one
_STALE = "stale"  # counted like a trial whose worker died: no verdict, not in the target
_SALVAGE = {key: re.compile(rb'"' + key.encode() + rb'":\s*(\d+)[,}]')
            for key in ("op_code", "study_id")}
_SALVAGE_NAME = re.compile(rb'"study_name":\s*("(?:[^"\\]|\\.)*")')
_SALVAGE_DIRECTIONS = re.compile(rb'"directions":\s*\[([12](?:,\s*[12])*)\]')


@dataclass(frozen=True)
class JournalDamage:
    """Damaged bytes of a journal file, skipped when it was read."""

    offset: int  # the first damaged byte
    length: int  # damaged bytes (one place: consecutive damaged lines together)
    at_end: bool  # no intact record after it: a crash while writing, or junk appended
    lost: tuple[str, ...] = ()  # what the damaged records held, when known: "trial 3"
    skipped: int = 0  # later intact records dropped: they belong to a lost trial
    unfinished: bool = False  # the last line has no end yet (a crash, or a write going on)
















class TolerantJournalBackend(JournalFileBackend):
    """A journal file read line by line: each complete line is one log number, a damaged
    one is handed on as a marker (the replay decides what it was), an unfinished last
    line is left for the next read (its writer may still be at work)."""

    def __init__(self, file_path: str, create: bool = True) -> None:
        if not create and not os.path.isfile(file_path):
            raise FileNotFoundError(file_path)
        super().__init__(file_path)  # creates a missing file (create=True only)
        self.end = 0  # end of the complete lines read so far
        self.unfinished: tuple[int, int] | None = None  # an unfinished last line: offset, bytes
        self.moved: list[MovedTail] = []  # broken ends this process moved aside
        self._damaged_run: tuple[int, Any] | None = None  # damaged lines read last: start, hash

    @property
    def path(self) -> str:
        return self._file_path

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_damaged_run": None}  # a hash object does not pickle

    def read_logs(self, log_number_from: int) -> Generator[dict[str, Any], None, None]:
        with open(self._file_path, "rb") as f:
            start = self._log_number_offset.get(log_number_from)
            number = log_number_from
            if start is None:  # never handed out by this backend: read from the start
                start, number = 0, 0
            start = self._after_repair(f, start, number)
            f.seek(start)
            data = f.read()
        pos, run = start, self._damaged_run
        while True:
            stop = data.find(b"\n", pos - start)
            if stop < 0:
                break
            line = data[pos - start:stop + 1]
            log = decode(line)
            self._log_number_offset[number + 1] = pos + len(line)
            if log is None:
                if run is None:
                    run = (pos, hashlib.sha1())
                run[1].update(line)
                log = {"op_code": DAMAGED, "worker_id": "", "raw": line[:1024]}
            else:
                run = None
            pos += len(line)
            if number >= log_number_from:
                yield log
            number += 1
        self.end, self._damaged_run = pos, run
        rest = len(data) - (pos - start)
        self.unfinished = (pos, rest) if rest else None

    def _after_repair(self, f, start: int, number: int) -> int:
        """Where to go on after the damaged lines read last were moved aside by another
        process: it cut the file where they began, so new records start there."""
        if self._damaged_run is None or start != self.end:
            return start
        run_start, digest = self._damaged_run
        f.seek(run_start)
        if hashlib.sha1(f.read(start - run_start)).digest() == digest.digest():
            return start
        self._damaged_run = None
        self._log_number_offset[number] = run_start
        return run_start

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        text = "\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n"
        with get_lock_file(self._lock):
            if not ends_a_line(self._file_path):  # a writer died mid-line
                moved = move_tail(self._file_path, unfinished_only=True)
                if moved is not None:
                    self.moved.append(moved)
            with open(self._file_path, "ab") as f:
                f.write(text.encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())




class _Replay(JournalStorageReplayResult):
    """optuna's replay, told about damaged lines: it skips them, keeps ids aligned with
    placeholders for lost creations, and notes what each cost."""

    def __init__(self, worker_id_prefix: str, offsets: dict[int, int]) -> None:
        super().__init__(worker_id_prefix)
        self._offsets = offsets  # log number -> byte offset (the backend's)
        self.damaged: list[list] = []  # [offset, length, lost or None, records skipped]
        self._lost: dict[int, list] = {}  # placeholder trial id -> its damaged entry
        self._last_study: int | None = None  # study of the last trial created
        self.records = 0  # intact records replayed

    def apply_logs(self, logs: Iterable[dict[str, Any]]) -> None:
        logs = list(logs)  # damaged lines are judged by the records after them
        for i, log in enumerate(logs):
            if log["op_code"] == DAMAGED:
                self._apply_damaged(logs, i, _salvage(log["raw"]))
                continue
            tid = log.get("trial_id")
            if tid is not None and tid in self._lost:
                self._lost[tid][3] += 1
                self.log_number_read += 1
                continue
            trials, studies = len(self._trials), self._next_study_id
            try:
                super().apply_logs([log])
            except Exception:
                if self._is_issued_by_this_worker(log):
                    raise
                if len(self._trials) != trials or self._next_study_id != studies:
                    continue  # applied, then failed on its way out: keep what it did
                self.log_number_read -= 1  # well-formed but unreadable (a bit flip): damaged
                self._apply_damaged(logs, i, _salvage(json.dumps(log).encode()))
                continue
            self.records += 1
            if log["op_code"] == Op.CREATE_TRIAL and log["study_id"] in self._studies:
                self._last_study = log["study_id"]

    def _apply_damaged(self, logs: list[dict], i: int, known: dict) -> None:
        number = self.log_number_read
        offset = self._offsets[number]
        entry = [offset, self._offsets.get(number + 1, offset) - offset, None, 0]
        self.damaged.append(entry)
        self.log_number_read += 1
        lost = _lost_creation(logs, i, known, len(self._trials), self._next_study_id)
        if lost == "study":
            study_id = self._next_study_id
            name = known.get("study_name")
            if not isinstance(name, str) or name in (s.study_name for s in
                                                     self._studies.values()):
                taken = "search" in (s.study_name for s in self._studies.values())
                name = f"damaged-{offset}" if taken else "search"
            directions = known.get("directions") or _directions(logs[i + 1:], study_id)
            self._apply_create_study({"op_code": Op.CREATE_STUDY, "worker_id": "",
                                      "study_name": name, "directions": directions})
            entry[2] = f"the creation of study '{name}' (recovered)"
        elif lost == "trial":
            study_id = known.get("study_id")
            if study_id not in self._studies:
                study_id = self._last_study if self._last_study in self._studies else \
                    next(iter(self._studies), None)
            if study_id is None:
                return
            tid = len(self._trials)
            error = f"lost: its record in the journal (byte {offset}) was damaged"
            self._apply_create_trial({
                "op_code": Op.CREATE_TRIAL, "worker_id": "", "study_id": study_id,
                "datetime_start": None, "state": TrialState.FAIL.value,
                "user_attrs": {"error": error, LOST: True, _STALE: True}})
            self._lost[tid] = entry
            entry[2] = f"trial {self._trials[tid].number}"


def _salvage(raw: bytes) -> dict:
    """What can still be read of a damaged line: its op code, study id, name, directions."""
    out: dict[str, Any] = {}
    for key, pattern in _SALVAGE.items():
        m = pattern.search(raw)
        if m:
            out[key] = int(m.group(1))
    m = _SALVAGE_NAME.search(raw)
    if m:
        with contextlib.suppress(ValueError):
            out["study_name"] = json.loads(m.group(1))
    m = _SALVAGE_DIRECTIONS.search(raw)
    if m:
        out["directions"] = [int(d) for d in m.group(1).split(b",")]
    return out


def _lost_creation(logs: list[dict], i: int, known: dict, trials: int,
                   studies: int) -> str | None:
    """'trial' or 'study' when the damaged line ``logs[i]`` created one, else None.

    A later record that refers to a trial (or study) id not created yet says that a
    creation was lost; the records up to the next damaged line are the evidence. Failing
    that, what is left of the line's op code decides.
    """
    for log in logs[i + 1:]:
        op = log["op_code"]
        if op == DAMAGED:
            break
        if op != Op.CREATE_STUDY and log.get("study_id", -1) >= studies:
            return "study"
        if log.get("trial_id", -1) >= trials:
            return "trial"
        if op == Op.CREATE_STUDY:
            studies += 1
        elif op == Op.CREATE_TRIAL:
            trials += 1
    return {Op.CREATE_TRIAL: "trial", Op.CREATE_STUDY: "study"}.get(known.get("op_code"))


def _directions(logs: list[dict], study_id: int) -> list[int]:
    """A lost study's directions, from its ``objectives`` attribute (nas writes it next)."""
    for log in logs:
        if log["op_code"] == Op.SET_STUDY_USER_ATTR and log["study_id"] == study_id:
            objectives = log["user_attr"].get("objectives")
            if isinstance(objectives, list) and objectives:
                return [2 if isinstance(o, list) and o[-1:] == ["max"] else 1
                        for o in objectives]
    return [1]  # minimize


class TolerantJournalStorage(JournalStorage):
    """optuna's JournalStorage over :class:`TolerantJournalBackend`: reads every intact
    record and reports what it skipped (:meth:`damage`)."""

    def __init__(self, backend: TolerantJournalBackend) -> None:
        self._worker_id_prefix = str(uuid.uuid4()) + "-"
        self._backend = backend
        self._thread_lock = threading.Lock()
        self._replay_result = _Replay(self._worker_id_prefix, backend._log_number_offset)
        with self._thread_lock:
            self._sync_with_backend()

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        self._replay_result = _Replay(self._worker_id_prefix, self._backend._log_number_offset)

    @property
    def path(self) -> str:
        """The journal file."""
        return self._backend.path

    @property
    def moved(self) -> list[MovedTail]:
        """Broken ends of the file this process moved aside before writing."""
        return list(self._backend.moved)

    def damage(self) -> list[JournalDamage]:
        """Damaged places found so far (consecutive damaged lines are one place)."""
        with self._thread_lock:
            self._sync_with_backend()
            replay, backend = self._replay_result, self._backend
            places: list[list] = []
            for offset, length, lost, skipped in sorted(replay.damaged):
                if places and places[-1][0] + places[-1][1] == offset:
                    last = places[-1]
                    last[1] += length
                    last[2] += [lost] if lost else []
                    last[3] += skipped
                else:
                    places.append([offset, length, [lost] if lost else [], skipped, False])
            if backend.unfinished is not None:
                offset, length = backend.unfinished
                if places and places[-1][0] + places[-1][1] == offset:
                    places[-1][1] += length
                    places[-1][4] = True
                else:
                    places.append([offset, length, [], 0, True])
            end = backend.end + (backend.unfinished[1] if backend.unfinished else 0)
            return [JournalDamage(o, n, o + n == end, tuple(lost), skipped, unfinished)
                    for o, n, lost, skipped, unfinished in places]

    def is_journal(self) -> bool:
        """False for a file whose complete lines are all damaged: some other file."""
        return self._replay_result.records > 0 or not self._replay_result.damaged


def open_journal(path: str, create: bool = True) -> TolerantJournalStorage:
    """The journal at ``path``. ``create`` (writers): a missing file is created and a
    broken end is first moved aside; else the file must exist and is only read."""
    moved = None
    if create and os.path.isfile(path) and os.path.getsize(path) > 0:
        moved = move_broken_tail(path)
    backend = TolerantJournalBackend(path, create)
    if moved is not None:
        backend.moved.append(moved)
    storage = TolerantJournalStorage(backend)
    if not storage.is_journal():
        raise NotAJournal(not_a_journal(path))
    return storage




__all__ = ["JournalDamage", "TolerantJournalBackend", "TolerantJournalStorage", "open_journal"]
