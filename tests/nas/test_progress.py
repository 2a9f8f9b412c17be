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
