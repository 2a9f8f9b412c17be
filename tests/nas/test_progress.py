"""Progress from Python: ``nas.search`` prints the CLI's per-trial lines unless
``progress=False``, and calls ``on_trial`` with each finished trial's record."""

from __future__ import annotations

import re

import fake_task  # noqa: F401  (tests/plugins: registers the "fake" task)

import nas
from nas.progress import TrialProgress, chain
from nas.trial import INTERRUPTED, TrialRecord

LINE = re.compile(r"^\[(\d+)/(\d+)\] trial +(\d+)  (.*)  \(best (\S+), \d+s, ETA \d+s\)$")


def _rec(number, state, value=None, error=None, attrs=None, params=None) -> TrialRecord:
    return TrialRecord(number, state, None if value is None else [value], {}, {},
                       {} if params is None else {"params": params}, None, error,
                       attrs=attrs or {})


def test_lines_count_finished_trials_and_track_the_best_for_a_minimized_objective():
    lines = []
    p = TrialProgress(5, [("val_loss", "min")], done=1, best=0.5, out=lines.append)
    for rec in (_rec(3, "COMPLETE", 0.7, params=1234), _rec(4, "COMPLETE", 0.25),
                _rec(5, "FAIL", error="runtime error: boom"),
                _rec(6, "FAIL", error="interrupted", attrs={INTERRUPTED: True}),
                _rec(7, "PRUNED")):
        p(rec)
    parsed = [LINE.match(line) for line in lines]
    shown = [m.groups()[:5] if m else line for m, line in zip(parsed, lines)]
    assert shown == [  # hand-computed: done starts at 1; lower is better; a stopped
        ("2", "5", "3", "val_loss 0.7  params 1,234", "0.5"),  # trial does not count
        ("3", "5", "4", "val_loss 0.25", "0.25"),
        ("4", "5", "5", "failed: runtime error: boom", "0.25"),
        "trial   6 stopped: interrupted",
        ("5", "5", "7", "pruned", "0.25")]
    assert p.waiting() == "training candidates: 5/5 trials finished, best 0.25"


def test_chain_calls_each_hook_in_order():
    seen = []
    assert chain(None, None) is None
    hook = chain(lambda r: seen.append(("a", r)), None, lambda r: seen.append(("b", r)))
    hook(1)
    assert seen == [("a", 1), ("b", 1)]


def test_search_prints_a_line_per_trial_by_default_and_calls_on_trial(capsys, tmp_path):
    records = []
    st = nas.search("mlp", "fake", trials=3, seed=0, run_dir=tmp_path / "r",
                    on_trial=records.append)
    lines = [line for line in capsys.readouterr().out.splitlines() if LINE.match(line)]
    assert [LINE.match(line).group(1, 2, 3) for line in lines] == [
        (str(i + 1), "3", str(r.number)) for i, r in enumerate(records)]
    assert [r.number for r in records] == [r.number for r in st.trials()]
    best = max(r.values[0] for r in records)
    assert LINE.match(lines[-1]).group(5) == f"{best:.4g}"

    nas.search("mlp", "fake", trials=4, seed=0, run_dir=tmp_path / "r")  # resumed: 4th
    assert LINE.match(capsys.readouterr().out.splitlines()[-1]).group(1, 2) == ("4", "4")
    quiet = nas.search("mlp", "fake", trials=5, seed=0, run_dir=tmp_path / "r",
                       progress=False)
    assert capsys.readouterr().out == "" and len(quiet.trials()) == 5


class _Clock:
    """A hand-moved clock for the progress lines' times."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _times(line: str) -> str:
    """'12s, timeout in 48s' out of a progress line's '(best B, 12s, timeout in 48s)'."""
    return line.rsplit("(best ", 1)[1].split(", ", 1)[1].rstrip(")")


def test_a_timeout_that_comes_before_the_trial_count_is_shown_instead_of_a_trial_eta():
    """10,000 trials for 60 s: after 5 trials in 10 s the trial ETA would be 19,990 s; the
    search ends at its timeout, 50 s later (hand count)."""
    clock, lines = _Clock(), []
    p = TrialProgress(10_000, [("val_acc", "max")], out=lines.append, clock=clock,
                      deadline=1060.0)
    for n in range(5):
        clock.now += 2
        p(_rec(n, "COMPLETE", 0.5))
    assert lines[-1].startswith("[5/10000] trial   4")
    assert _times(lines[-1]) == "10s, timeout in 50s"
    clock.now = 1070.0  # a trial that ran past the timeout: nothing left, never negative
    p(_rec(5, "COMPLETE", 0.5))
    assert _times(lines[-1]) == "70s, timeout in 0s"


def test_a_trial_count_that_comes_before_the_timeout_keeps_its_eta():
    """3 trials within an hour: 1 trial in 4 s, 2 left -> ETA 8 s, well before the timeout."""
    clock, lines = _Clock(), []
    p = TrialProgress(3, [("val_acc", "max")], out=lines.append, clock=clock,
                      deadline=1000.0 + 3600)
    clock.now += 4
    p(_rec(0, "COMPLETE", 0.5))
    assert _times(lines[-1]) == "4s, ETA 8s"
    assert _times(TrialProgress(3, [("val_acc", "max")], clock=clock).line(
        _rec(1, "COMPLETE", 0.5))) == "0s, ETA 0s"  # no timeout: the trial ETA as before


def test_a_search_bounded_by_time_alone_shows_the_time_left():
    clock, lines = _Clock(), []
    p = TrialProgress(None, [("val_acc", "max")], out=lines.append, clock=clock,
                      deadline=1300.0)
    clock.now += 100
    p(_rec(0, "COMPLETE", 0.5))
    assert lines == ["[1] trial   0  val_acc 0.5  (best 0.5, 100s, timeout in 200s)"]
    assert TrialProgress(None, [("val_acc", "max")], clock=clock).line(
        _rec(1, "COMPLETE", 0.5)) == "[1] trial   1  val_acc 0.5  (best 0.5, 0s)"

