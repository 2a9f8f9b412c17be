"""The journal file's records and its end: what a readable record is, where the intact
records end, and moving a broken end aside (never deleting it). ``nas._journal`` replays
the records; this module only reads and trims the file."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

from optuna.storages.journal._file import JournalFileSymlinkLock, get_lock_file
from optuna.storages.journal._storage import JournalOperation as Op

DAMAGED = -1  # op code of a line that is not a readable record


NUMBER = (int, float)


FIELDS: dict[int, dict[str, type | tuple]] = {  # what the replay reads of each record
    Op.CREATE_STUDY: {"study_name": str, "directions": list},
    Op.DELETE_STUDY: {"study_id": int},
    Op.SET_STUDY_USER_ATTR: {"study_id": int, "user_attr": dict},
    Op.SET_STUDY_SYSTEM_ATTR: {"study_id": int, "system_attr": dict},
    Op.CREATE_TRIAL: {"study_id": int, "datetime_start": (str, type(None))},
    Op.SET_TRIAL_PARAM: {"trial_id": int, "param_name": str, "param_value_internal": NUMBER,
                         "distribution": str},
    Op.SET_TRIAL_STATE_VALUES: {"trial_id": int, "state": int, "values": (list, type(None))},
    Op.SET_TRIAL_INTERMEDIATE_VALUE: {"trial_id": int, "step": int,
                                      "intermediate_value": (*NUMBER, type(None))},
    Op.SET_TRIAL_USER_ATTR: {"trial_id": int, "user_attr": dict},
    Op.SET_TRIAL_SYSTEM_ATTR: {"trial_id": int, "system_attr": dict},
    Op.DISCARD_TRIALS: {},
}


@dataclass(frozen=True)
class MovedTail:
    """A broken end of a journal, moved out of it (never deleted)."""

    path: str  # where the bytes went: <journal>.corrupt-<time>
    offset: int  # where they were in the journal (its size now)
    length: int


def decode(line: bytes) -> dict | None:
    """The record on one complete line, or None when it is not one the replay can read."""
    try:
        log = json.loads(line)
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        return None
    if not isinstance(log, dict) or not isinstance(log.get("worker_id"), str):
        return None
    op = log.get("op_code")
    if type(op) is not int or op not in FIELDS:
        return None
    for key, types in FIELDS[op].items():
        if key not in log or isinstance(log[key], bool) or not isinstance(log[key], types):
            return None
    return log


def intact_end(data: bytes) -> int:
    """The end of the last intact record in ``data`` (0 when there is none)."""
    pos = data.rfind(b"\n") + 1
    while pos > 0:
        start = data.rfind(b"\n", 0, pos - 1) + 1
        if decode(data[start:pos]) is not None:
            return pos
        pos = start
    return 0


class NotAJournal(ValueError):
    """A file with bytes in it but no journal record."""


def move_broken_tail(path: str) -> MovedTail | None:
    """Move the bytes after the journal's last intact record to ``<path>.corrupt-<time>``
    (under the journal's write lock), so that new records follow intact ones.

    Raises :class:`NotAJournal` for a file with no intact record at all: it is left alone.
    """
    with open(path, "rb") as f:
        data = f.read()
    if intact_end(completed(data)) == len(data):
        return None
    with get_lock_file(JournalFileSymlinkLock(path)):  # no write half done while we look
        return move_tail(path, unfinished_only=False)


def completed(data: bytes) -> bytes:
    """``data``, with a newline added when its unfinished last line is a whole record."""
    start = data.rfind(b"\n") + 1
    if start < len(data) and decode(data[start:]) is not None:
        return data + b"\n"
    return data


def move_tail(path: str, unfinished_only: bool) -> MovedTail | None:
    """Under the lock: move a broken end (or only an unfinished last line) aside. A last
    line that is a whole record but for its newline gets the newline instead."""
    with open(path, "rb") as f:
        data = f.read()
    if completed(data) != data:
        with open(path, "ab") as f:
            f.write(b"\n")
            f.flush()
            os.fsync(f.fileno())
        data += b"\n"
    end = data.rfind(b"\n") + 1 if unfinished_only else intact_end(data)
    if end == len(data):
        return None
    if end == 0 and not unfinished_only:
        raise NotAJournal(not_a_journal(path))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target, k = f"{path}.corrupt-{stamp}", 1
    while os.path.exists(target):
        k += 1
        target = f"{path}.corrupt-{stamp}-{k}"
    with open(target, "xb") as out:
        out.write(data[end:])
        out.flush()
        os.fsync(out.fileno())
    with open(path, "r+b") as f:  # only once the copy is on disk
        f.truncate(end)
        f.flush()
        os.fsync(f.fileno())
    return MovedTail(target, end, len(data) - end)


def ends_a_line(path: str) -> bool:
    """Whether the file is empty or ends with a newline."""
    with open(path, "rb") as f:
        if f.seek(0, os.SEEK_END) == 0:
            return True
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def not_a_journal(path: str) -> str:
    return (f"'{path}' holds no journal record: not an optuna journal file (move it away "
            "to start afresh)")


__all__ = ["DAMAGED", "FIELDS", "MovedTail", "NotAJournal", "decode", "ends_a_line",
           "intact_end", "move_broken_tail", "move_tail", "not_a_journal"]
