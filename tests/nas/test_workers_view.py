"""nas.study_workers: one row per worker, from registrations and trials (issue 22, 5).

The study is written by hand (registrations as ``nas._roster.Claim`` writes them, trials
with the attributes a worker stamps), so each row's expected value is known in advance.
"""

from __future__ import annotations

import time

from nas import Result, Study, open_storage, study_workers
from nas._roster import PREFIX


def _trial(st: Study, who: dict, device: str, result: Result | None, beat: float) -> int:
    tid, number = st.new_trial({}, {}, {"worker": who, "device": device, "heartbeat": beat})
    if result is not None:
        st.finish(tid, result)
    return number


def test_rows_from_registrations_and_trials(tmp_path):
    st = Study(open_storage(None, tmp_path), "s", [("val_acc", "max")])
    t0 = time.time()
    a = {"host": "node-a", "pid": 11, "index": 0}
    b = {"host": "node-b", "pid": 22, "index": 1}
    c = {"host": "node-c", "pid": 33, "index": 2}
    d = {"host": "node-d", "pid": 44, "index": 3}  # an older study: no registration
    st.set_system_attr(PREFIX + "node-a:11:1", {**a, "at": t0 + 90})
    st.set_system_attr(PREFIX + "node-b:22:2", {**b, "at": t0 - 100})
    st.set_system_attr(PREFIX + "node-c:33:3", {**c, "at": t0 - 500, "released": True})
    st.set_system_attr("unrelated", {"pid": 99})
    ok, bad = Result({"val_acc": 0.5}, {}), Result.failure("boom")
    _trial(st, a, "cuda:0", ok, t0)
    _trial(st, a, "cuda:0", bad, t0)
    _trial(st, a, "cuda:1", ok, t0)
    running = _trial(st, b, "cpu", None, t0 - 100)
    _trial(st, d, "cuda:0", ok, t0)
    rows = study_workers(st, stale_after_s=60, now=t0 + 100)
    got = [(w.index, w.host, w.pid, w.device, w.done, w.failed, w.running, w.state)
           for w in rows]
    assert got == [(0, "node-a", 11, "cuda:1", 3, 1, None, "working"),
                   (1, "node-b", 22, "cpu", 0, 0, running, "gone"),
                   (2, "node-c", 33, None, 0, 0, None, "finished"),
                   (3, "node-d", 44, "cuda:0", 1, 0, None, "finished")]
    assert rows[0].last_seen == t0 + 90  # its registration, refreshed after its trials
    # b's running trial started about t0 (a real clock): its last sign of life
    assert t0 - 1 < rows[1].last_seen < t0 + 100 - 60
    assert study_workers(st, stale_after_s=600, now=t0 + 100)[1].state == "working"


def test_a_study_with_no_worker_has_no_rows(tmp_path):
    st = Study(open_storage(None, tmp_path), "s", [("val_acc", "max")])
    assert study_workers(st) == []
