"""Ctrl-C: a search stops at once, keeps what finished, marks the running trial, resumes.

The running trial becomes FAIL with error "interrupted"; it does not count towards the
target and is not told to the strategy, so a resume still runs the full budget.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from cli_helpers import PLUGINS, nas_cli
from fake_task import FakeTask

import nas
from nas import Study, open_storage
from nas._interrupt import Interrupts


def _sigint_self() -> None:
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.01)  # Python runs the handler at the next bytecode boundary


# ---------------------------------------------------------------------- the guard


def test_sigint_is_deferred_outside_allowed_sections_and_raised_at_the_next_one():
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when run as a background job
    with Interrupts() as intr:
        _sigint_self()  # a storage write would be running here: no exception
        assert intr.requested == 1
        with pytest.raises(KeyboardInterrupt), intr.allowed():
            pass  # pragma: no cover (raised on entry)
    with Interrupts() as intr, pytest.raises(KeyboardInterrupt), intr.allowed():
        _sigint_self()  # inside an allowed section: raised at once
    assert signal.getsignal(signal.SIGINT) is before  # restored


def test_a_second_sigint_forces_unless_the_parent_owns_that():
    with Interrupts() as intr, intr.deferred():
        _sigint_self()
        with pytest.raises(KeyboardInterrupt):
            _sigint_self()
    with Interrupts(force=False) as intr:  # a child worker: terminal + parent both signal
        _sigint_self()
        _sigint_self()
        assert intr.requested == 2
        with pytest.raises(KeyboardInterrupt), intr.allowed():
            pass  # pragma: no cover


# ---------------------------------------------------------------------- in process


@nas.register_task("ctrl_c_test")
class CtrlCTask(FakeTask):
    """The fake task, where Ctrl-C arrives during evaluation number ``interrupt_at``."""

    interrupt_at: int | None = None
    calls = 0
    ran_on = False  # the evaluation went on after Ctrl-C

    def evaluate(self, graph, **kw):
        CtrlCTask.calls += 1
        if CtrlCTask.calls == CtrlCTask.interrupt_at:
            _sigint_self()
            CtrlCTask.ran_on = True  # pragma: no cover (a prompt stop never gets here)
            time.sleep(60)  # pragma: no cover (a long evaluation)
        return super().evaluate(graph, **kw)


def test_python_api_ctrl_c_records_then_resume_completes(tmp_path):
    CtrlCTask.calls, CtrlCTask.interrupt_at, CtrlCTask.ran_on = 0, 4, False
    handler = signal.getsignal(signal.SIGINT)  # SIG_IGN when run as a background job
    with pytest.raises(KeyboardInterrupt):
        nas.search("mlp", "ctrl_c_test", trials=6, run_dir=tmp_path, seed=2)
    assert not CtrlCTask.ran_on  # the 60 s evaluation was cut short at the signal
    assert CtrlCTask.calls == 4  # and nothing was evaluated after it
    st = Study.load(open_storage(None, tmp_path))
    states = [(t.number, t.state, t.error) for t in st.trials()]
    assert states == [(0, "COMPLETE", None), (1, "COMPLETE", None), (2, "COMPLETE", None),
                      (3, "FAIL", "interrupted")]
    before = {t.number: t.values for t in st.completed()}
    CtrlCTask.interrupt_at = None
    st = nas.search("mlp", "ctrl_c_test", trials=6, run_dir=tmp_path, seed=2)
    done = st.completed()
    assert len(done) == 6 and not st.trials(("RUNNING",))
    assert {n: v for n, v in ((t.number, t.values) for t in done) if n in before} == before
    assert st.trials()[3].error == "interrupted"  # kept, not counted
    assert signal.getsignal(signal.SIGINT) is handler  # restored


# ---------------------------------------------------------------------- through the CLI


def _start(run, hold, workers: int, trials: int) -> subprocess.Popen:
    """The search in a subprocess; each worker finishes one trial, then its second
    evaluation writes a file in ``hold`` and runs until interrupted (fake_task.py)."""
    env = dict(os.environ, PYTHONPATH=PLUGINS, NAS_PLUGINS="fake_task", NAS_FAKE_DELAY="0",
               NAS_FAKE_HOLD=str(hold), NAS_FAKE_HOLD_AFTER="1", COLUMNS="200")
    return subprocess.Popen([sys.executable, "-m", "cli.main", "search", "--space", "mlp",
                             "--task", "fake", "--trials", str(trials), "--workers",
                             str(workers), "--run-dir", str(run), "--keep-weights", "0"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def _wait_for_held_trials(proc, run, hold, workers: int, timeout: float = 300):
    """Wait until every worker is inside an evaluation that only a signal ends (a hang
    guard, not a timing check: a quick or slow machine waits the same way); the RUNNING
    trials then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if len(list(hold.iterdir())) == workers:
            st = Study.load(open_storage(None, run))
            running = st.trials(("RUNNING",))
            assert len(running) == workers and len(st.completed()) == workers
            return running
        time.sleep(0.1)
    raise AssertionError("the search never got that far")


def _interrupt_then_resume(tmp_path, workers: int, whom: str) -> None:
    run, hold, trials = tmp_path / "run", tmp_path / "hold", 5
    hold.mkdir()
    proc = _start(run, hold, workers, trials=trials)
    fresh = _wait_for_held_trials(proc, run, hold, workers)
    if whom == "group":  # what Ctrl-C in a terminal does: the whole foreground group
        os.killpg(proc.pid, signal.SIGINT)
    else:  # kill -INT of the search process alone: it forwards the stop to its workers
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    text = " ".join(out.split())
    assert "interrupted" in text and f"nas resume {run}" in text
    assert "Traceback" not in err, err
    st = Study.load(open_storage(None, run))
    assert not st.trials(("RUNNING",))
    for t in fresh:  # the evaluations it was running were cut short, and recorded
        assert st.trial(t.number).state == "FAIL"
        assert st.trial(t.number).error == "interrupted"
    for pid in {t.attrs["worker"]["pid"] for t in st.trials()}:  # no worker left behind
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    before = {t.number: t.values for t in st.completed()}
    assert len(before) == workers  # one each before the held evaluations
    res = nas_cli("resume", str(run), env={"NAS_FAKE_DELAY": "0"})
    assert res.returncode == 0, res.stdout + res.stderr
    st = Study.load(open_storage(None, run))
    done = {t.number: t.values for t in st.completed()}
    assert len(done) == trials and not st.trials(("RUNNING",))
    assert {n: done[n] for n in before} == before  # nothing finished was lost or changed
    assert [t.number for t in st.trials()] == list(range(len(st.trials())))


def test_ctrl_c_single_worker_through_the_cli(tmp_path):
    _interrupt_then_resume(tmp_path, workers=1, whom="group")


def test_ctrl_c_two_workers_through_the_cli(tmp_path):
    _interrupt_then_resume(tmp_path, workers=2, whom="group")


@pytest.mark.slow
def test_sigint_to_the_parent_alone_stops_its_workers(tmp_path):
    _interrupt_then_resume(tmp_path, workers=2, whom="parent")
