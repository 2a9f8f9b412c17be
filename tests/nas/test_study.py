"""A trial's life through Study: created, kept alive, reported to a pruner, finished with
each kind of Result, failed when its worker died, counted and ranked; and optuna's
logging left as the user set it."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time

import optuna
import pytest

import nas
from nas import Domain, Objective, Result, Study
from nas.study import quiet_optuna

DOMAINS = {"width": Domain.choice("width", [8, 16, 32])}


def _study(objectives=(("val_acc", "max"),)) -> Study:
    return Study(nas.open_storage(None), "s", list(objectives))


def _new(st: Study, fingerprint: str = "fp", width: int = 8, **attrs) -> tuple[int, int]:
    user = {"fingerprint": fingerprint, "decisions": {"width": width},
            "worker": {"host": socket.gethostname(), "pid": os.getpid()},
            "heartbeat": time.time(), **attrs}
    return st.new_trial({"width": width}, DOMAINS, user)


def _done(st: Study, result: Result, **kw) -> nas.TrialRecord:
    tid, number = _new(st, fingerprint=f"fp{len(st.trials())}")
    assert st.finish(tid, result, **kw) is True
    return st.trial(number)


# ---------------------------------------------------------------------- finish


def test_finish_stores_each_kind_of_result():
    st = _study([("val_acc", "max"), ("params", "min")])
    assert st.objectives == [Objective("val_acc", "max"), Objective("params", "min")]
    ok = _done(st, Result({"params": 10.0, "val_acc": 0.5},
                          {"test_acc": 0.4, "loss": float("inf"), "shape": (1, 2)}))
    assert ok.state == "COMPLETE" and ok.values == [0.5, 10.0]  # in the objectives' order
    assert ok.objectives == {"val_acc": 0.5, "params": 10.0}
    assert ok.metrics == {"test_acc": 0.4, "loss": None, "shape": "(1, 2)"}  # JSON-able
    assert ok.counts and not ok.stopped and ok.error is None

    failed = _done(st, Result.failure("runtime error: boom", steps=3))
    assert (failed.state, failed.values, failed.error) == ("FAIL", None, "runtime error: boom")
    assert failed.metrics == {"steps": 3} and failed.counts

    pruned = _done(st, Result({"val_acc": 0.1}, {}, pruned=True))
    assert pruned.state == "PRUNED" and pruned.values is None and pruned.counts

    stopped = _done(st, Result.failure("interrupted"), interrupted=True)
    assert stopped.state == "FAIL" and stopped.attrs["interrupted"] is True
    assert stopped.stopped and not stopped.counts


def test_finish_keeps_the_fail_of_a_worker_declared_dead_meanwhile():
    st = _study()
    tid, number = _new(st, heartbeat=time.time() - 100)
    assert [r.number for r in st.recover_stale(60)] == [number]
    assert st.finish(tid, Result({"val_acc": 0.9})) is False  # the late worker: no crash
    rec = st.trial(number)
    assert rec.state == "FAIL" and rec.values is None and rec.stopped


# ---------------------------------------------------------------------- dead workers


def test_recover_stale_fails_silent_trials_once_and_spares_live_ones():
    st = _study()
    _, old = _new(st, "a", heartbeat=time.time() - 120)
    _, fresh = _new(st, "b")
    recovered = st.recover_stale(60)
    assert [r.number for r in recovered] == [old]
    rec = st.trial(old)
    assert rec.state == "FAIL" and rec.attrs["stale"] is True and rec.stopped
    assert rec.error.startswith("worker died (no heartbeat for 12")
    assert st.trial(fresh).state == "RUNNING"
    assert st.recover_stale(60) == []  # already failed: nobody gets it twice
    assert st.recover_stale(60, st.trials()) == []


def test_recover_stale_fails_a_trial_whose_local_process_is_gone_at_once():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # a pid of this host that no longer runs
    st = _study()
    _, number = _new(st, worker={"host": socket.gethostname(), "pid": proc.pid})
    assert [r.number for r in st.recover_stale(3600)] == [number]


def test_heartbeat_stamps_the_trial_while_inside():
    st = _study()
    tid, number = _new(st, heartbeat=0.0)
    with st.heartbeat(tid, every=0.02):
        deadline = time.time() + 10  # a loaded machine may be slow to run the thread
        while st.trial(number).attrs["heartbeat"] == 0.0 and time.time() < deadline:
            time.sleep(0.01)
    beat = st.trial(number).attrs["heartbeat"]
    assert 0.0 < beat <= time.time()  # stamped with the time of a beat
    time.sleep(0.1)
    assert st.trial(number).attrs["heartbeat"] == beat  # stopped on leaving


# ---------------------------------------------------------------------- counting


def test_counts_remaining_and_twins():
    st = _study()
    _done(st, Result({"val_acc": 0.5}))
    _done(st, Result.failure("runtime error: x"))
    _done(st, Result({"val_acc": 0.1}, pruned=True))
    _done(st, Result.failure("interrupted"), interrupted=True)
    _, dead = _new(st, "dead", heartbeat=time.time() - 999)
    st.recover_stale(60)
    _new(st, "running")
    assert st.finished_count() == 3  # complete, fail, pruned; not interrupted nor stale
    assert st.remaining(10) == 10 - 3 - 1  # the running one is started already
    assert st.remaining(10, [r for r in st.trials() if r.state != "RUNNING"]) == 7
    assert st.twin("fp0").number == 0 and st.twin("running").state == "RUNNING"
    assert st.twin("fp3") is None and st.twin("dead") is None  # no verdict: may run again
    assert st.twin("never") is None


def test_ranked_and_best_follow_the_first_objective_direction():
    st = _study([("val_loss", "min")])
    assert st.best is None and st.ranked() == []
    for v in (0.3, 0.1, 0.2, 0.1):
        _done(st, Result({"val_loss": v}))
    _done(st, Result.failure("runtime error: x"))
    assert [r.number for r in st.ranked()] == [1, 3, 2, 0]  # ties: lower number first
    assert st.best.number == 1
    assert list(st.leaderboard()["number"])[:4] == [1, 3, 2, 0]


def test_load_reads_directions_of_a_study_made_by_optuna_alone():
    storage = nas.open_storage(None)
    optuna.create_study(storage=storage, study_name="plain", directions=["minimize", "maximize"])
    st = Study.load(storage)
    assert st.objectives == [Objective("value0", "min"), Objective("value1", "max")]


def test_delete_if_empty_removes_only_an_empty_study_this_handle_created():
    storage = nas.open_storage(None)
    Study(storage, "kept", [("val_acc", "max")])
    opened = Study(storage, "kept", [("val_acc", "max")])
    opened.delete_if_empty()  # opened, not created here
    created = Study(storage, "gone", [("val_acc", "max")])
    created.delete_if_empty()
    full = Study(storage, "full", [("val_acc", "max")])
    _new(full)
    full.delete_if_empty()
    assert sorted(optuna.study.get_all_study_names(storage)) == ["full", "kept"]


# ---------------------------------------------------------------------- pruning


def test_reporter_prunes_a_trial_below_the_median_after_warmup():
    st = _study()
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    for _ in range(3):
        tid, _ = _new(st)
        report = st.reporter(tid, pruner)
        assert not any(report(step, 0.9) for step in range(3))  # startup: never pruned
        st.finish(tid, Result({"val_acc": 0.9}))
    tid, number = _new(st)
    report = st.reporter(tid, pruner)
    assert not report(0, 0.1)  # warmup step
    assert report(1, 0.1)
    assert st.trial(number).trial_id == tid
    good, _ = _new(st)
    report = st.reporter(good, pruner)
    assert not report(0, 0.95) and not report(1, 0.95)


# ---------------------------------------------------------------------- optuna's logging


def test_import_nas_leaves_optuna_logging_alone():
    code = ("import optuna\n"
            "optuna.logging.set_verbosity(optuna.logging.DEBUG)\n"
            "import nas, nas.runner, nas.worker, cli.main\n"
            "assert optuna.logging.get_verbosity() == optuna.logging.DEBUG, "
            "optuna.logging.get_verbosity()\n")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=root)
    assert proc.returncode == 0, proc.stderr


def test_optuna_is_quiet_while_the_toolkit_works_and_the_level_comes_back():
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append
    logger = logging.getLogger("optuna")
    logger.addHandler(handler)
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)
    try:
        _study()  # creating a study logs at INFO in optuna
        with quiet_optuna():
            assert optuna.logging.get_verbosity() == optuna.logging.WARNING
            optuna.create_study()
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        with quiet_optuna():  # never louder than the user asked
            assert optuna.logging.get_verbosity() == optuna.logging.ERROR
        assert optuna.logging.get_verbosity() == optuna.logging.ERROR
    finally:
        logger.removeHandler(handler)
        optuna.logging.set_verbosity(before)
    assert [r.getMessage() for r in seen if r.levelno <= logging.INFO] == []


@pytest.mark.parametrize("verbosity", [optuna.logging.INFO, optuna.logging.DEBUG])
def test_search_restores_optuna_verbosity(tmp_path, verbosity):
    import fake_task  # noqa: F401  (registers the "fake" task)

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(verbosity)
    try:
        nas.search("mlp", "fake", trials=1, seed=0)
        assert optuna.logging.get_verbosity() == verbosity
    finally:
        optuna.logging.set_verbosity(before)
